using TorchSharp;
using Zoo.Core.Nn;
using static TorchSharp.torch;

namespace Zoo.Layers.DeepMemory;

/// <summary>Nonlinearity between the layers of the memory MLP.</summary>
public enum MemoryActivation
{
    /// <summary>x σ(x).</summary>
    Silu,
    /// <summary>tanh(x).</summary>
    Tanh,
}

/// <summary>
/// State of a <see cref="NeuralMemory"/>: the MLP's weights (the memory), the momentum ("surprise") of each weight, the
/// weights at the start of the current gradient chunk (inner gradients are taken there), and the position within that
/// chunk. Weights are per sequence: [B, H, out, in] per layer.
/// </summary>
public sealed record NeuralMemoryState(Tensor[] Weights, Tensor[] Momentum, Tensor[] ChunkStart, long Position);

/// <summary>
/// Replaces a memory layer's per-token pre-activation during a read (Memory Caching's soup, <c>ISoupMemory</c>): given
/// the MLP layer index, that layer's input [B, H, n, in] for tokens <paramref name="start"/> … start + n − 1 of the call, and
/// the online memory's pre-activation W_t · input [B, H, n, out], returns the mixed pre-activation.
/// </summary>
public delegate Tensor LayerMix(int layer, Tensor input, Tensor online, long start);

/// <summary>
/// Titans' neural long-term memory (Behrouz, Zhong, Mirrokni 2024, arXiv 2501.00663, §3.1) as an op. The memory is an
/// MLP M (depth ≥ 2) whose weights are the state. For each token, with ℓ(M; k, v) = ‖M(k) − v‖²:
/// S_t = η_t S_{t−1} − θ_t ∇ℓ(M'; k_t, v_t);  M_t = (1 − α_t) M_{t−1} + S_t;  y_t = M_t(q_t),
/// where M' is the memory at the start of the token's gradient chunk (M' = M_{t−1} for chunk size 1).
/// <see cref="Reference"/> is the per-token loop with inner gradients from autograd; <see cref="Chunked"/> computes a
/// whole chunk at once: the per-token gradients at the chunk-start weights have closed forms (errors back-propagated
/// through the MLP times activations: outer products), the momentum and decay scans become a C×C coefficient matrix,
/// and the read-outs with per-token weights, W_t q = B_t W_0 q + m_t S_0 q − Σ_{s≤t} c_ts δ_s (a_sᵀ q), are batched
/// matmuls — no per-sample autograd (TorchSharp has no vmap).
/// </summary>
/// <remarks>
/// Shapes: q, k [B, H, L, K]; v [B, H, L, V]; θ (inner learning rate), η (momentum), α (forgetting) [B, H, L].
/// With <c>residualNorm</c> the memory is titans-pytorch's default model, M(x) = LayerNorm(MLP(x)) + x (TTT's
/// wrapper; K = V), in both the write loss and the read; its LayerNorm has no gain (titans-pytorch's learned gain,
/// γ + 1 with γ = 0 at init, is fixed at 1 here).
/// </remarks>
public static class NeuralMemory
{
    /// <summary>Per-token loop; inner gradients by autograd w.r.t. the weights at each gradient-chunk start.</summary>
    public static (Tensor Output, NeuralMemoryState State) Reference(Tensor q, Tensor k, Tensor v, Tensor theta, Tensor eta, Tensor alpha,
        NeuralMemoryState state, int gradientChunk, MemoryActivation activation, bool residualNorm = false, LayerMix? mix = null)
    {
        using var scope = NewDisposeScope();
        using var gradMode = enable_grad(); // the inner gradients need a graph even when the caller evaluates without one
        var w = state.Weights.ToArray();
        var s = state.Momentum.ToArray();
        var start = state.ChunkStart.ToArray();
        long pos = state.Position;
        var outputs = new List<Tensor>();
        // Per-token views by unbind, not q[.., .., t]: an index's backward is as large as the whole input (TimePieces).
        var (qs, ks, vs, thetas, etas, alphas) = (q.unbind(2), k.unbind(2), v.unbind(2), theta.unbind(2), eta.unbind(2), alpha.unbind(2));
        for (int t = 0; t < qs.Length; t++, pos++)
        {
            if (pos % gradientChunk == 0) start = w.ToArray();
            // Inner gradient of ‖M'(k_t) − v_t‖² w.r.t. the chunk-start weights M'. Each sequence's loss depends only on its
            // own weights, so the gradient of the batch sum is the per-sequence gradient.
            var leaves = start.Select(x => x.requires_grad ? x : x.detach().requires_grad_(true)).ToArray();
            var err = Apply(leaves, ks[t], activation, residualNorm) - vs[t];
            var grads = torch.autograd.grad(new[] { err.pow(2).sum() }, leaves, retain_graph: true, create_graph: true);
            var th = thetas[t][.., .., TensorIndex.None, TensorIndex.None];
            var et = etas[t][.., .., TensorIndex.None, TensorIndex.None];
            var keep = 1 - alphas[t][.., .., TensorIndex.None, TensorIndex.None];
            for (int l = 0; l < w.Length; l++)
            {
                s[l] = et * s[l] - th * grads[l];
                w[l] = keep * w[l] + s[l];
            }
            long at = t;
            outputs.Add(Apply(w, qs[t], activation, residualNorm, mix is null ? null : (l, input, online) => mix(l, input, online, at)));
        }
        var next = new NeuralMemoryState(Keep(w), Keep(s), Keep(start), pos);
        return (stack(outputs, 2).MoveToOuterDisposeScope(), next);
    }

