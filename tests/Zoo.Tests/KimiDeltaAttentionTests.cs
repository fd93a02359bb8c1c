using TorchSharp;
using Xunit.Abstractions;
using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// Kimi Delta Attention's op, GatedDeltaPerChannel (the gated delta rule with a decay per key dimension): Chunked against
/// the per-token Reference in float64 (outputs, final state, every gradient including the initial state's; lengths the
/// chunk does not divide; decays spread over the key dims down to e^−8 per token, near 1 and at 1; β up to 2), the
/// reduction to GatedDelta when the decays are equal across dims, float32 by relative RMSE, one step by hand.
/// </summary>
public sealed class KimiDeltaAttentionTests(ITestOutputHelper output)
{
    private static readonly string[] Names = { "q", "k", "v", "log_decay", "beta", "initial_state" };

    /// <param name="gate">"random": log α ∈ (−8, 0) varying per dim; "near1": α = 1 − 1e-6; "one": α = 1; "scalar": equal across dims.</param>
    /// <param name="betaScale">β = betaScale · σ(·): 2 is allow_neg_eigval's range.</param>
    internal static Tensor[] Make(long b, long h, long l, long dk, long dv, ScalarType dtype, string gate, ulong seed, double betaScale = 1)
    {
        var g = new Generator(seed);
        Tensor R(params long[] shape) => randn(shape, dtype: ScalarType.Float64, generator: g);
        var logDecay = gate switch
        {
            "near1" => full(new[] { b, h, l, dk }, Math.Log(1 - 1e-6), dtype: ScalarType.Float64),
            "one" => zeros(new[] { b, h, l, dk }, dtype: ScalarType.Float64),
            "scalar" => (-nn.functional.softplus(R(b, h, l)) * 0.5 - 0.02).unsqueeze(-1).expand(b, h, l, dk).contiguous(),
            // log α ∈ (−20, −5): over a chunk of 64, e^{−G} alone would overflow even float64 (e^{800}).
            "strong" => -20 + 15 * rand(new[] { b, h, l, dk }, dtype: ScalarType.Float64, generator: g),
            _ => -8 * rand(new[] { b, h, l, dk }, dtype: ScalarType.Float64, generator: g).pow(3),
        };
        var k = nn.functional.normalize(R(b, h, l, dk), dim: -1);          // the layer feeds L2-normalised keys
        Tensor Leaf(Tensor t) => t.to(dtype).detach().requires_grad_(true);
        return new[] { Leaf(R(b, h, l, dk) / Math.Sqrt(dk)), Leaf(k), Leaf(R(b, h, l, dv)), Leaf(logDecay), Leaf(sigmoid(R(b, h, l)) * betaScale), Leaf(R(b, h, dk, dv) * 0.3) };
    }

    private static (Tensor O, Tensor S, Tensor[] Grads) Run(Tensor[] x, bool chunked, int chunk, bool withState = true, int subChunk = 4)
    {
        foreach (var t in x) t.grad?.zero_();
        var s0 = withState ? x[5] : null;
        var (o, s) = chunked
            ? GatedDeltaPerChannel.Chunked(x[0], x[1], x[2], x[3], x[4], s0, chunk, subChunk)
            : GatedDeltaPerChannel.Reference(x[0], x[1], x[2], x[3], x[4], s0);
        // A loss that weighs every output and state entry differently, so no gradient cancels by symmetry.
        var wo = linspace(-1, 1, o.numel(), dtype: o.dtype).reshape(o.shape);
        var ws = linspace(1, -0.5, s.numel(), dtype: s.dtype).reshape(s.shape);
        ((o * wo).sum() + (s * ws).sum()).backward();
        return (o.detach(), s.detach(), x.Take(withState ? 6 : 5).Select(t => t.grad!.clone()).ToArray());
    }

    [Theory]
    [InlineData(37, 16, "random", 1.0, true)]
    [InlineData(64, 16, "random", 1.0, true)]
    [InlineData(50, 7, "random", 2.0, true)]
    [InlineData(45, 32, "random", 1.0, false)]  // no initial state: the first chunk's reads of S are skipped
    [InlineData(9, 16, "random", 1.0, true)]    // shorter than one chunk: must still update the state
    [InlineData(45, 8, "near1", 1.0, true)]
    [InlineData(33, 16, "one", 2.0, true)]
    [InlineData(40, 16, "scalar", 1.0, true)]
    public void Chunked_equals_reference_in_float64(int length, int chunk, string gate, double betaScale, bool withState)
    {
        using var scope = NewDisposeScope();
        var x = Make(2, 3, length, 6, 5, ScalarType.Float64, gate, seed: (ulong)(length * 17 + chunk), betaScale);
        TestSupport.AssertSameRun(output, $"L {length} C {chunk} {gate} β×{betaScale} state {withState}", Run(x, chunked: false, chunk, withState), Run(x, chunked: true, chunk, withState), Names, 1e-10, 1e-9);
    }

