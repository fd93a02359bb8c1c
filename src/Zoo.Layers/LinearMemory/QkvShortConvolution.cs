using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// fla's <c>use_short_conv</c> for layers whose papers have none (GLA, RetNet): a causal depthwise kernel on each of the
/// q, k and v projections (<see cref="ShortConvolution"/>, then SiLU). Without it a one-layer-deep key cannot see the
/// token before it, so such a layer has no way to bind a key to the value that follows it (MQAR); fla offers the conv
/// as an option of every linear-attention layer and Zoology's models interleave short convolutions for this reason.
/// </summary>
public sealed class QkvShortConvolution : nn.Module
{
    private readonly Parameter q_conv, k_conv, v_conv;

    /// <summary>Kernels of <paramref name="size"/> taps over H·d_k (q, k) and H·d_v (v) channels.</summary>
    public QkvShortConvolution(long qkChannels, long vChannels, int size) : base("QkvShortConvolution")
    {
        (Size, Channels) = (size, 2 * qkChannels + vChannels);
        q_conv = ShortConvolution.Weight(qkChannels, size);
        k_conv = ShortConvolution.Weight(qkChannels, size);
        v_conv = ShortConvolution.Weight(vChannels, size);
        RegisterComponents();
    }

    /// <summary>Kernel size.</summary>
    public int Size { get; }

    /// <summary>q, k and v channels together: the width of the cache.</summary>
    public long Channels { get; }

    /// <summary>The three kernels side by side, in the order of the projections' concatenation (q, k, v).</summary>
    public Tensor Kernel() => cat(new Tensor[] { q_conv, k_conv, v_conv }, 0);

    /// <summary>The cache of a fresh sequence: [B, size − 1, channels] zeros.</summary>
    public Tensor EmptyCache(long batch, Device device, ScalarType dtype) =>
        zeros(new long[] { batch, Size - 1, Channels }, dtype: dtype, device: device);
}