    /// <summary>
    /// Chunkwise form: chunks of <paramref name="chunkSize"/> tokens aligned to the state's position (a state carried in
    /// mid-chunk finishes its chunk first, with gradients at its stored chunk-start weights).
    /// </summary>
    public static (Tensor Output, NeuralMemoryState State) Chunked(Tensor q, Tensor k, Tensor v, Tensor theta, Tensor eta, Tensor alpha,
        NeuralMemoryState state, int chunkSize, MemoryActivation activation, bool momentum = true, bool residualNorm = false,
        LayerMix? mix = null)
    {
        using var scope = NewDisposeScope();
        var w = state.Weights;
        var s = state.Momentum;
        var start = state.ChunkStart;
        long pos = state.Position;
        var lengths = TimePieces.Lengths(q.shape[2], pos, chunkSize);   // one cut for all six inputs
        Tensor[] Pieces(Tensor x) => x.split(lengths, 2);
        var (qs, ks, vs, thetas, etas, alphas) = (Pieces(q), Pieces(k), Pieces(v), Pieces(theta), Pieces(eta), Pieces(alpha));
        var outputs = new List<Tensor>();
        long offset = 0;
        for (int i = 0; i < qs.Length; i++)
        {
            if (pos % chunkSize == 0) start = w;
            long at = offset;
            var (o, w2, s2) = Chunk(qs[i], ks[i], vs[i], thetas[i], etas[i], alphas[i], w, s, start, activation, momentum, residualNorm,
                mix is null ? null : (l, input, online) => mix(l, input, online, at));
            outputs.Add(o);
            (w, s) = (w2, s2);
            pos += lengths[i];
            offset += lengths[i];
        }
        var next = new NeuralMemoryState(Keep(w), Keep(s), Keep(start), pos);
        return (cat(outputs, 2).MoveToOuterDisposeScope(), next);
    }

