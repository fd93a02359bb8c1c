using Zoo.Core.Nn;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>Rotary position embedding: a rotation per pair, and q·k that depends on positions only through their difference.</summary>
public sealed class RotaryTests
{
    [Fact]
    public void Rotated_dot_products_depend_only_on_the_position_difference()
    {
        using var scope = NewDisposeScope();
        var q = TestSupport.Input(1, 1, 8, seed: 1).reshape(1, 1, 8);
        var k = TestSupport.Input(1, 1, 8, seed: 2).reshape(1, 1, 8);
        double Dot(long m, long n)
        {
            var (cm, sm) = Rotary.Tables(8, 10000, m, 1, ScalarType.Float64, CPU);
            var (cn, sn) = Rotary.Tables(8, 10000, n, 1, ScalarType.Float64, CPU);
            return (Rotary.Rotate(q, cm, sm) * Rotary.Rotate(k, cn, sn)).sum().item<double>();
        }
        Assert.Equal(Dot(7, 3), Dot(107, 103), 10);
        Assert.Equal(Dot(0, 0), (q * k).sum().item<double>(), 12); // position 0 is the identity
        Assert.True(Math.Abs(Dot(7, 3) - Dot(7, 4)) > 1e-3, "rotation must change with the difference");
    }

    [Fact]
    public void Rotation_keeps_each_pair_norm_and_tables_cover_the_offset()
    {
        using var scope = NewDisposeScope();
        var x = TestSupport.Input(2, 5, 6, seed: 3); // [B, L, d]
        var (cos, sin) = Rotary.Tables(6, 500, 10, 5, ScalarType.Float64, CPU);
        var y = Rotary.Rotate(x, cos, sin);
        var pairNorm = (Tensor t) => t.reshape(2, 5, 3, 2).pow(2).sum(-1);
        Assert.True(TestSupport.MaxAbsDiff(pairNorm(x), pairNorm(y)) < 1e-12);
        // Row 0 is position 10: angle 10 for the first pair (θ^0 = 1).
        Assert.Equal(Math.Cos(10), cos[0, 0].item<double>(), 12);
        Assert.Equal(Math.Sin(10 * Math.Pow(500, -2.0 / 6)), sin[0, 1].item<double>(), 12);
    }
}
