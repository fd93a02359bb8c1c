using TorchSharp;
using Zoo.Core.Layers;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// The sequence-layer contract (DESIGN §2) for every built-in layer and the example plugin, in float64:
/// Step over the sequence == parallel Forward; two halves with carried state == whole; gradients reach every parameter.
/// </summary>
public sealed class LayerContractTests
{
    public static TheoryData<string, string> Cases => new()
    {
        { "lstm", "{}" },
        { "lstm", "{\"bias\": false}" },
        { "gru", "{}" },
        { "gru", "{\"bias\": false}" },
        { "attention", "{\"heads\": 2}" },
        { "attention", "{\"heads\": 1, \"positions\": \"none\"}" },
        { "attention", "{\"heads\": 2, \"window\": 3, \"persistent_tokens\": 2}" },
        { "attention", "{\"heads\": 2, \"window\": 1}" },
        { "titans-mal", "{\"memory\": {\"chunk_size\": 4}, \"attention\": {\"heads\": 2, \"window\": 4, \"persistent_tokens\": 2}}" },
        { "titans-mac", "{\"segment\": 4, \"memory\": {\"chunk_size\": 2}, \"attention\": {\"heads\": 2, \"persistent_tokens\": 2}}" },
        { "titans-mag", "{\"memory\": {\"chunk_size\": 3}, \"attention\": {\"heads\": 2, \"window\": 5, \"persistent_tokens\": 1}}" },
        { "leaky-rnn", "{}" },
        { "leaky-rnn", "{\"leak\": 1.0, \"activation\": \"relu\"}" },
        { "leaky-rnn", "{\"leak\": 0.5, \"activation\": \"leaky_relu\", \"adaptation_tau\": 4, \"adaptation_strength\": 0.7}" },
        { "leaky-rnn", "{\"leak\": 0.3, \"momentum\": 0.6}" },
        { "leaky-rnn", "{\"leak\": 0.3, \"momentum\": 0.6, \"adaptation_tau\": 3, \"adaptation_strength\": 1.5, \"activation\": \"relu\"}" },
        { "example-ema", "{}" },
        { "gated-deltanet", "{\"chunk_size\": 4}" },
        { "gated-deltanet", "{\"heads\": 3, \"key_dim\": 5, \"value_dim\": 3, \"chunk_size\": 8, \"output_gate\": false}" },
        { "gated-deltanet", "{\"form\": \"reference\", \"conv_size\": 2}" },
        { "gated-deltanet", "{\"short_conv\": false, \"chunk_size\": 64}" },
        { "deltanet", "{\"chunk_size\": 4}" },
        { "linear-attention", "{\"chunk_size\": 4}" },
        { "simple-gla", "{\"chunk_size\": 4, \"heads\": 4}" },
        { "titans-lmm", "{\"chunk_size\": 4}" },
        { "titans-lmm", "{\"chunk_size\": 1, \"depth\": 3, \"activation\": \"tanh\", \"heads\": 3, \"key_dim\": 5, \"value_dim\": 3}" },
        { "titans-lmm", "{\"chunk_size\": 4, \"form\": \"reference\"}" },
        { "titans-lmm", "{\"chunk_size\": 3, \"momentum\": false, \"forgetting\": false, \"output_gate\": false}" },
        { "memory-caching", "{\"segment\": 4, \"rule\": \"gated_residual\", \"base_options\": {\"chunk_size\": 4}}" },
        { "memory-caching", "{\"segment\": 3, \"rule\": \"residual\", \"base\": \"deltanet\", \"base_options\": {\"chunk_size\": 2}}" },
        { "memory-caching", "{\"segment\": 4, \"rule\": \"soup\", \"base\": \"titans-lmm\", \"base_options\": {\"chunk_size\": 2}}" },
        { "memory-caching", "{\"segment\": 2, \"rule\": \"sparse_selective\", \"top_k\": 1, \"reset_per_segment\": true, \"base_options\": {\"chunk_size\": 4}}" },
        { "mom", "{\"memories\": 3, \"top_k\": 2, \"memory\": {\"chunk_size\": 4}}" },
        { "mom", "{\"memories\": 4, \"top_k\": 1, \"shared_memory\": false, \"rule\": \"delta\", \"memory\": {\"heads\": 3, \"key_dim\": 5, \"value_dim\": 4, \"chunk_size\": 8}}" },
    };

