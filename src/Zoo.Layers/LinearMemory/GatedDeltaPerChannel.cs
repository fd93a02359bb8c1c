using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// The gated delta rule with a decay per key dimension (Kimi Delta Attention's recurrence: Kimi Team 2025, "Kimi
/// Linear", arXiv 2510.26692, eq. 1 and §3.1), as an op with two forms: <see cref="Reference"/>, the per-token loop, and
/// <see cref="Chunked"/>, the chunkwise WY / UT form with the relative decays per dimension secondary-chunked.
/// </summary>
/// <remarks>
/// Per head, with the state S ∈ ℝ^{K×V} and o_t = S_tᵀ q_t:
/// S_t = (I − β_t k_t k_tᵀ) Diag(α_t) S_{t−1} + β_t k_t v_tᵀ, α_t ∈ (0, 1]^K.
/// <see cref="GatedDelta"/> (erase = true) is the special case of α_t equal across the K dimensions, and
/// <see cref="GatedLinearAttention"/> the additive sibling (no erase, β = 1).
/// Shapes: q, k [B, H, L, K]; v [B, H, L, V]; logDecay = log α_t ≤ 0 [B, H, L, K]; beta [B, H, L]; state [B, H, K, V].
/// Queries are used as given: scale them (1/√K) before calling.
/// </remarks>
public static class GatedDeltaPerChannel
{
    /// <summary>Per-token loop: the definition, to be read against the equation above.</summary>
    public static (Tensor Output, Tensor State) Reference(Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor beta, Tensor? initialState = null)
    {
        using var scope = NewDisposeScope();
        long b = q.shape[0], h = q.shape[1], l = q.shape[2], dk = q.shape[3], dv = v.shape[3];
        var s = initialState ?? zeros(new[] { b, h, dk, dv }, dtype: q.dtype, device: q.device);
        var outputs = new Tensor[l];
        // Per-token views by unbind, not q[.., .., t]: an index's backward is as large as the whole input (TimePieces).
        var (qs, ks, vs, alphas, betas) = (q.unbind(2), k.unbind(2), v.unbind(2), logDecay.exp().unbind(2), beta.unbind(2));
        for (long t = 0; t < l; t++)
        {
            var kt = ks[t].unsqueeze(-1);                                                   // [B, H, K, 1]
            s = alphas[t].unsqueeze(-1) * s;                                                // Diag(α_t) S
            var write = vs[t].unsqueeze(-2) - kt.transpose(-1, -2).matmul(s);               // v_tᵀ − k_tᵀ Diag(α_t) S
            s = s + betas[t][.., .., TensorIndex.None, TensorIndex.None] * kt.matmul(write);
            outputs[t] = qs[t].unsqueeze(-2).matmul(s).squeeze(-2);                         // S_tᵀ q_t
        }
        return (stack(outputs, 2).MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The form a layer's options choose: <see cref="Reference"/> for <see cref="MemoryForm.Reference"/> and for a single
    /// token (a recurrent step), otherwise <see cref="Chunked"/> with <paramref name="chunkSize"/> and <paramref name="subChunk"/>.
    /// </summary>
    public static (Tensor Output, Tensor State) Apply(MemoryForm form, Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor beta,
        Tensor initialState, int chunkSize, int subChunk) =>
        form == MemoryForm.Reference || q.shape[2] == 1
            ? Reference(q, k, v, logDecay, beta, initialState)
            : Chunked(q, k, v, logDecay, beta, initialState, chunkSize, subChunk);

    /// <summary>
    /// Chunkwise form with chunk size <paramref name="chunkSize"/>. With G the within-chunk cumulative log-decay [C, K]
    /// and R_ij = e^{G_i − G_j} ∈ (0, 1]^K for j ≤ i (0 above the diagonal):
    /// <list type="bullet">
    /// <item>A_ij = β_i Σ_d k_id k_jd R_ijd (j &lt; i); the UT transform T = (I + A)⁻¹ gives u = T (β ⊙ V) and
    /// w = T (β ⊙ K ⊙ e^G) (one unit-triangular solve, <see cref="GatedDelta.SolveUt"/>);</item>
    /// <item>writes = u − w S; o_i = (q_i ⊙ e^{G_i}) S + Σ_{j≤i} (Σ_d q_id k_jd R_ijd) writes_j;</item>
    /// <item>S ← Diag(e^{G_C}) S + Σ_j (k_j ⊙ e^{G_C − G_j}) writes_jᵀ (the across-chunk recurrence shared with
    /// <see cref="GatedDelta"/>, <see cref="GatedDelta.AcrossChunks"/>).</item>
    /// </list>
    /// The two R-weighted products come from <see cref="RelativeDecay.Scores"/> (secondary chunking, as fla's kernels):
    /// R is materialised only within diagonal sub-chunks of <paramref name="subChunk"/> steps, and the blocks between
    /// sub-chunks are matmuls through reference points.
    /// Every exponent is a sum of log-decays over a forward span, so ≤ 0: nothing overflows and nothing is divided, and
    /// the form is exact for any decay (as <see cref="GatedLinearAttention.Chunked"/>). Lengths not divisible by the
    /// chunk size are padded with steps that neither decay nor write (log α = 0, β = 0, k = 0).
    /// </summary>
    public static (Tensor Output, Tensor State) Chunked(Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor beta,
        Tensor? initialState = null, int chunkSize = 32, int subChunk = 4)
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
        var bc = GatedDelta.Chunks(beta, pad, n, c).unsqueeze(-1);                      // [B, H, N, C, 1]
        var gEnd = g[.., .., .., -1];                                                    // G_C: [B, H, N, K]

        // Σ_d q_id k_jd R_ijd and β_i Σ_d k_id k_jd R_ijd (j ≤ i) from one call: q and β ⊙ k stacked in front, k shared.
        var kBeta = kc * bc;
        var pairs = RelativeDecay.Scores(stack(new[] { qc, kBeta }), kc.unsqueeze(0), g, subChunk);  // [B, H, N, 2, C, C]
        var intra = pairs.select(-3, 0);
        var a = pairs.select(-3, 1);                                                              // A (diagonal unread)
        var (u, w) = GatedDelta.SolveUt(a, vc * bc, kBeta * g.exp());
        var qDecayed = qc * g.exp();
        var kToEndT = (kc * (gEnd.unsqueeze(-2) - g).exp()).transpose(-1, -2);          // (k_j ⊙ e^{G_C − G_j})ᵀ: [B, H, N, K, C]
        var chunkDecay = gEnd.exp().unsqueeze(-1);                                       // [B, H, N, K, 1]
        var (o, s) = GatedDelta.AcrossChunks(u, w, qDecayed, intra, kToEndT, chunkDecay, initialState, dk, l);
        return (o.MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }
}