    /// <summary>
    /// M(x) with per-sequence weights: x [B, H, (n,) in] → [B, H, (n,) out]; <paramref name="mix"/> (layer, input,
    /// pre-activation) replaces each layer's pre-activation (a soup's read), inputs given as [B, H, n, in].
    /// </summary>
    public static Tensor Apply(IReadOnlyList<Tensor> weights, Tensor x, MemoryActivation activation, bool residualNorm = false,
        Func<int, Tensor, Tensor, Tensor>? mix = null)
    {
        bool single = x.dim() == 3;
        var h = single ? x.unsqueeze(2) : x;
        for (int l = 0; l < weights.Count; l++)
        {
            var pre = h.matmul(weights[l].transpose(-1, -2));
            h = mix is null ? pre : mix(l, h, pre);
            if (l < weights.Count - 1) h = Phi(h, activation);
        }
        if (residualNorm) h = Normalize(h) + (single ? x.unsqueeze(2) : x);
        return single ? h.squeeze(2) : h;
    }

    /// <summary>LayerNorm over the last dim without gain or bias (eps 1e-5, as torch's).</summary>
    public static Tensor Normalize(Tensor h) => nn.functional.layer_norm(h, new[] { h.shape[^1] }, eps: LayerNormEps);

    private const double LayerNormEps = 1e-5;

    // Backward of Normalize: dℓ/dh = (g − mean(g) − ĥ·mean(g ⊙ ĥ)) / σ for ĥ = (h − μ)/σ.
    private static Tensor NormalizeBackward(Tensor h, Tensor g)
    {
        var sigma = (h.var(-1, unbiased: false, keepdim: true) + LayerNormEps).sqrt();
        var hat = (h - h.mean(new long[] { -1 }, keepdim: true)) / sigma;
        return (g - g.mean(new long[] { -1 }, keepdim: true) - hat * (g * hat).mean(new long[] { -1 }, keepdim: true)) / sigma;
    }

