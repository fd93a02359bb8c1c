using Zoo.Core.Layers;
using Zoo.Core.Registry;
using Zoo.Layers.Caching;
using Zoo.Runner;
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

    [Theory]
    [InlineData("residual", 2, 32)]
    [InlineData("gated_residual", 2, 32)]
    [InlineData("soup", 2, 32)]
    [InlineData("sparse_selective", 1, 32)]
    [InlineData("sparse_selective", 2, 32)]
    [InlineData("sparse_selective", 1, 0)]
    [InlineData("sparse_selective", 2, 0)]
    [InlineData("sparse_selective", 9, 0)]
    public void Batched_cache_reads_equal_reading_each_cache_in_outputs_state_and_gradients(string rule, int topK, int gatherAbove)
    {
        using var scope = NewDisposeScope();
        // Segment 3 over 6 + 14 tokens: the second call starts mid-segment with two caches carried in, ends with six.
        var json = $"{{\"segment\": 3, \"rule\": \"{rule}\", \"top_k\": {topK}, \"base_options\": {{\"chunk_size\": 2}}}}";
        var batched = (MemoryCaching)Build(json, 4);
        var each = (MemoryCaching)Build(json, 4);
        CopyParameters(batched, each);
        each.Reads = CacheReads.Each;
        batched.GatherAbove = gatherAbove;                                            // 0: gather from the first cache on
        LayerState s0;
        using (no_grad()) (_, s0) = batched.Forward(TestSupport.Input(2, 7, D, seed: 5));
        Assert.Equal(2, s0.Child("caches").Children.Count());
        var x = TestSupport.Input(2, 14, D, seed: 6).requires_grad_(true);
        var xe = x.detach().clone().requires_grad_(true);
        var (yb, sb) = batched.Forward(x, s0);
        var (ye, se) = each.Forward(xe, s0);
        Assert.True(TestSupport.MaxAbsDiff(yb, ye) < 1e-12, $"outputs differ by {TestSupport.MaxAbsDiff(yb, ye)}");
        Assert.True(TestSupport.MaxStateDiff(sb, se) < 1e-12, $"states differ by {TestSupport.MaxStateDiff(sb, se)}");
        var probe = TestSupport.Input(2, 14, D, seed: 7);
        (yb * probe).sum().backward();
        (ye * probe).sum().backward();
        Assert.True(TestSupport.MaxAbsDiff(x.grad!, xe.grad!) < 1e-12, $"input gradients differ by {TestSupport.MaxAbsDiff(x.grad!, xe.grad!)}");
        var eachParams = each.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in batched.named_parameters())
        {
            if (p.grad is null) { Assert.Null(eachParams[name].grad); continue; }
            var diff = TestSupport.MaxAbsDiff(p.grad, eachParams[name].grad!);
            Assert.True(diff < 1e-12, $"gradient of {name} differs by {diff}");
        }
    }

    [Fact]
    public void The_residual_rule_carries_the_sum_of_its_cached_memories()
    {
        using var scope = NewDisposeScope();
        var layer = Build("{\"segment\": 3, \"rule\": \"residual\", \"base_options\": {\"chunk_size\": 2}}", 4);
        var (_, state) = layer.Forward(TestSupport.Input(2, 10, D, seed: 5));
        var caches = state.Child("caches").Children.Select(c => c.State.Child("memory")["S"]).ToList();
        Assert.Equal(3, caches.Count);
        Assert.True(TestSupport.MaxAbsDiff(state["cache_sum"], caches[0] + caches[1] + caches[2]) < 1e-12);
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
        Assert.Equal(new[] { "0", "1" }, state.Child("caches").Children.Select(c => c.Name));   // two full segments cached, one token online
        Assert.Equal(1, state.Counter("position"));
    }

    [Fact]
    public void Unknown_base_layer_names_the_allowed_ones()
    {
        var e = Assert.Throws<Zoo.Core.Options.ZooConfigException>(() =>
            TestSupport.Registry().BindLayerOptions("memory-caching", System.Text.Json.JsonDocument.Parse("{\"base\": \"lstm\"}").RootElement, D, "s.json", "layers[0].options"));
        Assert.Equal("layers[0].options.base", e.Field);
        Assert.Contains("Lstm does not implement IReadableMemory", e.Message);
        Assert.Contains("allowed: deltanet, gated-deltanet, linear-attention, simple-gla, titans-lmm", e.Message);
        var typo = Assert.Throws<Zoo.Core.Options.ZooConfigException>(() =>
            TestSupport.Registry().BindLayerOptions("memory-caching", System.Text.Json.JsonDocument.Parse("{\"base\": \"deltanot\"}").RootElement, D, "s.json", "layers[0].options"));
        Assert.Contains("no layer has that name (did you mean 'deltanet'?)", typo.Message);
        var nested = Assert.Throws<Zoo.Core.Options.ZooConfigException>(() =>
            TestSupport.Registry().BindLayerOptions("memory-caching", System.Text.Json.JsonDocument.Parse("{\"base_options\": {\"chunk_sise\": 2}}").RootElement, D, "s.json", "layers[0].options"));
        Assert.Contains("base_options.chunk_sise", nested.Message);
    }

    // A plugin's readable memory, wrapped like a built-in one: registered from its own assembly, built by the registry.
    private const string PluginMemory = "plugin-additive-memory";

    private static ComponentRegistry PluginRegistry() =>
        ZooComponents.Create(new[] { TestSupport.MemoryPluginPath, TestSupport.ExamplePluginPath });

    [Fact]
    public void A_plugin_memory_is_wrapped_and_reduces_to_itself_when_the_segment_covers_the_sequence()
    {
        using var scope = NewDisposeScope();
        var registry = PluginRegistry();
        var wrapper = TestSupport.Float64Layer(registry, "memory-caching", $"{{\"segment\": 16, \"base\": \"{PluginMemory}\"}}", D, 1);
        var plain = TestSupport.Float64Layer(registry, PluginMemory, "{}", D, 2);
        Assert.Equal(plain.GetType(), wrapper.named_children().Single(c => c.name == "inner").module.GetType());
        CopyParameters(plain, wrapper, "inner.");
        var x = TestSupport.Input(2, 11, D, seed: 3);
        Assert.True(TestSupport.MaxAbsDiff(wrapper.Forward(x).Output, plain.Forward(x).Output) < 1e-12);
    }

    [Theory]
    [InlineData("residual")]
    [InlineData("gated_residual")]
    [InlineData("soup")]
    public void A_plugin_memory_with_caches_steps_as_it_runs_in_parallel_and_reads_its_caches(string rule)
    {
        using var scope = NewDisposeScope();
        var registry = PluginRegistry();
        var wrapper = TestSupport.Float64Layer(registry, "memory-caching", $"{{\"segment\": 3, \"rule\": \"{rule}\", \"base\": \"{PluginMemory}\"}}", D, 4);
        var x = TestSupport.Input(2, 10, D, seed: 5);
        var (parallel, end) = wrapper.Forward(x);
        var state = wrapper.InitialState(2, x.device, x.dtype);
        var steps = new List<Tensor>();
        for (int t = 0; t < 10; t++)
        {
            var (y, next) = wrapper.Step(x[.., t], state);
            steps.Add(y);
            state = next;
        }
        Assert.True(TestSupport.MaxAbsDiff(parallel, stack(steps, 1)) < 1e-10);
        Assert.True(TestSupport.MaxStateDiff(end, state) < 1e-10);
        Assert.Equal(3, end.Child("caches").Children.Count());
        // The caches change the output: a wrapper that never cached (segment ≥ L) with the same weights differs after the first segment.
        var uncached = TestSupport.Float64Layer(registry, "memory-caching", $"{{\"segment\": 16, \"rule\": \"{rule}\", \"base\": \"{PluginMemory}\"}}", D, 6);
        CopyParameters(wrapper, uncached);
        var plain = uncached.Forward(x).Output;
        Assert.True(TestSupport.MaxAbsDiff(parallel[.., ..3], plain[.., ..3]) < 1e-12, "the first segment has no cache to read");
        Assert.True(TestSupport.MaxAbsDiff(parallel[.., 3..], plain[.., 3..]) > 1e-6, "later segments should read their caches");
    }

    [Fact]
    public void Only_readable_memories_of_any_assembly_can_be_wrapped()
    {
        var registry = PluginRegistry();
        var e = Assert.Throws<Zoo.Core.Options.ZooConfigException>(() =>
            registry.BindLayerOptions("memory-caching", System.Text.Json.JsonDocument.Parse("{\"base\": \"example-ema\"}").RootElement, D, "s.json", "layers[0].options"));
        Assert.Equal("layers[0].options.base", e.Field);
        Assert.Contains("EmaRecurrence does not implement IReadableMemory", e.Message);
        Assert.Contains(PluginMemory, e.Message);
        // Without the plugin loaded, its name is unknown and the message lists only Zoo's own memories.
        var unloaded = Assert.Throws<Zoo.Core.Options.ZooConfigException>(() =>
            TestSupport.Registry().BindLayerOptions("memory-caching", System.Text.Json.JsonDocument.Parse($"{{\"base\": \"{PluginMemory}\"}}").RootElement, D, "s.json", "layers[0].options"));
        Assert.Contains("no layer has that name", unloaded.Message);
        Assert.DoesNotContain(PluginMemory, unloaded.Message[unloaded.Message.IndexOf("allowed", StringComparison.Ordinal)..]);
        // The plugin layer's own options are bound strictly through the registry.
        var nested = Assert.Throws<Zoo.Core.Options.ZooConfigException>(() =>
            registry.BindLayerOptions("memory-caching", System.Text.Json.JsonDocument.Parse($"{{\"base\": \"{PluginMemory}\", \"base_options\": {{\"heads\": 2}}}}").RootElement, D, "s.json", "layers[0].options"));
        Assert.Equal("layers[0].options.base_options.heads", nested.Field);
    }
}
