using TorchSharp;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// The issue-16 baseline layers with the same weights under form "reference" (per-token loop) and form "chunked":
/// equal outputs, final states and parameter gradients in float64, starting from a non-zero state, at a length the
/// chunk does not divide. (Step == forward, halves == whole etc. are the contract kit's, via [ContractCase].)
/// </summary>
public sealed class BaselineLayerFormTests
{
    [Theory]
    [InlineData("retnet", "{\"heads\": 3, \"chunk_size\": 5}")]
    [InlineData("retnet", "{\"heads\": 2, \"chunk_size\": 5, \"positions\": \"rope\"}")]
    [InlineData("retnet", "{\"heads\": 2, \"chunk_size\": 5, \"positions\": \"rope\", \"short_conv\": true}")]
    [InlineData("mamba2", "{\"head_dim\": 8, \"d_state\": 6, \"chunk_size\": 5}")]
    [InlineData("gla", "{\"heads\": 2, \"chunk_size\": 5}")]
    [InlineData("gla", "{\"heads\": 2, \"chunk_size\": 5, \"short_conv\": true}")]
    [InlineData("hgrn2", "{\"expand_ratio\": 4, \"chunk_size\": 5, \"lower_bound\": 0.3}")]
    public void Chunked_form_equals_the_reference_form_in_float64(string layer, string options)
    {
        using var scope = NewDisposeScope();
        var registry = TestSupport.Registry();
        var reference = TestSupport.Float64Layer(registry, layer, options.Replace("}", ", \"form\": \"reference\"}"), 12, seed: 5);
        var chunked = TestSupport.Float64Layer(registry, layer, options, 12, seed: 5);
        var prefix = TestSupport.Input(2, 6, 12, seed: 6);
        var x = TestSupport.Input(2, 23, 12, seed: 7);
        (Tensor Y, Zoo.Core.Layers.LayerState S, Tensor[] Grads) Run(Zoo.Core.Layers.SequenceLayer m)
        {
            var (_, s0) = m.Forward(prefix);
            var (y, s) = m.Forward(x, s0);
            (y * linspace(-1, 1, y.numel(), dtype: y.dtype).reshape(y.shape)).sum().backward();
            return (y.detach(), s, m.parameters().Select(p => p.grad!.clone()).ToArray());
        }
        var (ry, rs, rg) = Run(reference);
        var (cy, cs, cg) = Run(chunked);
        Assert.True(TestSupport.MaxAbsDiff(ry, cy) < 1e-10, $"outputs differ by {TestSupport.MaxAbsDiff(ry, cy)}");
        Assert.True(TestSupport.MaxAbsDiff(rs["S"], cs["S"]) < 1e-10, $"states differ by {TestSupport.MaxAbsDiff(rs["S"], cs["S"])}");
        Assert.Equal(rg.Length, cg.Length);
        for (int i = 0; i < rg.Length; i++)
            Assert.True(TestSupport.MaxAbsDiff(rg[i], cg[i]) < 1e-9, $"gradient {i} differs by {TestSupport.MaxAbsDiff(rg[i], cg[i])}");
    }
}
