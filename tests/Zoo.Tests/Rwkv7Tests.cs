using TorchSharp;
using Xunit.Abstractions;
using Zoo.Core.Layers;
using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// RWKV-7's op, GeneralizedDelta (S_t = (Diag(w_t) − (a_t ⊙ κ̂_t) κ̂_tᵀ) S_{t−1} + k̃_t v_tᵀ): Chunked against the
/// per-token Reference in float64 (outputs, final state, every gradient including the initial state's; lengths the chunk
/// does not divide; decays spread over the key dims, near 1 and at 1; rates at 1), the reduction to DeltaNet, float32 by
/// relative RMSE, one step by hand; and the rwkv7 layer's chunked form against its reference form with the same weights.
/// </summary>
public sealed class Rwkv7Tests(ITestOutputHelper output)
{
    private static readonly string[] Names = { "r", "k", "v", "log_decay", "removal_key", "rate", "initial_state" };

    /// <param name="gate">"random": log w ∈ (−8, 0) varying per dim; "rwkv": RWKV-7's range (−e^−0.5, 0); "near1": w = 1 − 1e-6;
    /// "one": w = 1 and a = 1 (the full delta-rule removal, no decay).</param>
    private static Tensor[] Make(long b, long h, long l, long dk, long dv, ScalarType dtype, string gate, ulong seed)
    {
        var g = new Generator(seed);
        Tensor R(params long[] shape) => randn(shape, dtype: ScalarType.Float64, generator: g);
        Tensor U(params long[] shape) => rand(shape, dtype: ScalarType.Float64, generator: g);
        var logDecay = gate switch
        {
            "near1" => full(new[] { b, h, l, dk }, Math.Log(1 - 1e-6), dtype: ScalarType.Float64),
            "one" => zeros(new[] { b, h, l, dk }, dtype: ScalarType.Float64),
            "rwkv" => -Math.Exp(-0.5) * U(b, h, l, dk),
            // log w ∈ (−20, −5): over a chunk of 64, e^{−G} alone would overflow even float64 (e^{800}).
            "strong" => -20 + 15 * U(b, h, l, dk),
            _ => -8 * U(b, h, l, dk).pow(3),
        };
        var rate = gate == "one" ? ones(new[] { b, h, l, dk }, dtype: ScalarType.Float64) : U(b, h, l, dk);
        var removal = nn.functional.normalize(R(b, h, l, dk), dim: -1);        // the layer feeds L2-normalised removal keys
        Tensor Leaf(Tensor t) => t.to(dtype).detach().requires_grad_(true);
        return new[] { Leaf(R(b, h, l, dk) / Math.Sqrt(dk)), Leaf(R(b, h, l, dk) * 0.5), Leaf(R(b, h, l, dv)), Leaf(logDecay),
            Leaf(removal), Leaf(rate), Leaf(R(b, h, dk, dv) * 0.3) };
    }

    private static (Tensor O, Tensor S, Tensor[] Grads) Run(Tensor[] x, bool chunked, int chunk, bool withState = true, int subChunk = 4)
    {
        foreach (var t in x) t.grad?.zero_();
        var s0 = withState ? x[6] : null;
        var (o, s) = chunked
            ? GeneralizedDelta.Chunked(x[0], x[1], x[2], x[3], x[4], x[5], s0, chunk, subChunk)
            : GeneralizedDelta.Reference(x[0], x[1], x[2], x[3], x[4], x[5], s0);
        // A loss that weighs every output and state entry differently, so no gradient cancels by symmetry.
        var wo = linspace(-1, 1, o.numel(), dtype: o.dtype).reshape(o.shape);
        var ws = linspace(1, -0.5, s.numel(), dtype: s.dtype).reshape(s.shape);
        ((o * wo).sum() + (s * ws).sum()).backward();
        return (o.detach(), s.detach(), x.Take(withState ? 7 : 6).Select(t => t.grad!.clone()).ToArray());
    }

