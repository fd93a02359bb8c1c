using Zoo.Core.Layers;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>The invariants of Memory Caching: reductions to the wrapped layer and between rules.</summary>
public sealed class MemoryCachingTests
{
    private const int D = 8;

    private static SequenceLayer Build(string json, long seed) => TestSupport.Float64Layer(TestSupport.Registry(), "memory-caching", json, D, seed);

    // Copies every parameter of `from` into the same-named parameter of `to` (an optional prefix maps the wrapped layer).
    private static void CopyParameters(SequenceLayer from, SequenceLayer to, string prefix = "")
    {
        var target = to.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var noGrad = no_grad();
        foreach (var (name, p) in from.named_parameters())
            if (target.TryGetValue(prefix + name, out var t)) t.copy_(p);
    }

    [Theory]
    [InlineData("residual", "gated-deltanet")]
    [InlineData("gated_residual", "gated-deltanet")]
    [InlineData("soup", "titans-lmm")]
    [InlineData("sparse_selective", "titans-lmm")]
    public void Segment_at_least_the_length_reduces_to_the_wrapped_layer(string rule, string baseName)
    {
        using var scope = NewDisposeScope();
        var baseOptions = "{\"chunk_size\": 4}";
        var wrapper = Build($"{{\"segment\": 16, \"rule\": \"{rule}\", \"base\": \"{baseName}\", \"base_options\": {baseOptions}}}", 1);
        var plain = TestSupport.Float64Layer(TestSupport.Registry(), baseName, baseOptions, D, 2);
        CopyParameters(plain, wrapper, "inner.");
        var x = TestSupport.Input(2, 11, D, seed: 3);
        Assert.True(TestSupport.MaxAbsDiff(wrapper.Forward(x).Output, plain.Forward(x).Output) < 1e-12);
    }

    [Theory]
    [InlineData("gated-deltanet")]
    [InlineData("titans-lmm")]
    public void Sparse_selective_reading_every_cache_equals_gated_residual(string baseName)
    {
        // With k ≥ the number of caches nothing is masked, so the softmax gates are the same.
        using var scope = NewDisposeScope();
        var grm = Build($"{{\"segment\": 3, \"rule\": \"gated_residual\", \"base\": \"{baseName}\", \"base_options\": {{\"chunk_size\": 2}}}}", 4);
        var ssc = Build($"{{\"segment\": 3, \"rule\": \"sparse_selective\", \"top_k\": 8, \"base\": \"{baseName}\", \"base_options\": {{\"chunk_size\": 2}}}}", 5);
        CopyParameters(grm, ssc);
        var x = TestSupport.Input(2, 14, D, seed: 6);
        Assert.True(TestSupport.MaxAbsDiff(grm.Forward(x).Output, ssc.Forward(x).Output) < 1e-12);
        var sparse = Build($"{{\"segment\": 3, \"rule\": \"sparse_selective\", \"top_k\": 1, \"base\": \"{baseName}\", \"base_options\": {{\"chunk_size\": 2}}}}", 5);
        CopyParameters(grm, sparse);
        Assert.True(TestSupport.MaxAbsDiff(grm.Forward(x).Output, sparse.Forward(x).Output) > 1e-8, "top-1 of 4 caches should differ");
    }

    [Fact]
    public void Soup_equals_gated_residual_for_a_linear_memory_but_not_for_a_deep_one()
    {
        using var scope = NewDisposeScope();
        var x = TestSupport.Input(2, 13, D, seed: 7);
        foreach (var (baseName, equal) in new[] { ("gated-deltanet", true), ("titans-lmm", false) })
        {
            var grm = Build($"{{\"segment\": 4, \"rule\": \"gated_residual\", \"base\": \"{baseName}\", \"base_options\": {{\"chunk_size\": 2}}}}", 8);
            var soup = Build($"{{\"segment\": 4, \"rule\": \"soup\", \"base\": \"{baseName}\", \"base_options\": {{\"chunk_size\": 2}}}}", 9);
            CopyParameters(grm, soup);
            var diff = TestSupport.MaxAbsDiff(grm.Forward(x).Output, soup.Forward(x).Output);
            Assert.True(equal ? diff < 1e-12 : diff > 1e-8, $"{baseName}: soup vs gated residual differ by {diff}");
        }
    }

    [Fact]
    public void State_grows_with_the_number_of_cached_segments()
    {
        var layer = Build("{\"segment\": 4}", 1);
        Assert.Equal(layer.StateSize(3), layer.StateSize(2));
        Assert.True(layer.StateSize(8) > layer.StateSize(4) && layer.StateSize(4) > layer.StateSize(3));
        using var scope = NewDisposeScope();
        var (_, state) = layer.Forward(TestSupport.Input(1, 9, D, seed: 1));
        Assert.Equal(2, state[2].item<long>());   // two full segments cached, one token online
        Assert.Equal(1, state[0].item<long>());
    }

    [Fact]
    public void Unknown_base_layer_names_the_allowed_ones()
    {
        var e = Assert.Throws<Zoo.Core.Options.ZooConfigException>(() =>
            TestSupport.Registry().BindLayerOptions("memory-caching", System.Text.Json.JsonDocument.Parse("{\"base\": \"lstm\"}").RootElement, D, "s.json", "layers[0].options"));
        Assert.Equal("layers[0].options.base", e.Field);
        Assert.Contains("gated-deltanet", e.Message);
        Assert.Contains("titans-lmm", e.Message);
        var nested = Assert.Throws<Zoo.Core.Options.ZooConfigException>(() =>
            TestSupport.Registry().BindLayerOptions("memory-caching", System.Text.Json.JsonDocument.Parse("{\"base_options\": {\"chunk_sise\": 2}}").RootElement, D, "s.json", "layers[0].options"));
        Assert.Contains("base_options.chunk_sise", nested.Message);
    }
}
