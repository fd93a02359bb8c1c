using System.Text.Json;
using TorchSharp;
using Zoo.Core.Options;
using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

public sealed class MixtureOfMemoriesTests
{
    private const int D = 8;

    private static MixtureOfMemories Mom(string json) =>
        (MixtureOfMemories)TestSupport.Float64Layer(TestSupport.Registry(), "mom", json, D, seed: 3);

    [Fact]
    public void One_memory_top_one_without_shared_memory_equals_gated_deltanet()
    {
        using var scope = NewDisposeScope();
        var mom = Mom("{\"memories\": 1, \"top_k\": 1, \"shared_memory\": false, \"memory\": {\"chunk_size\": 4}}");
        var gdn = TestSupport.Float64Layer(TestSupport.Registry(), "gated-deltanet", "{\"chunk_size\": 4}", D, seed: 4);
        var momParams = mom.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (no_grad())
        {
            foreach (var (name, p) in gdn.named_parameters())
                p.copy_(momParams[name.StartsWith("features.") ? "memories." + name["features.".Length..] : name]);
        }
        var x = TestSupport.Input(2, 11, D, seed: 5);
        var (a, sa) = mom.Forward(x);
        var (b, sb) = gdn.Forward(x);
        Assert.True(TestSupport.MaxAbsDiff(a, b) < 1e-12, $"outputs differ by {TestSupport.MaxAbsDiff(a, b)}");
        Assert.True(TestSupport.MaxStateDiff(sa, sb) < 1e-12);
    }

    [Fact]
    public void Tokens_routed_to_one_memory_do_not_touch_another()
    {
        using var scope = NewDisposeScope();
        var mom = Mom("{\"memories\": 2, \"top_k\": 1, \"shared_memory\": false, \"memory\": {\"heads\": 1, \"chunk_size\": 4, \"short_conv\": false}}");
        // Route by the sign of feature 0: positive → memory 0, negative → memory 1.
        using (no_grad())
        {
            var w = mom.named_parameters().First(p => p.name == "router.weight").parameter;
            w.zero_();
            w[0, 0] = 50.0;
            w[1, 0] = -50.0;
        }
        var x = TestSupport.Input(1, 12, D, seed: 6);
        var toMemory1 = new[] { 1, 4, 5, 9 };
        for (int t = 0; t < 12; t++) x[0, t, 0] = toMemory1.Contains(t) ? -1.0 : 1.0;
        var changed = x.clone();
        var noise = TestSupport.Input(1, 12, D, seed: 7);
        for (int t = 0; t < 12; t++)
            if (!toMemory1.Contains(t)) changed[0, t, 1..] = noise[0, t, 1..];   // new content, still routed to memory 0

        var (gate, _) = mom.Route(x);
        Assert.Equal(toMemory1.Length, gate[0, .., 1].gt(0.5).sum().item<long>());
        var (y, s) = mom.Forward(x);
        var (y2, s2) = mom.Forward(changed);
        // S is [B, M·H, K, V] with H = 1, so head 1 is memory 1.
        Assert.True(TestSupport.MaxAbsDiff(s["S"][.., 1], s2["S"][.., 1]) < 1e-12, "memory 1 changed when only memory-0 tokens changed");
        Assert.True(TestSupport.MaxAbsDiff(s["S"][.., 0], s2["S"][.., 0]) > 1e-6, "memory 0 should have changed");
        foreach (var t in toMemory1)
            Assert.True(TestSupport.MaxAbsDiff(y[0, t], y2[0, t]) < 1e-12, $"output at memory-1 token {t} changed");
    }

    [Fact]
    public void Load_balancing_loss_is_exposed_in_training_and_reaches_the_router()
    {
        var mom = Mom("{\"memories\": 4, \"top_k\": 2, \"aux_loss_weight\": 1.0, \"memory\": {\"chunk_size\": 4}}");
        using var scope = NewDisposeScope();
        mom.train();
        mom.Forward(TestSupport.Input(2, 9, D, seed: 8));
        var aux = mom.AuxiliaryLoss;
        Assert.NotNull(aux);
        // K · Σ f_m P_m is 1 when routing is perfectly balanced and grows with imbalance; never below 0.
        Assert.InRange(aux!.item<double>(), 0.0, 4.0);
        aux.backward();
        var routerGrad = mom.named_parameters().First(p => p.name == "router.weight").parameter.grad;
        Assert.True(routerGrad is not null && routerGrad.abs().sum().item<double>() > 0);
        mom.eval();
        mom.Forward(TestSupport.Input(2, 9, D, seed: 8));
        Assert.Null(mom.AuxiliaryLoss);
    }

    [Fact]
    public void Nested_memory_options_are_bound_strictly()
    {
        var e = Assert.Throws<ZooConfigException>(() =>
            OptionsBinder.Bind<MixtureOfMemoriesOptions>(JsonDocument.Parse("{\"memory\": {\"chunk_sise\": 4}}").RootElement, "s.json", "layers[0].options", D));
        Assert.Equal("layers[0].options.memory.chunk_sise", e.Field);
        Assert.Contains("did you mean 'chunk_size'", e.Message);
        var top = Assert.Throws<ZooConfigException>(() =>
            OptionsBinder.Bind<MixtureOfMemoriesOptions>(JsonDocument.Parse("{\"memories\": 2, \"top_k\": 3}").RootElement, "s.json", "o", D));
        Assert.Equal("o.top_k", top.Field);
    }
}