    // One chunk of n tokens: gradients at `start`, scans from (w, s).
    private static (Tensor Output, Tensor[] Weights, Tensor[] Momentum) Chunk(Tensor q, Tensor k, Tensor v, Tensor theta, Tensor eta, Tensor alpha,
        Tensor[] w, Tensor[] s, Tensor[] start, MemoryActivation activation, bool momentum, bool residualNorm,
        Func<int, Tensor, Tensor, Tensor>? mix)
    {
        long n = q.shape[2];
        int depth = w.Length;
        var lower = ones(n, n, dtype: ScalarType.Bool, device: q.device).tril();

        // Scans as coefficients. B_t = Π_{r≤t}(1 − α_r), E_t = Π_{r≤t} η_r (cumulative within the chunk).
        // M_t = B_t M_0 + m_t S_0 − Σ_{s≤t} c_ts g_s with D_tu = B_t/B_u, F_us = E_u/E_s (u ≥ s), c = (D F) ⊙ θ_s, m = D E.
        var logB = SafeLog(1 - alpha).cumsum(-1);                                         // [B, H, n]
        var decay = (logB.unsqueeze(-1) - logB.unsqueeze(-2)).masked_fill(lower.logical_not(), double.NegativeInfinity).exp(); // D
        Tensor c, m, carry;                                                               // carry_s: weight of g_s in S_n
        Tensor bEnd = logB[.., .., -1].exp()[.., .., TensorIndex.None, TensorIndex.None];
        Tensor eEnd;
        if (momentum)
        {
            var logE = SafeLog(eta).cumsum(-1);
            var f = (logE.unsqueeze(-1) - logE.unsqueeze(-2)).masked_fill(lower.logical_not(), double.NegativeInfinity).exp();
            c = decay.matmul(f) * theta.unsqueeze(-2);
            m = decay.matmul(logE.exp().unsqueeze(-1)).squeeze(-1);
            carry = (logE[.., .., -1].unsqueeze(-1) - logE).exp() * theta;
            eEnd = logE[.., .., -1].exp()[.., .., TensorIndex.None, TensorIndex.None];
        }
        else
        {
            // η = 0: S_t = −θ_t g_t, so the old momentum never reaches M and only the last token's gradient stays in S.
            c = decay * theta.unsqueeze(-2);
            m = zeros_like(theta);
            carry = zeros_like(theta);
            carry[.., .., -1] = theta[.., .., -1];
            eEnd = zeros_like(bEnd);
        }
        var bt = logB.exp().unsqueeze(-1);                                                // B_t as [B, H, n, 1]
        var mt = m.unsqueeze(-1);

        // Closed-form inner gradients at the chunk-start weights: forward, then errors back through the MLP.
        var acts = new Tensor[depth];                                                     // inputs a^{l−1} of layer l
        var pre = new Tensor[depth];
        var h = k;
        for (int l = 0; l < depth; l++)
        {
            acts[l] = h;
            pre[l] = h.matmul(start[l].transpose(-1, -2));
            h = l < depth - 1 ? Phi(pre[l], activation) : pre[l];
        }
        var deltas = new Tensor[depth];
        deltas[depth - 1] = residualNorm                                                  // dℓ/dy for ℓ = ‖y − v‖²
            ? NormalizeBackward(h, 2 * (Normalize(h) + k - v))                            // y = LN(h) + k
            : 2 * (h - v);
        for (int l = depth - 2; l >= 0; l--)
            deltas[l] = deltas[l + 1].matmul(start[l + 1]) * PhiPrime(pre[l], activation);

        // Read-outs with each token's own weights W_t (layer by layer, since the MLP is nonlinear).
        var x = q;
        for (int l = 0; l < depth; l++)
        {
            var u = bt * x.matmul(w[l].transpose(-1, -2)) + mt * x.matmul(s[l].transpose(-1, -2))
                    - (c * x.matmul(acts[l].transpose(-1, -2))).matmul(deltas[l]);
            if (mix is not null) u = mix(l, x, u);
            x = l < depth - 1 ? Phi(u, activation) : residualNorm ? Normalize(u) + q : u;
        }

        // End-of-chunk weights and momentum: the t = n row of the same sums.
        var cEnd = c[.., .., -1].unsqueeze(-1);                                          // c_ns as [B, H, n, 1]
        var mEnd = m[.., .., -1][.., .., TensorIndex.None, TensorIndex.None];
        var newW = new Tensor[depth];
        var newS = new Tensor[depth];
        for (int l = 0; l < depth; l++)
        {
            newW[l] = bEnd * w[l] + mEnd * s[l] - (deltas[l] * cEnd).transpose(-1, -2).matmul(acts[l]);
            newS[l] = eEnd * s[l] - (deltas[l] * carry.unsqueeze(-1)).transpose(-1, -2).matmul(acts[l]);
        }
        return (x, newW, newS);
    }

    // A gate that saturates in float32 (σ(z) = 1 for z ≳ 17, so 1 − α = 0) has log −∞, and the scans' differences of
    // cumulative logs then give −∞ − (−∞) = NaN; near 0 the log's gradient 1/x overflows. Flooring at 1e-12 keeps
    // values and gradients finite; a decay or momentum factor below 1e-12 is 0 for every purpose of the scan.
    private static Tensor SafeLog(Tensor x) => x.clamp_min(1e-12).log();

    /// <summary>The nonlinearity between memory layers.</summary>
    internal static Tensor Phi(Tensor z, MemoryActivation a) => a == MemoryActivation.Silu ? nn.functional.silu(z) : tanh(z);

    private static Tensor PhiPrime(Tensor z, MemoryActivation a)
    {
        if (a == MemoryActivation.Tanh) return 1 - tanh(z).pow(2);
        var sg = sigmoid(z);
        return sg * (1 + z * (1 - sg));
    }

    // Every state tensor gets its own handle (start and weights may be the same tensors), so moving one out of the
    // scope never moves another twice.
    private static Tensor[] Keep(Tensor[] ts) => ts.Select(t => t.alias().MoveToOuterDisposeScope()).ToArray();

}