    /// <summary>
    /// The secondary chunking of the relative decays (RelativeDecay.Scores): sub-chunks inside larger chunks, lengths
    /// neither divides, a chunk that is not the sub-chunk times a power of two, sub-chunks of 1 and of the whole chunk, and
    /// decays strong enough that any factorisation through e^{−G} would overflow.
    /// </summary>
    [Theory]
    [InlineData(45, 32, 8, "random", true)]
    [InlineData(45, 32, 8, "strong", true)]
    [InlineData(100, 64, 4, "strong", false)]
    [InlineData(70, 64, 2, "random", true)]
    [InlineData(50, 24, 8, "random", true)]   // 24 = 3 sub-chunks: padded to 4 inside
    [InlineData(37, 16, 1, "near1", true)]
    [InlineData(33, 16, 16, "one", true)]     // one sub-chunk: every relative decay materialised
    [InlineData(29, 8, 16, "random", true)]   // sub-chunk larger than the chunk
    public void Sub_chunked_equals_reference_in_float64(int length, int chunk, int subChunk, string gate, bool withState)
    {
        using var scope = NewDisposeScope();
        var x = Make(2, 3, length, 6, 5, ScalarType.Float64, gate, seed: (ulong)(length * 31 + chunk + subChunk));
        TestSupport.AssertSameRun(output, $"L {length} C {chunk} c {subChunk} {gate} state {withState}", Run(x, chunked: false, chunk, withState), Run(x, chunked: true, chunk, withState, subChunk), Names, 1e-12, 1e-12);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Equal_decays_across_key_dims_reduce_to_the_gated_delta_rule(bool chunked)
    {
        using var scope = NewDisposeScope();
        var x = Make(2, 2, 29, 4, 3, ScalarType.Float64, "scalar", seed: 3);
        var (o, s) = chunked
            ? GatedDeltaPerChannel.Chunked(x[0], x[1], x[2], x[3], x[4], x[5], chunkSize: 8)
            : GatedDeltaPerChannel.Reference(x[0], x[1], x[2], x[3], x[4], x[5]);
        var (go, gs) = GatedDelta.Reference(x[0], x[1], x[2], x[3][.., .., .., 0], x[4], x[5], erase: true);
        output.WriteLine($"chunked {chunked}: |Δo| {TestSupport.MaxAbsDiff(o, go):E2} |ΔS| {TestSupport.MaxAbsDiff(s, gs):E2}");
        Assert.True(TestSupport.MaxAbsDiff(o, go) < 1e-12, $"outputs differ by {TestSupport.MaxAbsDiff(o, go)}");
        Assert.True(TestSupport.MaxAbsDiff(s, gs) < 1e-12, $"states differ by {TestSupport.MaxAbsDiff(s, gs)}");
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

    [Fact]
    public void A_hand_computed_step_matches_the_equation()
    {
        // One head, K = 2, V = 1: S_1 = (I − β k kᵀ) Diag(α) S_0 + β k v.
        using var scope = NewDisposeScope();
        var dt = ScalarType.Float64;
        var s0 = tensor(new double[] { 1, 2 }, dtype: dt).reshape(1, 1, 2, 1);
        var k = tensor(new double[] { 0.6, 0.8 }, dtype: dt).reshape(1, 1, 1, 2);
        var q = tensor(new double[] { 1, -1 }, dtype: dt).reshape(1, 1, 1, 2);
        var v = tensor(new double[] { 3 }, dtype: dt).reshape(1, 1, 1, 1);
        var logDecay = tensor(new[] { Math.Log(0.5), Math.Log(0.25) }, dtype: dt).reshape(1, 1, 1, 2);
        var beta = tensor(new double[] { 0.5 }, dtype: dt).reshape(1, 1, 1);
        // Diag(α) S_0 = (0.5, 0.5); kᵀ that = 0.7; S_1 = (0.5, 0.5) + 0.5 (0.6, 0.8)(3 − 0.7) = (1.19, 1.42); o = 1.19 − 1.42.
        var (o, s) = GatedDeltaPerChannel.Reference(q, k, v, logDecay, beta, s0);
        Assert.Equal(1.19, s[0, 0, 0, 0].item<double>(), 12);
        Assert.Equal(1.42, s[0, 0, 1, 0].item<double>(), 12);
        Assert.Equal(-0.23, o[0, 0, 0, 0].item<double>(), 12);
    }
}
