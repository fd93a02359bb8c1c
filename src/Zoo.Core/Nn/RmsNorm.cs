using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Zoo.Core.Nn;

/// <summary>RMSNorm (Zhang and Sennrich 2019): x / rms(x) · g over the last dimension. TorchSharp 0.107 has none.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double _eps;

    /// <param name="dim">Size of the normalised (last) dimension.</param>
    /// <param name="eps">Added to the mean square for stability.</param>
    public RmsNorm(long dim, double eps = 1e-6) : base("RmsNorm")
    {
        weight = nn.Parameter(ones(dim));
        _eps = eps;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Apply(x, weight, _eps).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// x / √(mean(x²) + eps) · <paramref name="weight"/> over the last dimension, for layers that keep the gain as a
    /// parameter of their own (so their parameter names, and checkpoints, stay as they are).
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor weight, double eps = 1e-6) =>
        x * rsqrt(x.pow(2).mean(new long[] { -1 }, keepdim: true) + eps) * weight;
}
