using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// The short causal depthwise convolution over time that modern recurrent memories put after their q/k/v projections
/// (Mamba-2, Gated DeltaNet fig. 1, Titans §4.4), followed by SiLU. It lets a token's key and value see the few tokens
/// before it, so an associative memory can bind a key to the value that follows it. A cache of the last kernel − 1
/// inputs carries the convolution across calls, so a sequence split into pieces gives the same output as one call.
/// </summary>
public static class ShortConvolution
{
    /// <summary>A depthwise kernel [channels, 1, size], uniform in ±1/√size (PyTorch's Conv1d initialisation).</summary>
    public static Parameter Weight(long channels, int size)
    {
        var bound = 1.0 / Math.Sqrt(size);
        using var noGrad = no_grad();
        return nn.Parameter(empty(channels, 1, size).uniform_(-bound, bound));
    }

    /// <summary>
    /// Several projections of x [B, L, D], each followed by its own short conv, as one matmul over the weights side by
    /// side and one conv over the kernels side by side: a third of the kernel launches and autograd nodes of three (the
    /// parameters stay separate, so checkpoints keep their names). Returns each projection's output and new cache, in
    /// the order given; without <paramref name="kernels"/> the projections and the caches pass through unconvolved.
    /// </summary>
    public static (Tensor[] Outputs, Tensor[] Caches) Project(Tensor x, Tensor[] weights, Tensor[]? kernels, Tensor[] caches)
    {
        var sizes = Array.ConvertAll(weights, w => w.shape[0]);
        var projected = nn.functional.linear(x, cat(weights, 0));
        if (kernels is null) return (projected.split(sizes, -1), Array.ConvertAll(caches, c => c.alias()));
        var (y, cache) = Apply(projected, cat(kernels, 0), cat(caches, -1));
        return (y.split(sizes, -1), cache.split(sizes, -1));
    }

    /// <summary>
    /// SiLU(causal depthwise conv(u) + bias) for u [B, L, C], continuing from <paramref name="cache"/> [B, size − 1, C]
    /// (the inputs before u); returns the output and the new cache. Without a kernel, u and the cache pass through unchanged.
    /// </summary>
    /// <remarks>
    /// Written as a sum of kernel-size shifted products (y_t = Σ_j w_j ⊙ u_{t−size+1+j}): libtorch's depthwise conv1d on
    /// CPU cost more than the gated delta op itself at d_model 64 (docs/architecture.md, 'Gated DeltaNet cost').
    /// <paramref name="weight"/> may be several kernels concatenated over channels (q, k and v in one call).
    /// </remarks>
    public static (Tensor Output, Tensor Cache) Apply(Tensor u, Tensor? weight, Tensor cache, Tensor? bias = null)
    {
        if (weight is null) return (u, cache.alias());
        var full = cat(new[] { cache, u }, 1);                                       // [B, kernel − 1 + L, C]
        long l = u.shape[1], cached = cache.shape[1];
        var taps = weight.squeeze(1).t().unbind(0);                                  // kernel × [C]
        var y = full.narrow(1, 0, l) * taps[0];
        for (int j = 1; j < taps.Length; j++) y = y + full.narrow(1, j, l) * taps[j];
        if (bias is not null) y = y + bias;
        // The cache is copied out of `full`: a view would keep the whole [B, kernel − 1 + L, C] input alive in the state
        // (Memory Caching and Titans MAC hold one state per segment).
        return (nn.functional.silu(y), full.narrow(1, full.shape[1] - cached, cached).contiguous());
    }
}
