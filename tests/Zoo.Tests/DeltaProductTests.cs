using TorchSharp;
using Xunit.Abstractions;
using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// Gated DeltaProduct's op: the expanded form (n_h sub-steps a token through GatedDelta.Chunked) against the per-token
/// Reference with its n_h explicit Householder updates, in float64 (outputs, final state, every gradient including the
/// initial state's; lengths whose sub-steps the chunk does not divide, chunks that split a token's sub-steps; gates random,
/// near 1 and at 1; β ∈ (0, 2), negative eigenvalues); n_h = 1 is the gated delta rule; one token by hand.
/// </summary>
public sealed class DeltaProductTests(ITestOutputHelper output)
{
    private static readonly string[] Names = { "q", "k", "v", "log_decay", "beta", "initial_state" };

    /// <param name="gate">"random": α ∈ (0.4, 1); "near1": α = 1 − 1e-6; "one": α = 1 exactly.</param>
    private static Tensor[] Make(long b, long h, long l, long n, long dk, long dv, ScalarType dtype, string gate, ulong seed, double betaScale)
    {
        var g = new Generator(seed);
        Tensor R(params long[] shape) => randn(shape, dtype: ScalarType.Float64, generator: g);
        var logDecay = gate switch
        {
            "near1" => full(new[] { b, h, l }, Math.Log(1 - 1e-6), dtype: ScalarType.Float64),
            "one" => zeros(new[] { b, h, l }, dtype: ScalarType.Float64),
            _ => -nn.functional.softplus(R(b, h, l)) * 0.5 - 0.02,
        };
        var k = nn.functional.normalize(R(b, h, l, n, dk), dim: -1);
        Tensor Leaf(Tensor t) => t.to(dtype).detach().requires_grad_(true);
        return new[] { Leaf(R(b, h, l, dk) / Math.Sqrt(dk)), Leaf(k), Leaf(R(b, h, l, n, dv)), Leaf(logDecay), Leaf(sigmoid(R(b, h, l, n)) * betaScale), Leaf(R(b, h, dk, dv) * 0.3) };
    }

    private static (Tensor O, Tensor S, Tensor[] Grads) Run(Tensor[] x, bool expanded, int chunk)
    {
        foreach (var t in x) t.grad?.zero_();
        var (o, s) = expanded
            ? DeltaProduct.Expanded(x[0], x[1], x[2], x[3], x[4], x[5], chunk)
            : DeltaProduct.Reference(x[0], x[1], x[2], x[3], x[4], x[5]);
        var wo = linspace(-1, 1, o.numel(), dtype: o.dtype).reshape(o.shape);
        var ws = linspace(1, -0.5, s.numel(), dtype: s.dtype).reshape(s.shape);
        ((o * wo).sum() + (s * ws).sum()).backward();
        return (o.detach(), s.detach(), x.Select(t => t.grad!.clone()).ToArray());
    }

    [Theory]
    [InlineData(31, 2, 16, "random", 2.0)]
    [InlineData(32, 2, 64, "random", 2.0)]
    [InlineData(25, 3, 16, "random", 1.0)]   // chunks of 16 sub-steps split tokens of 3
    [InlineData(20, 2, 7, "near1", 2.0)]
    [InlineData(27, 3, 32, "one", 2.0)]
    [InlineData(5, 2, 64, "random", 2.0)]    // shorter than one chunk
    [InlineData(23, 1, 8, "random", 1.0)]
    public void Expanded_equals_reference_in_float64(int length, int householder, int chunk, string gate, double betaScale)
    {
        using var scope = NewDisposeScope();
        var x = Make(2, 3, length, householder, 6, 5, ScalarType.Float64, gate, seed: (ulong)(length * 13 + chunk), betaScale);
        TestSupport.AssertSameRun(output, $"L {length} n_h {householder} C {chunk} {gate} β×{betaScale}", Run(x, expanded: false, chunk), Run(x, expanded: true, chunk), Names, 1e-10, 1e-9);
    }

    [Fact]
    public void One_householder_step_is_the_gated_delta_rule()
    {
        using var scope = NewDisposeScope();
        var x = Make(2, 2, 19, 1, 4, 3, ScalarType.Float64, "random", seed: 8, betaScale: 1);
        var (go, gs) = GatedDelta.Reference(x[0], x[1].squeeze(3), x[2].squeeze(3), x[3], x[4].squeeze(3), x[5]);
        foreach (var (o, s) in new[] { DeltaProduct.Reference(x[0], x[1], x[2], x[3], x[4], x[5]), DeltaProduct.Expanded(x[0], x[1], x[2], x[3], x[4], x[5], 8) })
        {
            Assert.True(TestSupport.MaxAbsDiff(o, go) < 1e-12, $"outputs differ by {TestSupport.MaxAbsDiff(o, go)}");
            Assert.True(TestSupport.MaxAbsDiff(s, gs) < 1e-12, $"states differ by {TestSupport.MaxAbsDiff(s, gs)}");
        }
    }

    [Fact]
    public void A_hand_computed_token_matches_the_equation()
    {
        // One head, K = 2, V = 1, n_h = 2, α = 0.5, β = (2, 1) with unit keys e₁ and e₂: the first step (β = 2) maps S's
        // first row r to −r + 2v₁ (eigenvalue −1), the second (β = 1) replaces the second row by v₂.
        using var scope = NewDisposeScope();
        var dt = ScalarType.Float64;
        var s0 = tensor(new double[] { 4, 6 }, dtype: dt).reshape(1, 1, 2, 1);
        var k = tensor(new double[] { 1, 0, 0, 1 }, dtype: dt).reshape(1, 1, 1, 2, 2);
        var v = tensor(new double[] { 1, 5 }, dtype: dt).reshape(1, 1, 1, 2, 1);
        var q = tensor(new double[] { 1, 1 }, dtype: dt).reshape(1, 1, 1, 2);
        var logDecay = tensor(new[] { Math.Log(0.5) }, dtype: dt).reshape(1, 1, 1);
        var beta = tensor(new double[] { 2, 1 }, dtype: dt).reshape(1, 1, 1, 2);
        // α S = (2, 3); step 1: row 1 ← 2 + 2 (1 − 2) = 0; step 2: row 2 ← 3 + (5 − 3) = 5; o = 0 + 5.
        var (o, s) = DeltaProduct.Reference(q, k, v, logDecay, beta, s0);
        Assert.Equal(0, s[0, 0, 0, 0].item<double>(), 12);
        Assert.Equal(5, s[0, 0, 1, 0].item<double>(), 12);
        Assert.Equal(5, o[0, 0, 0, 0].item<double>(), 12);
    }
}
