using static TorchSharp.torch;

namespace Zoo.Core.Nn;

/// <summary>
/// Rotary position embedding (RoPE, Su et al. 2021, "RoFormer", arXiv 2104.09864): consecutive pairs of a head's
/// dimensions are rotated by position × θ^(−2i/d), so q·k depends on the two positions only through their difference.
/// </summary>
/// <remarks>
/// Angles are computed in float64 and cast once: at positions of thousands the float32 product loses the low bits
/// that separate neighbouring positions. Layers carry the absolute position of their next token as a state counter
/// so that the step form rotates exactly as the parallel form does.
/// </remarks>
public static class Rotary
{
    /// <summary>
    /// cos and sin tables [L, d/2] for positions offset … offset + length − 1 of a head dim <paramref name="headDim"/>
    /// (even) with base θ = <paramref name="ropeBase"/>.
    /// </summary>
    public static (Tensor Cos, Tensor Sin) Tables(int headDim, double ropeBase, long offset, long length, ScalarType dtype, Device device)
    {
        var inv = pow(ropeBase, -arange(0, headDim, 2, dtype: ScalarType.Float64, device: device) / headDim);
        var pos = arange(offset, offset + length, dtype: ScalarType.Float64, device: device);
        var angles = outer(pos, inv); // [L, d/2]
        return (angles.cos().to(dtype), angles.sin().to(dtype));
    }

    /// <summary>Rotates the consecutive pairs (x1, x2) of the last axis of x [..., L, d] by the tables' angles.</summary>
    public static Tensor Rotate(Tensor x, Tensor cos, Tensor sin)
    {
        var shape = x.shape;
        var pairShape = shape.Take(shape.Length - 1).Append(shape[^1] / 2).Append(2L).ToArray();
        var pairs = x.reshape(pairShape);
        var x1 = pairs.select(-1, 0);
        var x2 = pairs.select(-1, 1);
        return stack(new[] { x1 * cos - x2 * sin, x1 * sin + x2 * cos }, -1).reshape(shape);
    }
}
