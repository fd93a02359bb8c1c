using TorchSharp;
using Xunit.Abstractions;
using Zoo.Core.Layers;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// The kda, gated-deltaproduct and gated-kalmanet layers with the same weights under form "reference" (per-token loops) and form
/// "chunked": equal outputs, final states and parameter gradients in float64, from a non-zero state, at a length the
/// chunk does not divide; and gated-deltaproduct with one Householder step and β ∈ (0, 1) is gated-deltanet.
/// (Step == forward, halves == whole etc. are the contract kit's, via [ContractCase].)
/// </summary>
public sealed class DeltaLayerFormTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("kda", "{\"chunk_size\": 5}")]
    [InlineData("kda", "{\"chunk_size\": 16, \"sub_chunk\": 2}")]
    [InlineData("kda", "{\"heads\": 3, \"key_dim\": 5, \"value_dim\": 3, \"gate_rank\": 2, \"chunk_size\": 4, \"allow_neg_eigval\": true}")]
    [InlineData("gated-deltaproduct", "{\"chunk_size\": 5}")]
    [InlineData("gated-deltaproduct", "{\"heads\": 3, \"key_dim\": 5, \"value_dim\": 3, \"householder\": 3, \"chunk_size\": 7}")]
    [InlineData("gated-kalmanet", "{\"chunk_size\": 5}")]
    [InlineData("gated-kalmanet", "{\"heads\": 3, \"key_dim\": 5, \"value_dim\": 3, \"chunk_size\": 7, \"solver\": \"exact\"}")]
    public void Chunked_form_equals_the_reference_form_in_float64(string layer, string options)
    {
        using var scope = NewDisposeScope();
        var registry = TestSupport.Registry();
        var reference = TestSupport.Float64Layer(registry, layer, options.Replace("}", ", \"form\": \"reference\"}"), 12, seed: 5);
        var chunked = TestSupport.Float64Layer(registry, layer, options, 12, seed: 5);
        var prefix = TestSupport.Input(2, 6, 12, seed: 6);
        var x = TestSupport.Input(2, 23, 12, seed: 7);
        (Tensor Y, LayerState S, Tensor[] Grads) Go(SequenceLayer m)
        {
            var (_, s0) = m.Forward(prefix);
            var (y, s) = m.Forward(x, s0);
            ((y * linspace(-1, 1, y.numel(), dtype: y.dtype).reshape(y.shape)).sum() + s["S"].sum()).backward();
            return (y.detach(), s, m.parameters().Select(p => p.grad!.clone()).ToArray());
        }
        var (ry, rs, rg) = Go(reference);
        var (cy, cs, cg) = Go(chunked);
        double dY = TestSupport.MaxAbsDiff(ry, cy), dS = TestSupport.MaxStateDiff(rs, cs);
        Assert.Equal(rg.Length, cg.Length);
        double dG = rg.Zip(cg).Max(p => TestSupport.MaxAbsDiff(p.First, p.Second));
        output.WriteLine($"{layer} {options}: |Δy| {dY:E2} |Δstate| {dS:E2} max |Δgrad| {dG:E2}");
        Assert.True(dY < 1e-10, $"outputs differ by {dY}");
        Assert.True(dS < 1e-10, $"states differ by {dS}");
        Assert.True(dG < 1e-9, $"parameter gradients differ by {dG}");
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"form\": \"reference\"}")]
    public void One_householder_step_is_gated_deltanet_with_the_same_weights(string form)
    {
        using var scope = NewDisposeScope();
        var registry = TestSupport.Registry();
        var gdn = TestSupport.Float64Layer(registry, "gated-deltanet", "{\"chunk_size\": 8}", 12, seed: 3);
        var options = "{\"householder\": 1, \"allow_neg_eigval\": false, \"chunk_size\": 8}";
        var gdp = TestSupport.Float64Layer(registry, "gated-deltaproduct", form == "{}" ? options : options.Replace("}", ", \"form\": \"reference\"}"), 12, seed: 4);
        // The same parameters under the same names, except that gated-deltanet's decay parameters sit in its features.
        static string Key(string name) => name.Replace("features.", "");
        var source = gdn.named_parameters().ToDictionary(p => Key(p.name), p => p.parameter);
        var targets = gdp.named_parameters().ToList();
        Assert.Equal(source.Keys.Order(), targets.Select(p => Key(p.name)).Order());
        using (no_grad())
            foreach (var (name, p) in targets) p.copy_(source[Key(name)]);
        var x = TestSupport.Input(2, 21, 12, seed: 9);
        var (y1, s1) = gdn.Forward(x);
        var (y2, s2) = gdp.Forward(x);
        output.WriteLine($"{form}: |Δy| {TestSupport.MaxAbsDiff(y1, y2):E2} |Δstate| {TestSupport.MaxStateDiff(s1, s2):E2}");
        Assert.True(TestSupport.MaxAbsDiff(y1, y2) < 1e-12, $"outputs differ by {TestSupport.MaxAbsDiff(y1, y2)}");
        Assert.True(TestSupport.MaxStateDiff(s1, s2) < 1e-12, $"states differ by {TestSupport.MaxStateDiff(s1, s2)}");
    }
}
