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
    public static (Tensor Output, Tensor State) Apply(MemoryForm form, Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor? initialState,
        int chunkSize, int subChunk = DefaultSubChunk) =>
        form == MemoryForm.Reference || q.shape[2] == 1
            ? Reference(q, k, v, logDecay, initialState)
            : Chunked(q, k, v, logDecay, initialState, chunkSize, subChunk);

    /// <summary>Sub-chunk of the secondary chunking the layers use (GLA, HGRN2); not an option, as it changes no number beyond rounding.</summary>
    public const int DefaultSubChunk = 4;

    /// <summary>
    /// Chunkwise form with chunk size <paramref name="chunkSize"/> (the paper's §4.2). With G the within-chunk
    /// cumulative log-decay [C, K]: inter-chunk o_i = (q_i ⊙ e^{G_i}) S; intra-chunk o_i += Σ_{j≤i} (Σ_d q_id k_jd
    /// e^{G_id − G_jd}) v_j, by the paper's secondary chunking (<see cref="RelativeDecay.Scores"/>: relative decays
    /// materialised only within diagonal sub-chunks of <paramref name="subChunk"/> steps, the blocks between them matmuls
    /// through reference points); S ← diag(e^{G_C}) S + Σ_j (k_j ⊙ e^{G_C − G_j}) v_jᵀ, the across-chunk recurrence of
    /// the delta forms without erase (<see cref="GatedDelta.AcrossChunks"/>). Every exponent is a sum of log-decays over a
    /// forward span, so ≤ 0: nothing overflows and nothing is divided, so the form is exact (no stabilisation error) for
    /// any decay. Lengths not divisible by the chunk size are padded with steps that neither decay nor write.
    /// </summary>
    public static (Tensor Output, Tensor State) Chunked(Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor? initialState = null,
        int chunkSize = 16, int subChunk = DefaultSubChunk)
    {
        if (chunkSize < 1) throw new ArgumentOutOfRangeException(nameof(chunkSize));
        using var scope = NewDisposeScope();
        long l = q.shape[2], dk = q.shape[3];
        int c = chunkSize;
        long pad = (c - l % c) % c, n = (l + pad) / c;
        var qc = GatedDelta.Chunks(q, pad, n, c);
        var kc = GatedDelta.Chunks(k, pad, n, c);
        var vc = GatedDelta.Chunks(v, pad, n, c);
        var g = GatedDelta.Chunks(logDecay, pad, n, c).cumsum(-2);                      // G: [B, H, N, C, K]
        var gEnd = g[.., .., .., -1];                                                    // G_C: [B, H, N, K]
        var intra = RelativeDecay.Scores(qc.unsqueeze(0), kc.unsqueeze(0), g, subChunk).squeeze(-3);   // [B, H, N, C, C]
        var qDecayed = qc * g.exp();
        var kToEndT = (kc * (gEnd.unsqueeze(-2) - g).exp()).transpose(-1, -2);          // (k_j ⊙ e^{G_C − G_j})ᵀ: [B, H, N, K, C]
        var (o, s) = GatedDelta.AcrossChunks(vc, null, qDecayed, intra, kToEndT, gEnd.exp().unsqueeze(-1), initialState, dk, l);
        return (o.MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }
}
