using TorchSharp;
using Zoo.Layers.DeepMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// Titans' memory: the chunked closed form against the per-token autograd reference with the same gradient-chunk
/// semantics (chunk size 1 is the exact per-token recurrence), in float64, outputs, final state and outer gradients.
/// </summary>
public sealed class NeuralMemoryTests
{
    private sealed record Case(Tensor Q, Tensor K, Tensor V, Tensor Theta, Tensor Eta, Tensor Alpha, Tensor[] W0)
    {
        public Tensor[] Leaves => new[] { Q, K, V, Theta, Eta, Alpha }.Concat(W0).ToArray();

        public NeuralMemoryState Initial() =>
            new(W0.ToArray(), W0.Select(w => zeros_like(w)).ToArray(), W0.ToArray(), 0);
    }

    private static Case Make(long l, int depth, ulong seed, long b = 2, long h = 2, long dk = 4, long dh = 6, long dv = 3)
    {
        var g = new Generator(seed);
        Tensor R(params long[] shape) => randn(shape, dtype: ScalarType.Float64, generator: g);
        Tensor Leaf(Tensor t) => t.detach().requires_grad_(true);
        var dims = new List<long> { dk };
        for (int i = 0; i < depth - 1; i++) dims.Add(dh);
        dims.Add(dv);
        var w0 = Enumerable.Range(0, depth).Select(i => Leaf(R(b, h, dims[i + 1], dims[i]) / Math.Sqrt(dims[i]))).ToArray();
        return new Case(Leaf(R(b, h, l, dk)), Leaf(nn.functional.normalize(R(b, h, l, dk), dim: -1)), Leaf(R(b, h, l, dv)),
            Leaf(sigmoid(R(b, h, l)) * 0.3), Leaf(sigmoid(R(b, h, l) + 1)), Leaf(sigmoid(R(b, h, l) - 3)), w0);
    }

