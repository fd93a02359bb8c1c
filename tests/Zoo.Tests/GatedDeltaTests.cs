using TorchSharp;
using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// GatedDelta.Chunked against GatedDelta.Reference (docs/architecture.md, 'Testing conventions'): outputs, final state and every gradient including
/// the initial state's; float64 tight, float32 by relative RMSE; odd lengths, several chunk sizes, gates near and at 1.
/// </summary>
public sealed class GatedDeltaTests
{
    private sealed record Inputs(Tensor Q, Tensor K, Tensor V, Tensor LogDecay, Tensor Beta, Tensor S0)
    {
        public Tensor[] All => new[] { Q, K, V, LogDecay, Beta, S0 };
    }

    /// <param name="gate">"random": α ∈ (0.4, 1); "near1": α = 1 − 1e-6; "one": α = 1 exactly.</param>
    private static Inputs Make(long b, long h, long l, long dk, long dv, ScalarType dtype, string gate, ulong seed)
    {
        var g = new Generator(seed);
        Tensor R(params long[] shape) => randn(shape, dtype: ScalarType.Float64, generator: g);
        var q = R(b, h, l, dk) / Math.Sqrt(dk);
        var k = nn.functional.normalize(R(b, h, l, dk), dim: -1);     // the layers feed L2-normalised keys
        var logDecay = gate switch
        {
            "near1" => full(new[] { b, h, l }, Math.Log(1 - 1e-6), dtype: ScalarType.Float64),
            "one" => zeros(new[] { b, h, l }, dtype: ScalarType.Float64),
            _ => -nn.functional.softplus(R(b, h, l)) * 0.5 - 0.02,
        };
        var beta = sigmoid(R(b, h, l));
        var leaf = (Tensor t) => t.to(dtype).detach().requires_grad_(true);
        return new Inputs(leaf(q), leaf(k), leaf(R(b, h, l, dv)), leaf(logDecay), leaf(beta), leaf(R(b, h, dk, dv) * 0.3));
    }

    private static (Tensor O, Tensor S, Tensor[] Grads) Run(Inputs x, bool chunked, int chunk, bool erase)
    {
        foreach (var t in x.All) t.grad?.zero_();
        var (o, s) = chunked
            ? GatedDelta.Chunked(x.Q, x.K, x.V, x.LogDecay, x.Beta, x.S0, chunk, erase)
            : GatedDelta.Reference(x.Q, x.K, x.V, x.LogDecay, x.Beta, x.S0, erase);
        // A loss that weighs every output and state entry differently, so no gradient cancels by symmetry.
        var wo = linspace(-1, 1, o.numel(), dtype: o.dtype).reshape(o.shape);
        var ws = linspace(1, -0.5, s.numel(), dtype: s.dtype).reshape(s.shape);
        ((o * wo).sum() + (s * ws).sum()).backward();
        return (o.detach(), s.detach(), x.All.Select(t => t.grad!.clone()).ToArray());
    }

    private static readonly string[] Names = { "q", "k", "v", "log_decay", "beta", "initial_state" };

    [Theory]
    [InlineData(63, 16, "random", true)]
    [InlineData(75, 32, "random", true)]
    [InlineData(64, 64, "random", true)]
    [InlineData(20, 64, "random", true)]   // shorter than one chunk: must still update the state
    [InlineData(50, 8, "near1", true)]
    [InlineData(50, 16, "one", true)]
    [InlineData(63, 16, "random", false)]
    [InlineData(75, 64, "one", false)]
    public void Chunked_equals_reference_in_float64(int length, int chunk, string gate, bool erase)
    {
        using var scope = NewDisposeScope();
        var x = Make(2, 3, length, 6, 5, ScalarType.Float64, gate, seed: (ulong)(length * 31 + chunk));
        var (ro, rs, rg) = Run(x, chunked: false, chunk, erase);
        var (co, cs, cg) = Run(x, chunked: true, chunk, erase);
        Assert.True(TestSupport.MaxAbsDiff(ro, co) < 1e-10, $"outputs differ by {TestSupport.MaxAbsDiff(ro, co)}");
        Assert.True(TestSupport.MaxAbsDiff(rs, cs) < 1e-10, $"final states differ by {TestSupport.MaxAbsDiff(rs, cs)}");
        for (int i = 0; i < rg.Length; i++)
            Assert.True(TestSupport.MaxAbsDiff(rg[i], cg[i]) < 1e-9, $"grad of {Names[i]} differs by {TestSupport.MaxAbsDiff(rg[i], cg[i])}");
    }

