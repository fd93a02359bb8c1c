using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// Gated linear attention with a decay per key dimension (Yang, Wang, Shen, Panda, Kim 2024, "Gated Linear Attention
/// Transformers with Hardware-Efficient Training", eq. 3 and §4), as an op with two forms: <see cref="Reference"/>, the
/// per-token recurrence, and <see cref="Chunked"/>, the chunkwise form.
/// </summary>
/// <remarks>
/// Per head, with the state S ∈ ℝ^{K×V}: S_t = diag(α_t) S_{t−1} + k_t v_tᵀ, o_t = S_tᵀ q_t, α_t ∈ (0, 1]^K.
/// (<see cref="GatedDelta"/> with erase = false is the special case of α_t equal across the K dimensions.)
/// Shapes: q, k [B, H, L, K]; v [B, H, L, V]; logDecay = log α_t ≤ 0 [B, H, L, K]; state [B, H, K, V].
/// Queries are used as given: scale them before calling.
/// </remarks>
public static class GatedLinearAttention
{
    /// <summary>Per-token loop: the definition.</summary>
    public static (Tensor Output, Tensor State) Reference(Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor? initialState = null)
    {
        using var scope = NewDisposeScope();
        long b = q.shape[0], h = q.shape[1], l = q.shape[2], dk = q.shape[3], dv = v.shape[3];
        var s = initialState ?? zeros(new[] { b, h, dk, dv }, dtype: q.dtype, device: q.device);
        var outputs = new Tensor[l];
        var (qs, ks, vs, alphas) = (q.unbind(2), k.unbind(2), v.unbind(2), logDecay.exp().unbind(2));
        for (long t = 0; t < l; t++)
        {
            s = alphas[t].unsqueeze(-1) * s + ks[t].unsqueeze(-1).matmul(vs[t].unsqueeze(-2));   // diag(α_t) S + k_t v_tᵀ
            outputs[t] = qs[t].unsqueeze(-2).matmul(s).squeeze(-2);                               // S_tᵀ q_t
        }
        return (stack(outputs, 2).MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The form a layer's options choose: <see cref="Reference"/> for <see cref="MemoryForm.Reference"/> and for a single
    /// token, otherwise <see cref="Chunked"/> with <paramref name="chunkSize"/>. Pass a null <paramref name="initialState"/>
    /// for a fresh sequence rather than zeros: the chunked form then skips its first chunk's reads of the state.
    /// </summary>
    public static (Tensor Output, Tensor State) Apply(MemoryForm form, Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor? initialState, int chunkSize) =>
        form == MemoryForm.Reference || q.shape[2] == 1 ? Reference(q, k, v, logDecay, initialState) : Chunked(q, k, v, logDecay, initialState, chunkSize);

    /// <summary>
    /// Chunkwise form with chunk size <paramref name="chunkSize"/> (the paper's §4.2 with the relative decays
    /// materialised rather than secondary-chunked). With G the within-chunk cumulative log-decay [C, K]:
    /// inter-chunk o_i = (q_i ⊙ e^{G_i}) S; intra-chunk o_i += Σ_{j≤i} (Σ_d q_id k_jd e^{G_id − G_jd}) v_j, from the
    /// relative decays e^{G_i − G_j} built as a [C, C, K] tensor per chunk; S ← diag(e^{G_C}) S + Σ_j (k_j ⊙ e^{G_C − G_j}) v_jᵀ.
    /// Every exponent is a sum of log-decays over a forward span, so ≤ 0: nothing overflows and nothing is divided,
    /// so the form is exact (no stabilisation error) for any decay, at the cost of B·H·L·C·K numbers for the relative
    /// decays — hence the small default chunk. Lengths not divisible by the chunk size are padded with steps that
    /// neither decay nor write.
    /// </summary>
    public static (Tensor Output, Tensor State) Chunked(Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor? initialState = null,
        int chunkSize = 16)
    {
        if (chunkSize < 1) throw new ArgumentOutOfRangeException(nameof(chunkSize));
        using var scope = NewDisposeScope();
        long b = q.shape[0], h = q.shape[1], l = q.shape[2], dk = q.shape[3], dv = v.shape[3];
        int c = chunkSize;
        long pad = (c - l % c) % c, n = (l + pad) / c;
        Tensor Chunks(Tensor x) => (pad == 0 ? x : nn.functional.pad(x, new long[] { 0, 0, 0, pad })).reshape(b, h, n, c, x.shape[3]);
        var qc = Chunks(q);
        var kc = Chunks(k);
        var vc = Chunks(v);
        var g = Chunks(logDecay).cumsum(-2);                                           // G: [B, H, N, C, K]
        var gEnd = g[.., .., .., -1];                                                  // G_C: [B, H, N, K]

        // e^{G_i − G_j} for j ≤ i, else 0: masked before exp so the upper triangle never overflows.
        var future = ones(c, c, dtype: ScalarType.Bool, device: q.device).triu(1).unsqueeze(-1);
        var relative = (g.unsqueeze(-2) - g.unsqueeze(-3)).masked_fill(future, double.NegativeInfinity).exp();   // [B, H, N, C, C, K]
        var intra = (qc.unsqueeze(-2) * kc.unsqueeze(-3) * relative).sum(-1);         // [B, H, N, C, C]
        var qDecayed = qc * g.exp();
        var kToEnd = (kc * (gEnd.unsqueeze(-2) - g).exp()).transpose(-1, -2);          // (k_j ⊙ e^{G_C − G_j})ᵀ: [B, H, N, K, C]

        // Without an initial state the first chunk starts from S = 0: its reads of S are skipped, not computed as zeros.
        Tensor? s = initialState;
        var outputs = new Tensor[n];
        var (vs, qds, intras, toEnds, decays) = (vc.unbind(2), qDecayed.unbind(2), intra.unbind(2), kToEnd.unbind(2), gEnd.exp().unsqueeze(-1).unbind(2));
        for (long i = 0; i < n; i++)
        {
            if (s is null)
            {
                outputs[i] = intras[i].matmul(vs[i]);
                s = toEnds[i].matmul(vs[i]);
                continue;
            }
            outputs[i] = qds[i].matmul(s) + intras[i].matmul(vs[i]);
            s = decays[i] * s + toEnds[i].matmul(vs[i]);
        }
        s ??= zeros(new[] { b, h, dk, dv }, dtype: q.dtype, device: q.device);
        var o = cat(outputs, 2);
        if (pad > 0) o = o[.., .., ..(int)l];
        return (o.MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }
}