    private static (Tensor O, Tensor[] W, Tensor[] S, Tensor[] Grads) Run(Case c, bool chunked, int chunk, MemoryActivation act, bool momentum = true)
    {
        foreach (var t in c.Leaves) t.grad?.zero_();
        var eta = momentum ? c.Eta : zeros_like(c.Eta);
        var (o, st) = chunked
            ? NeuralMemory.Chunked(c.Q, c.K, c.V, c.Theta, eta, c.Alpha, c.Initial(), chunk, act, momentum)
            : NeuralMemory.Reference(c.Q, c.K, c.V, c.Theta, eta, c.Alpha, c.Initial(), chunk, act);
        var loss = (o * linspace(-1, 1, o.numel(), dtype: o.dtype).reshape(o.shape)).sum()
                 + st.Weights.Select((w, i) => (w * (i + 1)).sum()).Aggregate((a, x) => a + x);
        loss.backward();
        return (o.detach(), st.Weights.Select(w => w.detach()).ToArray(), st.Momentum.Select(x => x.detach()).ToArray(),
            c.Leaves.Select(t => t.grad is null ? zeros_like(t) : t.grad.clone()).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_soup_read_is_the_mlp_with_the_mixed_per_token_weights(bool chunked)
    {
        // Memory Caching's soup (ISoupMemory): token t reads the MLP whose weights are γ_t,online W_t + γ_t,1 W⁽¹⁾, with
        // W_t the online weights after token t — built here explicitly from the reference's state after each prefix.
        using var scope = NewDisposeScope();
        const int L = 7, Chunk = 3;
        var act = MemoryActivation.Silu;
        var c = Make(L, 2, 41);
        var g = new Generator(42);
        var cached = c.W0.Select(w => randn(w.shape, dtype: ScalarType.Float64, generator: g) * 0.4).ToArray();
        var gamma = softmax(randn(new long[] { 2, L, 2 }, dtype: ScalarType.Float64, generator: g), -1);   // [B, L, cached + online]
        Tensor Weight(long start, long n, int i) => gamma[.., (int)start..(int)(start + n), i][.., TensorIndex.None, .., TensorIndex.None];
        Tensor Mix(int layer, Tensor input, Tensor online, long start) =>
            Weight(start, input.shape[2], 1) * online + Weight(start, input.shape[2], 0) * input.matmul(cached[layer].transpose(-1, -2));
        var (o, _) = chunked
            ? NeuralMemory.Chunked(c.Q, c.K, c.V, c.Theta, c.Eta, c.Alpha, c.Initial(), Chunk, act, mix: Mix)
            : NeuralMemory.Reference(c.Q, c.K, c.V, c.Theta, c.Eta, c.Alpha, c.Initial(), Chunk, act, mix: Mix);
        for (int t = 0; t < L; t++)
        {
            var upTo = TensorIndex.Slice(0, t + 1);
            var (_, after) = NeuralMemory.Reference(c.Q[.., .., upTo], c.K[.., .., upTo], c.V[.., .., upTo], c.Theta[.., .., upTo],
                c.Eta[.., .., upTo], c.Alpha[.., .., upTo], c.Initial(), Chunk, act);
            var w = after.Weights.Select((wt, l) => Weight(t, 1, 1) * wt + Weight(t, 1, 0) * cached[l]).ToArray();   // [B, 1, 1, 1] weights
            var expected = NeuralMemory.Apply(w, c.Q[.., .., t], act);
            Assert.True(TestSupport.MaxAbsDiff(o[.., .., t], expected) < 1e-12, $"token {t}: {TestSupport.MaxAbsDiff(o[.., .., t], expected)}");
        }
        var (plain, _) = NeuralMemory.Chunked(c.Q, c.K, c.V, c.Theta, c.Eta, c.Alpha, c.Initial(), Chunk, act);
        Assert.True(TestSupport.MaxAbsDiff(o, plain) > 1e-6, "the cached memory must change the read");
    }

    [Theory]
    [InlineData(9, 1, 2, "silu")]      // chunk size 1: the exact per-token recurrence
    [InlineData(9, 1, 3, "tanh")]
    [InlineData(21, 4, 2, "silu")]     // 21 = 5 chunks of 4 + 1
    [InlineData(30, 16, 2, "tanh")]
    [InlineData(5, 16, 3, "silu")]     // shorter than one chunk: the memory must still be updated
    public void Chunked_closed_form_equals_the_autograd_reference(int length, int chunk, int depth, string activation)
    {
        using var scope = NewDisposeScope();
        var act = activation == "silu" ? MemoryActivation.Silu : MemoryActivation.Tanh;
        var c = Make(length, depth, (ulong)(length * 7 + chunk));
        var (ro, rw, rs, rg) = Run(c, chunked: false, chunk, act);
        var (co, cw, cs, cg) = Run(c, chunked: true, chunk, act);
        Assert.True(TestSupport.MaxAbsDiff(ro, co) < 1e-10, $"outputs differ by {TestSupport.MaxAbsDiff(ro, co)}");
        for (int i = 0; i < depth; i++)
        {
            Assert.True(TestSupport.MaxAbsDiff(rw[i], cw[i]) < 1e-10, $"weights {i} differ by {TestSupport.MaxAbsDiff(rw[i], cw[i])}");
            Assert.True(TestSupport.MaxAbsDiff(rs[i], cs[i]) < 1e-10, $"momentum {i} differs");
        }
        for (int i = 0; i < rg.Length; i++)
            Assert.True(TestSupport.MaxAbsDiff(rg[i], cg[i]) < 1e-8, $"outer gradient {i} differs by {TestSupport.MaxAbsDiff(rg[i], cg[i])}");
        Assert.True(TestSupport.MaxAbsDiff(cw[0], c.W0[0]) > 1e-6, "memory was not updated");
    }

    [Fact]
    public void Without_momentum_the_update_is_plain_gradient_descent_with_decay()
    {
        using var scope = NewDisposeScope();
        var c = Make(13, 2, 5);
        var (ro, rw, _, _) = Run(c, chunked: false, 4, MemoryActivation.Silu, momentum: false);
        var (co, cw, _, _) = Run(c, chunked: true, 4, MemoryActivation.Silu, momentum: false);
        Assert.True(TestSupport.MaxAbsDiff(ro, co) < 1e-10);
        Assert.True(TestSupport.MaxAbsDiff(rw[1], cw[1]) < 1e-10);
    }

    [Fact]
    public void Saturated_gates_keep_the_chunked_form_finite_and_equal_to_the_reference()
    {
        // Forgetting α = 1 (1 − α = 0) and momentum η = 0 on some tokens, as float32 sigmoids give once they saturate: the
        // chunked scans take logs of these, which must not turn into −∞ − (−∞) = NaN, in values or in gradients.
        using var scope = NewDisposeScope();
        var c = Make(21, 2, 17);
        using (no_grad())
        {
            c.Alpha[.., .., 5].fill_(1.0);
            c.Alpha[.., .., 6].fill_(1.0);
            c.Eta[.., .., 9].fill_(0.0);
            c.Eta[.., .., 10].fill_(0.0);
        }
        var (ro, rw, _, rg) = Run(c, chunked: false, 4, MemoryActivation.Silu);
        var (co, cw, _, cg) = Run(c, chunked: true, 4, MemoryActivation.Silu);
        Assert.True(isfinite(co).all().item<bool>() && cg.All(g => isfinite(g).all().item<bool>()), "non-finite output or gradient");
        Assert.True(TestSupport.MaxAbsDiff(ro, co) < 1e-9, $"outputs differ by {TestSupport.MaxAbsDiff(ro, co)}");
        Assert.True(TestSupport.MaxAbsDiff(rw[0], cw[0]) < 1e-9);
        // The gradients of the saturated gates themselves go through the floor, so compare the others.
        for (int i = 0; i < 3; i++)
            Assert.True(TestSupport.MaxAbsDiff(rg[i], cg[i]) < 1e-7, $"outer gradient {i} differs by {TestSupport.MaxAbsDiff(rg[i], cg[i])}");
    }

    [Fact]
    public void Chunk_boundaries_follow_the_carried_position()
    {
        // Chunked over [0, 6) then [6, 19) with the carried state (mid-chunk at 6 for C = 4) equals one call over [0, 19).
        using var scope = NewDisposeScope();
        var c = Make(19, 2, 9);
        using var noGrad = no_grad();
        var (whole, ws) = NeuralMemory.Chunked(c.Q, c.K, c.V, c.Theta, c.Eta, c.Alpha, c.Initial(), 4, MemoryActivation.Silu);
        var first = TensorIndex.Slice(0, 6);
        var rest = TensorIndex.Slice(6, 19);
        var (a, mid) = NeuralMemory.Chunked(c.Q[.., .., first], c.K[.., .., first], c.V[.., .., first], c.Theta[.., .., first], c.Eta[.., .., first], c.Alpha[.., .., first], c.Initial(), 4, MemoryActivation.Silu);
        Assert.Equal(6, mid.Position);
        var (b, end) = NeuralMemory.Chunked(c.Q[.., .., rest], c.K[.., .., rest], c.V[.., .., rest], c.Theta[.., .., rest], c.Eta[.., .., rest], c.Alpha[.., .., rest], mid, 4, MemoryActivation.Silu);
        Assert.True(TestSupport.MaxAbsDiff(whole, cat(new[] { a, b }, 2)) < 1e-10);
        Assert.True(TestSupport.MaxAbsDiff(ws.Weights[0], end.Weights[0]) < 1e-10);
    }
}

/// <summary>Titans' memory at its default options stays bounded on long random input (the default inner step once diverged).</summary>
public sealed class TitansStabilityTests
{
    [Theory]
    [InlineData("titans-lmm", null)]
    [InlineData("titans-lmm", "{\"heads\": 4}")]            // value dim 16: the default inner step is 1/16
    [InlineData("titans-lmm", "{\"residual_norm\": true}")]
    [InlineData("titans-mac", null)]
    public void Default_memory_stays_finite_and_bounded_over_512_tokens(string name, string? json)
    {
        var registry = TestSupport.Registry();
        var options = registry.BindLayerOptions(name, json is null ? null : System.Text.Json.JsonDocument.Parse(json).RootElement, 64);
        manual_seed(11);
        using var layer = registry.CreateLayer(name, 64, options);
        using var x = TestSupport.Input(2, 512, 64, seed: 5, dtype: ScalarType.Float32);
        var (y, state) = layer.Forward(x);
        Assert.False(y.isnan().any().item<bool>() || y.isinf().any().item<bool>(), "non-finite output");
        var initial = layer.InitialState(2, x.device, x.dtype);
        // The memory weights move, but stay within a small multiple of their initial size.
        var memory = name == "titans-mac" ? state.Child("memory") : state;
        var initialMemory = name == "titans-mac" ? initial.Child("memory") : initial;
        double before = initialMemory.Child("weights")["0"].norm().item<float>(), after = memory.Child("weights")["0"].norm().item<float>();
        Assert.True(after < 10 * before, $"memory weights grew from {before:F2} to {after:F2}");
        Assert.True(y.abs().max().item<float>() < 100, $"output reached {y.abs().max().item<float>():F1}");
    }
}

/// <summary>
/// titans-pytorch's memory model M(x) = LayerNorm(MLP(x)) + x: the chunked closed form (LayerNorm backward written out)
/// against the per-token autograd reference, in float64.
/// </summary>
public sealed class NeuralMemoryResidualNormTests
{
    [Theory]
    [InlineData(9, 1, 2)]
    [InlineData(21, 4, 2)]
    [InlineData(13, 16, 3)]
    public void Chunked_closed_form_equals_the_autograd_reference_with_the_residual_norm(int length, int chunk, int depth)
    {
        using var scope = NewDisposeScope();
        var g = new Generator((ulong)(length * 13 + chunk));
        Tensor Leaf(params long[] shape) => randn(shape, dtype: ScalarType.Float64, generator: g).requires_grad_(true);
        long b = 2, h = 2, d = 4, hidden = 6;
        var dims = new List<long> { d };
        for (int i = 0; i < depth - 1; i++) dims.Add(hidden);
        dims.Add(d);
        var w0 = Enumerable.Range(0, depth).Select(i => (randn(new[] { b, h, dims[i + 1], dims[i] }, dtype: ScalarType.Float64, generator: g) / Math.Sqrt(dims[i])).requires_grad_(true)).ToArray();
        var q = Leaf(b, h, length, d);
        var k = nn.functional.normalize(randn(new[] { b, h, (long)length, d }, dtype: ScalarType.Float64, generator: g), dim: -1).requires_grad_(true);
        var v = Leaf(b, h, length, d);
        var theta = (sigmoid(randn(new[] { b, h, (long)length }, dtype: ScalarType.Float64, generator: g)) * 0.3).detach().requires_grad_(true);
        var eta = sigmoid(randn(new[] { b, h, (long)length }, dtype: ScalarType.Float64, generator: g) + 1).detach().requires_grad_(true);
        var alpha = sigmoid(randn(new[] { b, h, (long)length }, dtype: ScalarType.Float64, generator: g) - 3).detach().requires_grad_(true);
        var leaves = new[] { q, k, v, theta, eta, alpha }.Concat(w0).ToArray();
        (Tensor O, Tensor W, Tensor[] Grads) Run(bool chunked)
        {
            foreach (var t in leaves) t.grad?.zero_();
            var initial = new NeuralMemoryState(w0.ToArray(), w0.Select(w => zeros_like(w)).ToArray(), w0.ToArray(), 0);
            var (o, st) = chunked
                ? NeuralMemory.Chunked(q, k, v, theta, eta, alpha, initial, chunk, MemoryActivation.Silu, residualNorm: true)
                : NeuralMemory.Reference(q, k, v, theta, eta, alpha, initial, chunk, MemoryActivation.Silu, residualNorm: true);
            var loss = (o * linspace(-1, 1, o.numel(), dtype: o.dtype).reshape(o.shape)).sum() + st.Weights.Select((w, i) => (w * (i + 1)).sum()).Aggregate((a, x) => a + x);
            loss.backward();
            return (o.detach(), st.Weights[0].detach(), leaves.Select(t => t.grad!.clone()).ToArray());
        }
        var (ro, rw, rg) = Run(chunked: false);
        var (co, cw, cg) = Run(chunked: true);
        Assert.True(TestSupport.MaxAbsDiff(ro, co) < 1e-10, $"outputs differ by {TestSupport.MaxAbsDiff(ro, co)}");
        Assert.True(TestSupport.MaxAbsDiff(rw, cw) < 1e-10, $"weights differ by {TestSupport.MaxAbsDiff(rw, cw)}");
        for (int i = 0; i < rg.Length; i++)
            Assert.True(TestSupport.MaxAbsDiff(rg[i], cg[i]) < 1e-8, $"outer gradient {i} differs by {TestSupport.MaxAbsDiff(rg[i], cg[i])}");
        // The wrapper is really there: the read differs from the plain MLP's.
        using var noGrad = no_grad();
        var plain = NeuralMemory.Apply(w0, q, MemoryActivation.Silu);
        Assert.True(TestSupport.MaxAbsDiff(plain + q, NeuralMemory.Apply(w0, q, MemoryActivation.Silu, residualNorm: true)) > 1e-3);
    }
}

/// <summary>
/// Why momentum stays capped (momentum_max 0.5; the paper leaves η free): momentum multiplies the inner step by
/// 1/(1 − η), and at the default inner step the memory written with η near 1 — where outer training pushed it — grows
/// without bound, while η ≤ 0.5 keeps it near its initial size.
/// </summary>
public sealed class NeuralMemoryMomentumCapTests
{
    [Fact]
    public void Momentum_near_one_blows_the_memory_up_at_the_default_inner_step_and_the_cap_keeps_it_bounded()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var g = new Generator(3);
        long b = 1, h = 2, l = 256, d = 32, hidden = 64;        // titans-lmm's default head at d_model 64
        var k = nn.functional.normalize(randn(new[] { b, h, l, d }, generator: g), dim: -1);
        var q = nn.functional.normalize(randn(new[] { b, h, l, d }, generator: g), dim: -1);
        var v = nn.functional.silu(randn(new[] { b, h, l, d }, generator: g));
        var w0 = new[] { randn(new[] { b, h, hidden, d }, generator: g) / Math.Sqrt(d), randn(new[] { b, h, d, hidden }, generator: g) / Math.Sqrt(hidden) };
        var theta = full(new[] { b, h, l }, new TitansMemoryOptions().InnerLrFor(64));   // the largest default step
        var alpha = full(new[] { b, h, l }, 0.007);                                       // the default forgetting at init
        double Growth(double eta)
        {
            var initial = new NeuralMemoryState(w0, w0.Select(w => zeros_like(w)).ToArray(), w0, 0);
            var (o, st) = NeuralMemory.Chunked(q, k, v, theta, full(new[] { b, h, l }, eta), alpha, initial, 16, MemoryActivation.Silu);
            double n = st.Weights[1].norm().item<float>() / w0[1].norm().item<float>();
            return double.IsFinite(n) && isfinite(o).all().item<bool>() ? n : double.PositiveInfinity;
        }
        double capped = Growth(0.5), free = Growth(0.99);
        Assert.True(capped < 3, $"with η = 0.5 the memory grew {capped:F1}×");
        Assert.True(free > 10 * capped, $"with η = 0.99 the memory grew only {free:F1}× (capped: {capped:F1}×)");
    }
}
