using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// The gated DeltaProduct recurrence (Siems, Carstensen, Zela, Hutter, Pontil, Grazzi 2025, "DeltaProduct: Improving
/// State-Tracking in Linear RNNs via Householder Products", arXiv 2502.10297, eq. 4 and §3): n_h delta-rule
/// (generalised Householder) steps per token, one decay per token. Two forms: <see cref="Reference"/>, the per-token loop
/// with its n_h explicit updates, and <see cref="Expanded"/>, each token expanded into n_h sub-steps run through the
/// gated delta op (<see cref="GatedDelta.Chunked"/>), which is how fla computes it.
/// </summary>
/// <remarks>
/// Per head, with the state S ∈ ℝ^{K×V}:
/// S_t = (Π_{j=1..n_h} (I − β_{t,j} k_{t,j} k_{t,j}ᵀ)) α_t S_{t−1} + Σ_j (Π_{i&gt;j} (I − β_{t,i} k_{t,i} k_{t,i}ᵀ)) β_{t,j} k_{t,j} v_{t,j}ᵀ,
/// i.e. S ← α_t S, then for j = 1..n_h: S ← S + β_{t,j} k_{t,j} (v_{t,j} − k_{t,j}ᵀ S); o_t = S_tᵀ q_t (read after the last step).
/// With ‖k‖ = 1 and β ∈ [0, 2] each factor has eigenvalues in [−1, 1]. n_h = 1 is the gated delta rule.
/// Shapes: q [B, H, L, K]; k [B, H, L, n_h, K]; v [B, H, L, n_h, V]; beta [B, H, L, n_h]; logDecay = log α ≤ 0 [B, H, L];
/// state [B, H, K, V]. Queries are used as given: scale them before calling.
/// </remarks>
public static class DeltaProduct
{
    /// <summary>Per-token loop with n_h explicit Householder updates: the definition.</summary>
    public static (Tensor Output, Tensor State) Reference(Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor beta, Tensor? initialState = null)
    {
        using var scope = NewDisposeScope();
        long b = q.shape[0], h = q.shape[1], l = q.shape[2], dk = q.shape[3], dv = v.shape[4];
        var s = initialState ?? zeros(new[] { b, h, dk, dv }, dtype: q.dtype, device: q.device);
        var outputs = new Tensor[l];
        var (qs, ks, vs, alphas, betas) = (q.unbind(2), k.unbind(2), v.unbind(2), logDecay.exp().unbind(2), beta.unbind(2));
        for (long t = 0; t < l; t++)
        {
            s = alphas[t][.., .., TensorIndex.None, TensorIndex.None] * s;                  // α_t S
            var (kj, vj, bj) = (ks[t].unbind(2), vs[t].unbind(2), betas[t].unbind(2));
            for (int j = 0; j < kj.Length; j++)
            {
                var kt = kj[j].unsqueeze(-1);                                               // [B, H, K, 1]
                var write = vj[j].unsqueeze(-2) - kt.transpose(-1, -2).matmul(s);           // v − Sᵀk
                s = s + bj[j][.., .., TensorIndex.None, TensorIndex.None] * kt.matmul(write);
            }
            outputs[t] = qs[t].unsqueeze(-2).matmul(s).squeeze(-2);                         // S_tᵀ q_t
        }
        return (stack(outputs, 2).MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The form a layer's options choose: <see cref="Reference"/> for <see cref="MemoryForm.Reference"/> and for a single
    /// token (a recurrent step), otherwise <see cref="Expanded"/> with <paramref name="chunkSize"/> sub-steps a chunk.
    /// </summary>
    public static (Tensor Output, Tensor State) Apply(MemoryForm form, Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor beta,
        Tensor initialState, int chunkSize) =>
        form == MemoryForm.Reference || q.shape[2] == 1
            ? Reference(q, k, v, logDecay, beta, initialState)
            : Expanded(q, k, v, logDecay, beta, initialState, chunkSize);

    /// <summary>
    /// Token t becomes n_h sub-steps t·n_h + j of the gated delta rule with key k_{t,j}, value v_{t,j} and β_{t,j}; the
    /// decay α_t sits on the first sub-step (log-decay 0 on the others) and the query q_t on the last (zero queries on the
    /// others, whose outputs are dropped). The L·n_h sub-steps run through <see cref="GatedDelta.Chunked"/> with
    /// <paramref name="chunkSize"/> sub-steps a chunk.
    /// </summary>
    public static (Tensor Output, Tensor State) Expanded(Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor beta,
        Tensor? initialState = null, int chunkSize = 64)
    {
        using var scope = NewDisposeScope();
        long b = q.shape[0], h = q.shape[1], l = q.shape[2], dk = q.shape[3], n = k.shape[3], dv = v.shape[4];
        var qx = n == 1 ? q : cat(new[] { zeros(new[] { b, h, l, n - 1, dk }, dtype: q.dtype, device: q.device), q.unsqueeze(3) }, 3).reshape(b, h, l * n, dk);
        var gx = n == 1 ? logDecay : cat(new[] { logDecay.unsqueeze(-1), zeros(new[] { b, h, l, n - 1 }, dtype: q.dtype, device: q.device) }, -1).reshape(b, h, l * n);
        var (o, s) = GatedDelta.Chunked(qx, k.reshape(b, h, l * n, dk), v.reshape(b, h, l * n, dv), gx, beta.reshape(b, h, l * n),
            initialState, chunkSize, erase: true);
        if (n > 1) o = o.reshape(b, h, l, n, dv).select(3, n - 1);
        return (o.MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }
}
