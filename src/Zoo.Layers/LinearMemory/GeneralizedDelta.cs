using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// The generalized delta rule of RWKV-7 (Peng et al. 2025, "RWKV-7 'Goose' with Expressive Dynamic State Evolution",
/// arXiv 2503.14456, §4): a diagonal-plus-low-rank transition with a decay per key dimension, a removal key separate
/// from the write key and a removal rate per key dimension, as an op with two forms: <see cref="Reference"/>, the
/// per-token loop, and <see cref="Chunked"/>, the chunkwise WY / UT form with the relative decays per dimension secondary-chunked.
/// </summary>
/// <remarks>
/// The paper writes the state as S ∈ ℝ^{V×K}: S_t = S_{t−1} (Diag(w_t) − κ̂_tᵀ (a_t ⊙ κ̂_t)) + v_tᵀ k̃_t, o_t = S_t r_t.
/// Zoo's memories are S ∈ ℝ^{K×V} (the transpose, as fla's kernels), so per head:
/// <list type="bullet">
/// <item>S_t = (Diag(w_t) − (a_t ⊙ κ̂_t) κ̂_tᵀ) S_{t−1} + k̃_t v_tᵀ, o_t = S_tᵀ r_t;</item>
/// <item>read: z_t = κ̂_tᵀ S_{t−1} (what the state holds under the removal key, before this step's decay), removed along
/// a_t ⊙ κ̂_t (a rate per key dimension); the write key k̃_t is separate from κ̂_t.</item>
/// </list>
/// With w = 1, κ̂ = k, a = β·1 and k̃ = β k this is DeltaNet's S_t = (I − β k kᵀ) S_{t−1} + β k vᵀ (a test checks it
/// against <see cref="GatedDeltaPerChannel"/>). Shapes: r (queries), k (write keys), removal keys, rates, logDecay =
/// log w ≤ 0 [B, H, L, K]; v [B, H, L, V]; state [B, H, K, V]. Queries are used as given (RWKV-7 does not scale them).
/// </remarks>
public static class GeneralizedDelta
{
    /// <summary>Per-token loop: the definition, to be read against the equation above.</summary>
    public static (Tensor Output, Tensor State) Reference(Tensor r, Tensor k, Tensor v, Tensor logDecay, Tensor removalKey, Tensor rate,
        Tensor? initialState = null)
    {
        using var scope = NewDisposeScope();
        long b = r.shape[0], h = r.shape[1], l = r.shape[2], dk = r.shape[3], dv = v.shape[3];
        var s = initialState ?? zeros(new[] { b, h, dk, dv }, dtype: r.dtype, device: r.device);
        var outputs = new Tensor[l];
        // Per-token views by unbind, not r[.., .., t]: an index's backward is as large as the whole input (TimePieces).
        var (rs, ks, vs, ws) = (r.unbind(2), k.unbind(2), v.unbind(2), logDecay.exp().unbind(2));
        var (es, removes) = (removalKey.unbind(2), (rate * removalKey).unbind(2));
        for (long t = 0; t < l; t++)
        {
            var read = es[t].unsqueeze(-2).matmul(s);                                       // z_t = κ̂_tᵀ S_{t−1}: [B, H, 1, V]
            s = ws[t].unsqueeze(-1) * s                                                       // Diag(w_t) S_{t−1}
                - removes[t].unsqueeze(-1).matmul(read)                                       // − (a_t ⊙ κ̂_t) z_t
                + ks[t].unsqueeze(-1).matmul(vs[t].unsqueeze(-2));                            // + k̃_t v_tᵀ
            outputs[t] = rs[t].unsqueeze(-2).matmul(s).squeeze(-2);                          // S_tᵀ r_t
        }
        return (stack(outputs, 2).MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The form a layer's options choose: <see cref="Reference"/> for <see cref="MemoryForm.Reference"/> and for a single
    /// token (a recurrent step), otherwise <see cref="Chunked"/> with <paramref name="chunkSize"/> and <paramref name="subChunk"/>.
    /// </summary>
    public static (Tensor Output, Tensor State) Apply(MemoryForm form, Tensor r, Tensor k, Tensor v, Tensor logDecay, Tensor removalKey,
        Tensor rate, Tensor? initialState, int chunkSize, int subChunk) =>
        form == MemoryForm.Reference || r.shape[2] == 1
            ? Reference(r, k, v, logDecay, removalKey, rate, initialState)
            : Chunked(r, k, v, logDecay, removalKey, rate, initialState, chunkSize, subChunk);

    /// <summary>
    /// Chunkwise form with chunk size <paramref name="chunkSize"/>. Within a chunk from state S_0, with G_i the cumulative
    /// log-decay through step i [C, K] (G_0 = 0 before the first step), b_j = a_j ⊙ κ̂_j, and the relative decays
    /// R_ij = e^{G_i − G_j} (j ≤ i) and R'_ij = e^{G_{i−1} − G_j} (j &lt; i):
    /// <list type="bullet">
    /// <item>unrolled, S_i = e^{G_i} ⊙ S_0 − Σ_{j≤i} (R_ij ⊙ b_j) z_j + Σ_{j≤i} (R_ij ⊙ k̃_j) v_jᵀ, so the reads
    /// z_i = κ̂_iᵀ S_{i−1} satisfy (I + A) z = A_k V + (κ̂ ⊙ e^{G_{i−1}}) S_0 with the strictly lower
    /// A_ij = Σ_d κ̂_id b_jd R'_ijd and A_k,ij = Σ_d κ̂_id k̃_jd R'_ijd: one unit-triangular solve
    /// (<see cref="GatedDelta.SolveUt"/>) gives z = u + W S_0;</item>
    /// <item>o_i = (r_i ⊙ e^{G_i}) S_0 − Σ_{j≤i} (Σ_d r_id b_jd R_ijd) z_j + Σ_{j≤i} (Σ_d r_id k̃_jd R_ijd) v_j, and
    /// S_C = e^{G_C} ⊙ S_0 − Σ_j (b_j ⊙ e^{G_C − G_j}) z_j + Σ_j (k̃_j ⊙ e^{G_C − G_j}) v_jᵀ.</item>
    /// </list>
    /// Both sums run through <see cref="GatedDelta.AcrossChunks"/> as one set of 2C writes per chunk, [−z; v] =
    /// [−u; V] − [W; 0] S_0, with keys [b; k̃] (the v half does not depend on the state). Every exponent is a sum of
    /// log-decays over a forward span, so ≤ 0: nothing overflows and nothing is divided, and the form is exact for any
    /// decay. The four R- and R'-weighted products come from one <see cref="RelativeDecay.Scores"/> call (secondary
    /// chunking: R materialised only within diagonal sub-chunks of <paramref name="subChunk"/> steps, matmuls between
    /// them), R' as R one row down (A's row i is row i − 1 of the R-product with κ̂ moved up a step). Lengths not
    /// divisible by the chunk size are padded with steps that neither decay, read nor write (log w = 0, κ̂ = 0, k̃ = 0).
    /// </summary>
    public static (Tensor Output, Tensor State) Chunked(Tensor r, Tensor k, Tensor v, Tensor logDecay, Tensor removalKey, Tensor rate,
        Tensor? initialState = null, int chunkSize = 16, int subChunk = 4)
    {
        if (chunkSize < 1) throw new ArgumentOutOfRangeException(nameof(chunkSize));
        using var scope = NewDisposeScope();
        long l = r.shape[2], dk = r.shape[3];
        int c = chunkSize;
        long pad = (c - l % c) % c, n = (l + pad) / c;
        var rc = GatedDelta.Chunks(r, pad, n, c);
        var kc = GatedDelta.Chunks(k, pad, n, c);
        var vc = GatedDelta.Chunks(v, pad, n, c);
        var ec = GatedDelta.Chunks(removalKey, pad, n, c);                                  // κ̂
        var bc = GatedDelta.Chunks(rate * removalKey, pad, n, c);                            // b = a ⊙ κ̂
        var logW = GatedDelta.Chunks(logDecay, pad, n, c);
        var g = logW.cumsum(-2);                                                              // G_i: [B, H, N, C, K]
        var gBefore = g - logW;                                                               // G_{i−1}
        var gEnd = g[.., .., .., -1];                                                         // G_C: [B, H, N, K]

        // Σ_d x_id y_jd R_ijd for x ∈ {r, κ̂ shifted} and y ∈ {b, k̃}, all four from one call (x and y stacked in front).
        // A_ij = Σ_d κ̂_id y_jd e^{G_{i−1} − G_j} (j < i) is row i − 1 of the same product for x'_{i−1} = κ̂_i: κ̂ moved
        // up a step (a zero last row), the result moved down a step (a zero first row).
        var shifted = nn.functional.pad(ec.narrow(-2, 1, c - 1), new long[] { 0, 0, 0, 1 });
        var scores = RelativeDecay.Scores(stack(new[] { rc, shifted }), stack(new[] { bc, kc }), g, subChunk);   // [B, H, N, 2, C, 2C]
        var intra = scores.select(-3, 0);                                                     // [r·b R | r·k̃ R]: [B, H, N, C, 2C]
        var reads = nn.functional.pad(scores.select(-3, 1).narrow(-2, 0, c - 1), new long[] { 0, 0, 1, 0 });   // [A | A_k], R'_ij = e^{G_{i−1} − G_j}
        var (u, w) = GatedDelta.SolveUt(reads[TensorIndex.Ellipsis, ..c], reads[TensorIndex.Ellipsis, c..].matmul(vc), ec * gBefore.exp());
        var writes = cat(new[] { -u, vc }, -2);                                               // [−u; V]: [B, H, N, 2C, V]
        var erase = cat(new[] { w, zeros_like(w) }, -2);                                      // [W; 0]:  [B, H, N, 2C, K]
        var toEnd = (gEnd.unsqueeze(-2) - g).exp();                                           // e^{G_C − G_j}: [B, H, N, C, K]
        var toEndT = cat(new[] { bc * toEnd, kc * toEnd }, -2).transpose(-1, -2);             // [B, H, N, K, 2C]
        var (o, s) = GatedDelta.AcrossChunks(writes, erase, rc * g.exp(), intra, toEndT, gEnd.exp().unsqueeze(-1), initialState, dk, l);
        return (o.MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }
}