    [Theory]
    [InlineData(75, 16, "random")]
    [InlineData(130, 64, "near1")]
    [InlineData(100, 32, "one")]
    public void Chunked_matches_reference_in_float32_by_relative_rmse(int length, int chunk, string gate)
    {
        using var scope = NewDisposeScope();
        var x32 = Make(2, 2, length, 16, 12, ScalarType.Float32, gate, seed: 9);
        var x64 = Make(2, 2, length, 16, 12, ScalarType.Float64, gate, seed: 9);
        var (ro, rs, rg) = Run(x64, chunked: false, chunk, erase: true);
        var (co, cs, cg) = Run(x32, chunked: true, chunk, erase: true);
        AssertClose("output", ro, co, 5e-4);
        AssertClose("state", rs, cs, 5e-4);
        for (int i = 0; i < rg.Length; i++) AssertClose("grad " + Names[i], rg[i], cg[i], 2e-3);
    }

    [Fact]
    public void Chunked_runs_in_bfloat16_close_to_the_float64_reference()
    {
        // bfloat16 keeps 8 significant bits (relative error ≈ 0.4% per rounding); the UT solve itself runs in float32.
        using var scope = NewDisposeScope();
        var x16 = Make(2, 2, 70, 16, 12, ScalarType.BFloat16, "random", seed: 5);
        var x64 = Make(2, 2, 70, 16, 12, ScalarType.Float64, "random", seed: 5);
        var (ro, rs, rg) = Run(x64, chunked: false, 16, erase: true);
        var (co, cs, cg) = Run(x16, chunked: true, 16, erase: true);
        Assert.Equal(ScalarType.BFloat16, co.dtype);
        AssertClose("output", ro, co, 0.03);
        AssertClose("state", rs, cs, 0.03);
        for (int i = 0; i < rg.Length; i++) AssertClose("grad " + Names[i], rg[i], cg[i], 0.06);
    }

    [Fact]
    public void Delta_rule_overwrites_the_value_bound_to_a_repeated_key()
    {
        // Two writes to the same unit key with β = 1: the delta rule keeps only the second value; additive keeps the sum.
        using var scope = NewDisposeScope();
        var k = zeros(1, 1, 2, 4, dtype: ScalarType.Float64);
        k[.., .., .., 0] = 1.0;
        var v = tensor(new[] { 1.0, 2.0, 5.0, -1.0 }, dtype: ScalarType.Float64).reshape(1, 1, 2, 2);
        var q = k.clone();
        var logDecay = zeros(1, 1, 2, dtype: ScalarType.Float64);
        var beta = ones(1, 1, 2, dtype: ScalarType.Float64);
        var (delta, _) = GatedDelta.Chunked(q, k, v, logDecay, beta, chunkSize: 2);
        var (additive, _) = GatedDelta.Chunked(q, k, v, logDecay, beta, chunkSize: 2, erase: false);
        Assert.Equal(new[] { 5.0, -1.0 }, delta[0, 0, 1].data<double>().ToArray());
        Assert.Equal(new[] { 6.0, 1.0 }, additive[0, 0, 1].data<double>().ToArray());
    }

    private static void AssertClose(string what, Tensor reference, Tensor fast, double ratio)
    {
        var f = fast.to(ScalarType.Float64);
        Assert.True(f.isfinite().all().item<bool>(), $"{what}: non-finite values");
        double maxAbs = TestSupport.MaxAbsDiff(reference, f);
        if (maxAbs <= 1e-6) return;
        double rmse = (reference - f).pow(2).mean().sqrt().item<double>();
        double scale = reference.pow(2).mean().sqrt().item<double>();
        Assert.True(rmse / scale < ratio, $"{what}: relative RMSE {rmse / scale:E2} ≥ {ratio:E1}");
    }
}