    [Theory]
    [InlineData(37, 16, "random", true)]
    [InlineData(64, 16, "random", true)]
    [InlineData(50, 7, "rwkv", true)]
    [InlineData(45, 32, "rwkv", false)]  // no initial state: the first chunk's reads of S are skipped
    [InlineData(5, 8, "rwkv", true)]     // shorter than one chunk: must still update the state
    [InlineData(45, 8, "near1", true)]
    [InlineData(33, 16, "one", true)]
    public void Chunked_equals_reference_in_float64(int length, int chunk, string gate, bool withState)
    {
        using var scope = NewDisposeScope();
        var x = Make(2, 3, length, 6, 5, ScalarType.Float64, gate, seed: (ulong)(length * 17 + chunk));
        TestSupport.AssertSameRun(output, $"L {length} C {chunk} {gate} state {withState}", Run(x, chunked: false, chunk, withState), Run(x, chunked: true, chunk, withState), Names, 1e-10, 1e-9);
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
    [InlineData(70, 64, 2, "rwkv", true)]
    [InlineData(50, 24, 8, "rwkv", true)]     // 24 = 3 sub-chunks: padded to 4 inside
    [InlineData(37, 16, 1, "near1", true)]
    [InlineData(33, 16, 16, "one", true)]     // one sub-chunk: every relative decay materialised
    [InlineData(29, 8, 16, "random", true)]   // sub-chunk larger than the chunk
    [InlineData(9, 1, 4, "rwkv", true)]       // chunks of one step
    public void Sub_chunked_equals_reference_in_float64(int length, int chunk, int subChunk, string gate, bool withState)
    {
        using var scope = NewDisposeScope();
        var x = Make(2, 3, length, 6, 5, ScalarType.Float64, gate, seed: (ulong)(length * 31 + chunk + subChunk));
        TestSupport.AssertSameRun(output, $"L {length} C {chunk} c {subChunk} {gate} state {withState}", Run(x, chunked: false, chunk, withState), Run(x, chunked: true, chunk, withState, subChunk), Names, 1e-12, 1e-12);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void No_decay_removal_key_equal_to_the_key_and_rate_beta_is_the_delta_rule(bool chunked)
    {
        // w = 1, κ̂ = k, a = β·1, k̃ = β k: S_t = (I − β k kᵀ) S_{t−1} + β k vᵀ, GatedDeltaPerChannel with log α = 0.
        using var scope = NewDisposeScope();
        var x = Make(2, 2, 29, 4, 3, ScalarType.Float64, "one", seed: 3);
        var (q, k, v, s0) = (x[0], x[4], x[2], x[6]);
        var beta = sigmoid(x[1][.., .., .., 0]);
        var rate = beta.unsqueeze(-1).expand_as(k);
        var zero = zeros_like(k);
        var (o, s) = chunked
            ? GeneralizedDelta.Chunked(q, k * rate, v, zero, k, rate, s0, chunkSize: 8)
            : GeneralizedDelta.Reference(q, k * rate, v, zero, k, rate, s0);
        var (go, gs) = GatedDeltaPerChannel.Reference(q, k, v, zero, beta, s0);
        output.WriteLine($"chunked {chunked}: |Δo| {TestSupport.MaxAbsDiff(o, go):E2} |ΔS| {TestSupport.MaxAbsDiff(s, gs):E2}");
        Assert.True(TestSupport.MaxAbsDiff(o, go) < 1e-12, $"outputs differ by {TestSupport.MaxAbsDiff(o, go)}");
        Assert.True(TestSupport.MaxAbsDiff(s, gs) < 1e-12, $"states differ by {TestSupport.MaxAbsDiff(s, gs)}");
    }

    [Fact]
    public void Chunked_in_float32_stays_close_to_the_float64_reference()
    {
        using var scope = NewDisposeScope();
        var x32 = Make(2, 2, 90, 16, 12, ScalarType.Float32, "rwkv", seed: 4);
        var x64 = Make(2, 2, 90, 16, 12, ScalarType.Float64, "rwkv", seed: 4);
        var (ro, rs, rg) = Run(x64, chunked: false, 8);
        var (co, cs, cg) = Run(x32, chunked: true, 8);
        static double Rel(Tensor r, Tensor f) => TestSupport.RelativeRmse(r, f);
        Assert.True(Rel(ro, co) < 1e-5, $"output relative RMSE {Rel(ro, co):E2}");
        Assert.True(Rel(rs, cs) < 1e-5, $"state relative RMSE {Rel(rs, cs):E2}");
        for (int i = 0; i < rg.Length; i++) Assert.True(Rel(rg[i], cg[i]) < 1e-4, $"grad {Names[i]} relative RMSE {Rel(rg[i], cg[i]):E2}");
    }

    [Fact]
    public void A_hand_computed_step_matches_the_equation()
    {
        // One head, K = 2, V = 1: S_1 = (Diag(w) − (a ⊙ κ̂) κ̂ᵀ) S_0 + k̃ v, o = S_1ᵀ r.
        using var scope = NewDisposeScope();
        var dt = ScalarType.Float64;
        Tensor T(params double[] values) => tensor(values, dtype: dt).reshape(1, 1, 1, values.Length);
        var s0 = tensor(new double[] { 1, 2 }, dtype: dt).reshape(1, 1, 2, 1);
        var (r, k, v) = (T(1, -1), T(1, 2), T(3));
        var (logDecay, removal, rate) = (T(Math.Log(0.5), Math.Log(0.25)), T(0.6, 0.8), T(0.5, 1));
        // Diag(w) S_0 = (0.5, 0.5); κ̂ᵀ S_0 = 2.2; a ⊙ κ̂ = (0.3, 0.8); S_1 = (0.5 − 0.66 + 3, 0.5 − 1.76 + 6) = (2.84, 4.74).
        var (o, s) = GeneralizedDelta.Reference(r, k, v, logDecay, removal, rate, s0);
        Assert.Equal(2.84, s[0, 0, 0, 0].item<double>(), 12);
        Assert.Equal(4.74, s[0, 0, 1, 0].item<double>(), 12);
        Assert.Equal(-1.90, o[0, 0, 0, 0].item<double>(), 12);
    }

    [Theory]
    [InlineData("{\"chunk_size\": 5}")]
    [InlineData("{\"chunk_size\": 16, \"sub_chunk\": 2}")]
    [InlineData("{\"heads\": 3, \"key_dim\": 5, \"value_dim\": 3, \"decay_rank\": 2, \"rate_rank\": 3, \"gate_rank\": 2, \"chunk_size\": 4}")]
    public void Layer_chunked_form_equals_the_reference_form_in_float64(string options)
    {
        var d = FormComparison.Compare("rwkv7", options, options.Replace("}", ", \"form\": \"reference\"}"), 12, prefix: 6, length: 23);
        output.WriteLine($"rwkv7 {options}: {d}");
        Assert.True(d.Output < 1e-10 && d.State < 1e-10, d.ToString());
        Assert.True(d.ParameterGrad < 1e-9 && d.InitialStateGrad < 1e-9, d.ToString());
    }

    [Fact]
    public void The_state_is_the_memory_and_the_previous_token()
    {
        using var scope = NewDisposeScope();
        var registry = TestSupport.Registry();
        var layer = (Rwkv7)registry.CreateLayer("rwkv7", 64, registry.BindLayerOptions("rwkv7", null, 64));
        Assert.Equal(2 * 32 * 32 + 64, layer.StateSize(100));
        var state = layer.InitialState(3, CPU, ScalarType.Float32);
        Assert.Equal(new long[] { 3, 2, 32, 32 }, state["S"].shape);
        Assert.Equal(new long[] { 3, 1, 64 }, state["shift"].shape);
    }
}