    private const int D = 12;
    private const double Tol = 1e-10;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Step_over_sequence_equals_parallel_forward(string name, string options)
    {
        using var scope = NewDisposeScope();
        var layer = TestSupport.Float64Layer(TestSupport.Registry(withPlugin: true), name, options, D, seed: 1);
        var x = TestSupport.Input(3, 9, D, seed: 2);
        var (parallel, finalState) = layer.Forward(x);

        var state = layer.InitialState(3, x.device, x.dtype);
        var steps = new List<Tensor>();
        for (int t = 0; t < 9; t++)
        {
            var (y, next) = layer.Step(x[.., t], state);
            steps.Add(y);
            state = next;
        }
        var stepped = stack(steps, 1);
        Assert.Equal(parallel.shape, stepped.shape);
        Assert.True(TestSupport.MaxAbsDiff(parallel, stepped) < Tol, $"{name}: step vs forward differ by {TestSupport.MaxAbsDiff(parallel, stepped)}");
        var stateDiff = TestSupport.MaxStateDiff(finalState, state);
        Assert.True(stateDiff < Tol, $"{name}: final states differ by {stateDiff}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Two_halves_with_carried_state_equal_the_whole(string name, string options)
    {
        using var scope = NewDisposeScope();
        var layer = TestSupport.Float64Layer(TestSupport.Registry(withPlugin: true), name, options, D, seed: 3);
        var x = TestSupport.Input(2, 11, D, seed: 4);
        var (whole, wholeState) = layer.Forward(x);
        var (first, mid) = layer.Forward(x[.., ..5]);
        var (second, end) = layer.Forward(x[.., 5..], mid);
        var joined = cat(new[] { first, second }, 1);
        Assert.True(TestSupport.MaxAbsDiff(whole, joined) < Tol, $"{name}: halves differ by {TestSupport.MaxAbsDiff(whole, joined)}");
        var stateDiff = TestSupport.MaxStateDiff(wholeState, end);
        Assert.True(stateDiff < Tol, $"{name}: final states differ by {stateDiff}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradients_reach_every_parameter(string name, string options)
    {
        using var scope = NewDisposeScope();
        var layer = TestSupport.Float64Layer(TestSupport.Registry(withPlugin: true), name, options, D, seed: 5);
        var x = TestSupport.Input(2, 7, D, seed: 6);
        var (y, _) = layer.Forward(x);
        y.pow(2).sum().backward();
        foreach (var (pname, p) in layer.named_parameters())
        {
            Assert.True(p.grad is not null, $"{name}: {pname} got no gradient");
            Assert.True(p.grad!.abs().sum().item<double>() > 0, $"{name}: {pname} has an all-zero gradient");
            Assert.True(p.grad.isfinite().all().item<bool>(), $"{name}: {pname} has a non-finite gradient");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Layer_is_causal(string name, string options)
    {
        using var scope = NewDisposeScope();
        var layer = TestSupport.Float64Layer(TestSupport.Registry(withPlugin: true), name, options, D, seed: 7);
        var x = TestSupport.Input(1, 8, D, seed: 8);
        var changed = x.clone();
        changed[.., 5] += 1.0;
        var (a, _) = layer.Forward(x);
        var (b, _) = layer.Forward(changed);
        Assert.True(TestSupport.MaxAbsDiff(a[.., ..5], b[.., ..5]) < Tol, $"{name}: a future token changed past outputs");
        Assert.True(TestSupport.MaxAbsDiff(a[.., 5..], b[.., 5..]) > 1e-8, $"{name}: the changed token had no effect");
    }

    [Fact]
    public void Attention_state_size_grows_with_length_recurrent_layers_do_not()
    {
        var registry = TestSupport.Registry();
        var attention = TestSupport.Float64Layer(registry, "attention", "{}", D, 0);
        var lstm = TestSupport.Float64Layer(registry, "lstm", "{}", D, 0);
        Assert.Equal(2 * 100 * D, attention.StateSize(100));
        Assert.Equal(2 * 200 * D, attention.StateSize(200));
        Assert.Equal(lstm.StateSize(100), lstm.StateSize(200));
    }
}
