using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// The gated delta rule (Yang, Kautz, Hatamizadeh 2024, "Gated Delta Networks", eq. 10) and its additive sibling,
/// as an op with two forms: <see cref="Reference"/>, a per-token loop that reads like the paper, and
/// <see cref="Chunked"/>, the chunkwise-parallel (WY / UT-transform) form that does the work as batched matmuls.
/// </summary>
/// <remarks>
/// Per head, with the state S ∈ ℝ^{K×V} (key dim × value dim) and o_t = S_tᵀ q_t:
/// <list type="bullet">
/// <item><c>erase = true</c> (gated delta rule): S_t = α_t (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ.
/// α = 1 is DeltaNet.</item>
/// <item><c>erase = false</c> (gated linear attention): S_t = α_t S_{t−1} + β_t k_t v_tᵀ.
/// α = 1 and β = 1 is plain linear attention.</item>
/// </list>
/// Shapes: q, k [B, H, L, K]; v [B, H, L, V]; logDecay = log α_t ≤ 0 and beta [B, H, L]; state [B, H, K, V].
/// Queries are used as given: scale them (1/√K) before calling.
/// </remarks>
public static class GatedDelta
{
    /// <summary>Per-token loop: the definition, kept short so it can be read against the paper.</summary>
    public static (Tensor Output, Tensor State) Reference(Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor beta,
        Tensor? initialState = null, bool erase = true)
    {
        using var scope = NewDisposeScope();
        long b = q.shape[0], h = q.shape[1], l = q.shape[2], dk = q.shape[3], dv = v.shape[3];
        var s = initialState ?? zeros(new[] { b, h, dk, dv }, dtype: q.dtype, device: q.device);
        var outputs = new Tensor[l];
        // Per-token views by unbind, not q[.., .., t]: an index's backward is as large as the whole input (TimePieces).
        var (qs, ks, vs, alphas, betas) = (q.unbind(2), k.unbind(2), v.unbind(2), logDecay.exp().unbind(2), beta.unbind(2));
        for (long t = 0; t < l; t++)
        {
            var kt = ks[t].unsqueeze(-1);                        // [B, H, K, 1]
            var vt = vs[t].unsqueeze(-2);                        // [B, H, 1, V]
            var bt = betas[t][.., .., TensorIndex.None, TensorIndex.None];
            s = alphas[t][.., .., TensorIndex.None, TensorIndex.None] * s;                  // α_t S
            var write = erase ? vt - kt.transpose(-1, -2).matmul(s) : vt;                     // v − Sᵀk (delta) or v
            s = s + bt * kt.matmul(write);
            outputs[t] = qs[t].unsqueeze(-2).matmul(s).squeeze(-2);                            // S_tᵀ q_t
        }
        return (stack(outputs, 2).MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The form a layer's options choose: <see cref="Reference"/> for <see cref="MemoryForm.Reference"/> and for a single
    /// token (a recurrent step, where chunking buys nothing), otherwise <see cref="Chunked"/> with <paramref name="chunkSize"/>.
    /// Pass a null <paramref name="initialState"/> for a fresh sequence rather than zeros: the chunked form then skips its
    /// first chunk's reads and erases of the state.
    /// </summary>
    public static (Tensor Output, Tensor State) Apply(MemoryForm form, Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor beta,
        Tensor? initialState, int chunkSize, bool erase) =>
        form == MemoryForm.Reference || q.shape[2] == 1
            ? Reference(q, k, v, logDecay, beta, initialState, erase)
            : Chunked(q, k, v, logDecay, beta, initialState, chunkSize, erase);

    /// <summary>
    /// Chunkwise-parallel form with chunk size <paramref name="chunkSize"/>. Within a chunk the delta rule's
    /// product of Householder-like factors is written in WY form: T = (I + tril(diag(β) K Kᵀ ⊙ Γ, −1))⁻¹ (the UT
    /// transform, one batched triangular solve), so u = T (β ⊙ V) and w = T (β ⊙ K ⊙ e^G) give the chunk's writes as
    /// u − w S. Between chunks the state is passed sequentially (L/C steps of matmuls). Γ_ij = e^{G_i − G_j} with
    /// G the within-chunk cumulative log-decay. Lengths not divisible by the chunk size are padded with steps that
    /// neither decay nor write (α = 1, β = 0, k = 0), which leave outputs and state unchanged.
    /// </summary>
    public static (Tensor Output, Tensor State) Chunked(Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor beta,
        Tensor? initialState = null, int chunkSize = 64, bool erase = true)
    {
        if (chunkSize < 1) throw new ArgumentOutOfRangeException(nameof(chunkSize));
        using var scope = NewDisposeScope();
        long l = q.shape[2], dk = q.shape[3];
        int c = chunkSize;
        long pad = (c - l % c) % c, n = (l + pad) / c;
        var qc = Chunks(q, pad, n, c);
        var kc = Chunks(k, pad, n, c);
        var vc = Chunks(v, pad, n, c);
        var g = Chunks(logDecay, pad, n, c).cumsum(-1);                               // G: [B, H, N, C]
        var bc = Chunks(beta, pad, n, c).unsqueeze(-1);                               // [B, H, N, C, 1]

        var future = ones(c, c, dtype: ScalarType.Bool, device: q.device).triu(1);
        // Γ_ij = exp(G_i − G_j) for j ≤ i, else 0 (masked before exp so it never overflows).
        var gamma = (g.unsqueeze(-1) - g.unsqueeze(-2)).masked_fill(future, double.NegativeInfinity).exp();
        var decayIn = g.exp().unsqueeze(-1);                                          // e^{G_i}: [B, H, N, C, 1]
        var gEnd = g[.., .., .., -1];                                                 // G_C: [B, H, N]

        var kBeta = kc * bc;
        Tensor u, w = null!;
        if (erase)
        {
            // A = tril(diag(β) K Kᵀ ⊙ Γ, −1). T = (I + A)⁻¹ is never formed: one unit-triangular solve with both
            // right-hand sides side by side gives u = T (β ⊙ V) and w = T (β ⊙ K ⊙ e^G), with no C × C × D products
            // (forward or backward).
            var a = kBeta.matmul(kc.transpose(-1, -2)) * gamma;
            (u, w) = SolveUt(a, vc * bc, kBeta * decayIn);
        }
        else
        {
            u = vc * bc;
        }
        var intra = qc.matmul(kc.transpose(-1, -2)) * gamma;                           // [B, H, N, C, C]
        var qDecayed = qc * decayIn;
        var kToEnd = kc * (gEnd.unsqueeze(-1) - g).exp().unsqueeze(-1);              // k_j e^{G_C − G_j}
        var chunkDecay = gEnd.exp()[.., .., .., TensorIndex.None, TensorIndex.None];  // [B, H, N, 1, 1]
        var (o, s) = AcrossChunks(u, erase ? w : null, qDecayed, intra, kToEnd.transpose(-1, -2), chunkDecay, initialState, dk, l);
        return (o.MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Pads x [B, H, L] or [B, H, L, D] with <paramref name="pad"/> zero steps and reshapes it to chunks
    /// [B, H, N, C] or [B, H, N, C, D] (a zero step neither decays, in log space, nor writes).
    /// </summary>
    internal static Tensor Chunks(Tensor x, long pad, long n, int c)
    {
        long b = x.shape[0], h = x.shape[1];
        var padded = pad == 0 ? x : nn.functional.pad(x, x.dim() == 4 ? new long[] { 0, 0, 0, pad } : new long[] { 0, pad });
        return padded.reshape(x.dim() == 4 ? new[] { b, h, n, c, x.shape[3] } : new[] { b, h, n, c });
    }

    /// <summary>
    /// The UT transform of a chunk: with T = (I + A)⁻¹ for A strictly lower triangular [.., C, C] (its diagonal and
    /// upper triangle are not read), returns u = T <paramref name="values"/> and w = T <paramref name="keys"/> from one
    /// unit-triangular solve with both right-hand sides side by side. unitriangular reads neither the diagonal nor the
    /// upper triangle and its backward gives them no gradient, so the strict-lower mask is implied. solve_triangular
    /// has no bfloat16/float16 kernels (CPU or CUDA): those are solved in float32, as fla's kernels also keep it.
    /// </summary>
    internal static (Tensor U, Tensor W) SolveUt(Tensor a, Tensor values, Tensor keys)
    {
        long dv = values.shape[^1];
        var rhs = cat(new[] { values, keys }, -1);                                   // [B, H, N, C, V + K]
        var solveType = a.dtype is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : a.dtype;
        var uw = linalg.solve_triangular(a.to(solveType), rhs.to(solveType), upper: false, unitriangular: true).to(a.dtype);
        return (uw[.., .., .., .., ..(int)dv], uw[.., .., .., .., (int)dv..]);
    }

    /// <summary>
    /// The across-chunk recurrence of the chunked delta-rule forms, per chunk i (all inputs chunked along dim 2):
    /// writes = u − w S (u alone without <paramref name="w"/>, the additive rule); o = q̃ S + intra · writes;
    /// S ← decay ⊙ S + k̃ᵀ writes. <paramref name="chunkDecay"/> is [B, H, N, 1, 1] for a scalar decay per head or
    /// [B, H, N, K, 1] for one per key dimension; <paramref name="kToEndT"/> is (k_j ⊙ e^{G_C − G_j})ᵀ [B, H, N, K, C].
    /// Without an initial state the first chunk starts from S = 0: its reads and erases of S are skipped, not
    /// computed as zeros. Returns the outputs [B, H, <paramref name="length"/>, V] (padding cut) and the final state.
    /// </summary>
    internal static (Tensor Output, Tensor State) AcrossChunks(Tensor u, Tensor? w, Tensor qDecayed, Tensor intra, Tensor kToEndT,
        Tensor chunkDecay, Tensor? initialState, long dk, long length)
    {
        long b = u.shape[0], h = u.shape[1], n = u.shape[2], dv = u.shape[4];
        Tensor? s = initialState;
        var outputs = new Tensor[n];
        // Per-chunk views by unbind, not u[.., .., i]: indexing in this loop made the backward O(L²/C) (TimePieces).
        var (us, qds, intras, toEnds, decays) = (u.unbind(2), qDecayed.unbind(2), intra.unbind(2), kToEndT.unbind(2), chunkDecay.unbind(2));
        var ws = w?.unbind(2);
        for (long i = 0; i < n; i++)
        {
            if (s is null)
            {
                outputs[i] = intras[i].matmul(us[i]);
                s = toEnds[i].matmul(us[i]);
                continue;
            }
            var writes = ws is not null ? us[i] - ws[i].matmul(s) : us[i];               // [B, H, C, V]
            outputs[i] = qds[i].matmul(s) + intras[i].matmul(writes);
            s = decays[i] * s + toEnds[i].matmul(writes);
        }
        s ??= zeros(new[] { b, h, dk, dv }, dtype: u.dtype, device: u.device);
        var o = cat(outputs, 2);
        if (o.shape[2] > length) o = o[.., .., ..(int)length];
        return (o, s);
    }
}
