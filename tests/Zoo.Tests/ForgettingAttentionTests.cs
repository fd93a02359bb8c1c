using TorchSharp;
using Xunit.Abstractions;
using Zoo.Layers.Attention;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// Forgetting Attention (FoX): the parallel form against eq. 6 written with products of gates, against the per-token
/// reference, and with every gate at 1 against causal attention with the same weights.
/// </summary>
public sealed class ForgettingAttentionTests(ITestOutputHelper output)
{
    [Fact]
    public void Parallel_form_is_eq_6_with_products_of_forget_gates()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(8);
        long b = 1, h = 2, l = 5, d = 3;
        var q = randn(new[] { b, h, l, d }, dtype: ScalarType.Float64, generator: gen);
        var k = randn(new[] { b, h, l, d }, dtype: ScalarType.Float64, generator: gen);
        var v = randn(new[] { b, h, l, d }, dtype: ScalarType.Float64, generator: gen);
        var f = rand(new[] { b, h, l }, dtype: ScalarType.Float64, generator: gen) * 0.9 + 0.05;
        var empty = zeros(new[] { b, h, 0, d }, dtype: ScalarType.Float64);
        var (o, _) = ForgettingAttention.Parallel(q, k, v, f.log(), empty, empty, zeros(new[] { b, h, 0L }, dtype: ScalarType.Float64));
        for (long head = 0; head < h; head++)
            for (long i = 0; i < l; i++)
            {
                var num = zeros(new[] { d }, dtype: ScalarType.Float64);
                var den = zeros(1, dtype: ScalarType.Float64);
                for (long j = 0; j <= i; j++)
                {
                    var gate = ones(1, dtype: ScalarType.Float64);
                    for (long t = j + 1; t <= i; t++) gate = gate * f[0, head, t];            // F_ij = Π_{l=j+1}^{i} f_l
                    var w = gate * ((q[0, head, i] * k[0, head, j]).sum() / Math.Sqrt(d)).exp();
                    num = num + w * v[0, head, j];
                    den = den + w;
                }
                Assert.True(TestSupport.MaxAbsDiff(o[0, head, i], num / den) < 1e-12, $"head {head}, query {i}");
            }
    }

    [Theory]
    [InlineData("{\"heads\": 2}", 11)]
    [InlineData("{\"heads\": 3, \"output_gate\": true, \"output_norm\": true, \"qk_norm\": true, \"kv_shift\": true}", 9)]
    public void Parallel_form_equals_the_reference_in_float64(string options, long length)
    {
        var d = FormComparison.Compare("forgetting-attention", options, options.Replace("}", ", \"form\": \"reference\"}"), 12, prefix: 5, length);
        output.WriteLine($"forgetting-attention {options} L {length}: {d}");
        Assert.True(d.Max < 1e-10, d.ToString());
    }

    [Fact]
    public void Gates_at_one_give_causal_attention_with_the_same_weights()
    {
        using var scope = NewDisposeScope();
        var registry = TestSupport.Registry();
        var fox = TestSupport.Float64Layer(registry, "forgetting-attention", "{\"heads\": 2}", 12, seed: 3);
        var attention = TestSupport.Float64Layer(registry, "attention", "{\"heads\": 2, \"positions\": \"none\"}", 12, seed: 4);
        var foxParams = fox.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (no_grad())
        {
            foreach (var (name, p) in attention.named_parameters()) p.copy_(foxParams[name]);     // qkv.weight, proj.weight
            foxParams["fgate.weight"].zero_();
            foxParams["fgate.bias"].fill_(1000.0);                                            // log σ(1000) = −e^−1000 = 0 in float64
        }
        var x = TestSupport.Input(2, 9, 12, seed: 5);
        var (a, sa) = attention.Forward(x[.., ..4]);
        var (f, sf) = fox.Forward(x[.., ..4]);
        Assert.True(TestSupport.MaxAbsDiff(a, f) < 1e-12);
        Assert.True(TestSupport.MaxAbsDiff(attention.Forward(x[.., 4..], sa).Output, fox.Forward(x[.., 4..], sf).Output) < 1e-12);
        Assert.True(TestSupport.MaxAbsDiff(sf["log_f"], zeros_like(sf["log_f"])) == 0);
    }

    [Fact]
    public void Forget_bias_sets_the_gates_at_initialisation()
    {
        using var scope = NewDisposeScope();
        var registry = TestSupport.Registry();
        using var options = System.Text.Json.JsonDocument.Parse("{\"forget_bias\": 4}");
        var fox = registry.CreateLayer("forgetting-attention", 12, registry.BindLayerOptions("forgetting-attention", options.RootElement, 12));
        fox.to(ScalarType.Float64);
        var gate = fox.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.All(gate["fgate.bias"].data<double>().ToArray(), b => Assert.Equal(4.0, b));
        using (no_grad()) gate["fgate.weight"].zero_();
        var (_, s) = fox.Forward(TestSupport.Input(1, 5, 12, seed: 2));
        // key j's bias to the next query is Σ_{l=j+1}^{5} log f_l = (4 − j) log σ(4), j = 0 … 4
        double logF = -Math.Log(1 + Math.Exp(-4.0));
        var expected = Enumerable.Range(0, 5).Select(j => (4 - j) * logF).ToArray();
        var actual = s["log_f"][0, 0].data<double>().ToArray();
        for (int j = 0; j < 5; j++) Assert.Equal(expected[j], actual[j], 12);
    }

    [Fact]
    public void State_grows_with_the_sequence_like_attention()
    {
        using var scope = NewDisposeScope();
        var fox = TestSupport.Float64Layer(TestSupport.Registry(), "forgetting-attention", "{\"heads\": 2}", 12, seed: 1);
        var (_, s) = fox.Forward(TestSupport.Input(1, 7, 12, seed: 2));
        Assert.Equal(new long[] { 1, 2, 7, 6 }, s["k"].shape);
        Assert.Equal(new long[] { 1, 2, 7 }, s["log_f"].shape);
        Assert.Equal(2 * 7 * 12 + 2 * 7, fox.StateSize(7));
        Assert.Equal(2 * fox.StateSize(7), fox.StateSize(14));
    }
}
