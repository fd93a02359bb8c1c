using TorchSharp;
using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// GatedLinearAttention.Chunked (per-key-dimension decay) against its per-token Reference in float64: outputs, final state and every
/// gradient including the initial state's; lengths the chunk does not divide; decays random, spread over the key dims
/// (down to e^−8 per token, so relative decays span hundreds of e-folds in a chunk), near 1 and exactly 1.
/// </summary>
public sealed class GatedLinearAttentionTests
{
    private static readonly string[] Names = { "q", "k", "v", "log_decay", "initial_state" };

    /// <param name="gate">"random": log α ∈ (−8, 0) varying per dim; "near1": α = 1 − 1e-6; "one": α = 1; "scalar": equal across dims.</param>
    private static Tensor[] Make(long b, long h, long l, long dk, long dv, ScalarType dtype, string gate, ulong seed)
    {
        var g = new Generator(seed);
        Tensor R(params long[] shape) => randn(shape, dtype: ScalarType.Float64, generator: g);
        var logDecay = gate switch
        {
            "near1" => full(new[] { b, h, l, dk }, Math.Log(1 - 1e-6), dtype: ScalarType.Float64),
            "one" => zeros(new[] { b, h, l, dk }, dtype: ScalarType.Float64),
            "scalar" => (-nn.functional.softplus(R(b, h, l)) * 0.5).unsqueeze(-1).expand(b, h, l, dk).contiguous(),
            _ => -8 * rand(new[] { b, h, l, dk }, dtype: ScalarType.Float64, generator: g).pow(3),
        };
        Tensor Leaf(Tensor t) => t.to(dtype).detach().requires_grad_(true);
        return new[] { Leaf(R(b, h, l, dk) / Math.Sqrt(dk)), Leaf(R(b, h, l, dk)), Leaf(R(b, h, l, dv)), Leaf(logDecay), Leaf(R(b, h, dk, dv) * 0.3) };
    }

    private static (Tensor O, Tensor S, Tensor[] Grads) Run(Tensor[] x, bool chunked, int chunk)
    {
        foreach (var t in x) t.grad?.zero_();
        var (o, s) = chunked
            ? GatedLinearAttention.Chunked(x[0], x[1], x[2], x[3], x[4], chunk)
            : GatedLinearAttention.Reference(x[0], x[1], x[2], x[3], x[4]);
        var wo = linspace(-1, 1, o.numel(), dtype: o.dtype).reshape(o.shape);
        var ws = linspace(1, -0.5, s.numel(), dtype: s.dtype).reshape(s.shape);
        ((o * wo).sum() + (s * ws).sum()).backward();
        return (o.detach(), s.detach(), x.Select(t => t.grad!.clone()).ToArray());
    }

    [Theory]
    [InlineData(37, 16, "random")]
    [InlineData(64, 16, "random")]
    [InlineData(50, 7, "random")]
    [InlineData(9, 16, "random")]     // shorter than one chunk
    [InlineData(45, 8, "near1")]
    [InlineData(33, 16, "one")]
    [InlineData(40, 32, "scalar")]
    public void Chunked_equals_reference_in_float64(int length, int chunk, string gate)
    {
        using var scope = NewDisposeScope();
        var x = Make(2, 3, length, 6, 5, ScalarType.Float64, gate, seed: (ulong)(length * 17 + chunk));
        var (ro, rs, rg) = Run(x, chunked: false, chunk);
        var (co, cs, cg) = Run(x, chunked: true, chunk);
        Assert.True(TestSupport.MaxAbsDiff(ro, co) < 1e-11, $"outputs differ by {TestSupport.MaxAbsDiff(ro, co)}");
        Assert.True(TestSupport.MaxAbsDiff(rs, cs) < 1e-11, $"final states differ by {TestSupport.MaxAbsDiff(rs, cs)}");
        for (int i = 0; i < rg.Length; i++)
            Assert.True(TestSupport.MaxAbsDiff(rg[i], cg[i]) < 1e-10, $"grad of {Names[i]} differs by {TestSupport.MaxAbsDiff(rg[i], cg[i])}");
    }

    [Fact]
    public void Equal_decays_across_key_dims_reduce_to_the_scalar_gated_op()
    {
        using var scope = NewDisposeScope();
        var x = Make(1, 2, 21, 4, 3, ScalarType.Float64, "scalar", seed: 3);
        var (o, s) = GatedLinearAttention.Chunked(x[0], x[1], x[2], x[3], x[4], chunkSize: 8);
        var (so, ss) = GatedDelta.Reference(x[0], x[1], x[2], x[3][.., .., .., 0], ones(1, 2, 21, dtype: ScalarType.Float64), x[4], erase: false);
        Assert.True(TestSupport.MaxAbsDiff(o, so) < 1e-12, $"outputs differ by {TestSupport.MaxAbsDiff(o, so)}");
        Assert.True(TestSupport.MaxAbsDiff(s, ss) < 1e-12, $"states differ by {TestSupport.MaxAbsDiff(s, ss)}");
    }

    [Fact]
    public void Chunked_in_float32_stays_close_to_the_float64_reference()
    {
        using var scope = NewDisposeScope();
        var x32 = Make(2, 2, 90, 16, 12, ScalarType.Float32, "random", seed: 4);
        var x64 = Make(2, 2, 90, 16, 12, ScalarType.Float64, "random", seed: 4);
        var (ro, rs, rg) = Run(x64, chunked: false, 16);
        var (co, cs, cg) = Run(x32, chunked: true, 16);
        static double Rel(Tensor r, Tensor f) => TestSupport.RelativeRmse(r, f);
        Assert.True(Rel(ro, co) < 1e-5, $"output relative RMSE {Rel(ro, co):E2}");
        Assert.True(Rel(rs, cs) < 1e-5, $"state relative RMSE {Rel(rs, cs):E2}");
        for (int i = 0; i < rg.Length; i++) Assert.True(Rel(rg[i], cg[i]) < 1e-4, $"grad {Names[i]} relative RMSE {Rel(rg[i], cg[i]):E2}");
    }
}
