using System.Text.Json;
using TorchSharp;
using Zoo.Core.Layers;
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
        // K · Σ f_m P_m is top_k = 2 when routing is perfectly balanced and grows with imbalance; never below 0.
        Assert.InRange(aux!.item<double>(), 0.0, 8.0);
        aux.backward();
        var routerGrad = mom.named_parameters().First(p => p.name == "router.weight").parameter.grad;
        Assert.True(routerGrad is not null && routerGrad.abs().sum().item<double>() > 0);
        mom.eval();
        mom.Forward(TestSupport.Input(2, 9, D, seed: 8));
        Assert.Null(mom.AuxiliaryLoss);
    }

    // Zoo's earlier form, kept as options.
    private const string EarlierForm = "\"shared_query\": false, \"scale_write_by_router\": true, \"aux_loss_per_slot\": true";

    [Theory]
    [InlineData("")]
    [InlineData(EarlierForm + ", ")]
    [InlineData("\"shared_memory\": false, \"rule\": \"simple_gla\", ")]
    [InlineData("\"top_k\": 1, \"memory\": {\"form\": \"reference\"}, ")]
    [InlineData("\"capacity_factor\": 0.5, ")]
    [InlineData(EarlierForm + ", \"capacity_factor\": 0.75, ")]
    public void Sparse_form_equals_dense_form_in_outputs_state_and_gradients(string options)
    {
        using var scope = NewDisposeScope();
        // Chunk 4 over 13 tokens: routed streams of uneven lengths, several chunks, padding inside the last one.
        var memory = options.Contains("\"memory\"") ? "" : "\"memory\": {\"chunk_size\": 4}, ";
        MixtureOfMemories Build(string compute) => Mom("{" + options + memory + "\"memories\": 3, \"compute\": \"" + compute + "\"}");
        var (sparse, dense) = (Build("sparse"), Build("dense"));
        var x0 = TestSupport.Input(3, 6, D, seed: 10);
        var x = TestSupport.Input(3, 13, D, seed: 11).requires_grad_(true);
        var xd = x.detach().clone().requires_grad_(true);
        // Continue from a non-zero state, so the compacted streams start from carried memories and conv caches.
        LayerState s0;
        using (no_grad()) (_, s0) = sparse.Forward(x0);
        var (ys, ss) = sparse.Forward(x, s0);
        var (yd, sd) = dense.Forward(xd, s0);
        Assert.True(TestSupport.MaxAbsDiff(ys, yd) < 1e-12, $"outputs differ by {TestSupport.MaxAbsDiff(ys, yd)}");
        Assert.True(TestSupport.MaxStateDiff(ss, sd) < 1e-12, $"states differ by {TestSupport.MaxStateDiff(ss, sd)}");
        var probe = TestSupport.Input(3, 13, D, seed: 12);
        ((ys * probe).sum() + ss["S"].sum()).backward();
        ((yd * probe).sum() + sd["S"].sum()).backward();
        Assert.True(TestSupport.MaxAbsDiff(x.grad!, xd.grad!) < 1e-12, $"input gradients differ by {TestSupport.MaxAbsDiff(x.grad!, xd.grad!)}");
        var denseParams = dense.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in sparse.named_parameters())
        {
            Assert.NotNull(p.grad);
            var diff = TestSupport.MaxAbsDiff(p.grad!, denseParams[name].grad!);
            Assert.True(diff < 1e-12, $"gradient of {name} differs by {diff}");
        }
    }

    [Fact]
    public void A_capacity_drops_a_memorys_overflow_tokens_and_nothing_else()
    {
        using var scope = NewDisposeScope();
        // K 3, top-2, L 13: a capacity factor of 0.5 lets each memory take ⌈0.5 · 13 · 2 / 3⌉ = 5 tokens per call.
        MixtureOfMemories Build(string extra) => Mom("{\"memories\": 3, \"compute\": \"sparse\", \"memory\": {\"chunk_size\": 4}" + extra + "}");
        var (full, capped) = (Build(""), Build(", \"capacity_factor\": 0.5"));
        Assert.Equal(13, full.Capacity(13));
        Assert.Equal(5, capped.Capacity(13));
        Assert.Equal(1, capped.Capacity(1));
        var x = TestSupport.Input(3, 13, D, seed: 11);
        var (gate, _) = full.Route(x);
        // The first position at which any (sequence, memory) receives its 6th routed token: everything before it is
        // kept by both layers, so outputs agree up to it and differ from it on.
        var counts = gate.gt(0).to(ScalarType.Int64).cumsum(1);                     // [B, L, K]
        var overflow = counts.gt(5).any(-1).any(0);                                   // [L]
        Assert.True(overflow.any().item<bool>(), "test input should overflow a memory's capacity");
        long first = overflow.to(ScalarType.Int64).argmax().item<long>();
        var (yf, _) = full.Forward(x);
        var (yc, _) = capped.Forward(x);
        Assert.True(TestSupport.MaxAbsDiff(yf[.., ..(int)first], yc[.., ..(int)first]) < 1e-12, "tokens before the first overflow must be untouched");
        Assert.True(TestSupport.MaxAbsDiff(yf[.., (int)first..], yc[.., (int)first..]) > 1e-6, "a dropped token should change the output");
        // With a capacity of L nothing is dropped: the layer equals the one without a capacity.
        var roomy = Build(", \"capacity_factor\": 1.5");
        Assert.Equal(13, roomy.Capacity(13));
        Assert.True(TestSupport.MaxAbsDiff(yf, roomy.Forward(x).Output) < 1e-12);
    }

    [Fact]
    public void Router_weights_weight_only_the_read_unless_writes_are_scaled_by_them()
    {
        using var scope = NewDisposeScope();
        // top_k = memories: every memory is picked at every token, so the router's weights change only g_m.
        var reference = Mom("{\"memories\": 2, \"top_k\": 2, \"shared_memory\": false, \"memory\": {\"chunk_size\": 4}}");
        var scaled = Mom("{\"memories\": 2, \"top_k\": 2, \"shared_memory\": false, \"scale_write_by_router\": true, \"memory\": {\"chunk_size\": 4}}");
        var x = TestSupport.Input(2, 9, D, seed: 13);
        foreach (var (layer, stateMoves) in new[] { (reference, false), (scaled, true) })
        {
            var (y, s) = layer.Forward(x);
            using (no_grad())
            {
                var w = layer.named_parameters().First(p => p.name == "router.weight").parameter;
                w.mul_(3.0).add_(0.5);
            }
            var (y2, s2) = layer.Forward(x);
            Assert.True(TestSupport.MaxAbsDiff(y, y2) > 1e-6, "the read should follow the router weights");
            var moved = TestSupport.MaxAbsDiff(s["S"], s2["S"]);
            Assert.True(stateMoves ? moved > 1e-6 : moved < 1e-12, $"state moved by {moved} (scale_write_by_router: {stateMoves})");
        }
    }

    [Fact]
    public void Memories_share_the_query_conv_and_decay_parameters_and_own_k_v_alpha_beta()
    {
        int heads = 2, dk = D / heads, total = 4 + 1;
        Dictionary<string, long[]> Shapes(string json) =>
            Mom(json).named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        var shared = Shapes("{}");
        Assert.Equal(new long[] { heads * dk, D }, shared["memories.q_proj.weight"]);
        Assert.Equal(new long[] { heads * dk, 1, 4 }, shared["memories.k_conv"]);
        Assert.Equal(new long[] { heads }, shared["memories.A_log"]);
        Assert.Equal(new long[] { heads }, shared["memories.dt_bias"]);
        Assert.Equal(new long[] { total * heads * dk, D }, shared["memories.k_proj.weight"]);
        Assert.Equal(new long[] { total * heads, D }, shared["memories.b_proj.weight"]);
        Assert.Equal(new long[] { total * heads, D }, shared["memories.a_proj.weight"]);
        var own = Shapes("{" + EarlierForm + "}");
        Assert.Equal(new long[] { total * heads * dk, D }, own["memories.q_proj.weight"]);
        Assert.Equal(new long[] { total * heads }, own["memories.A_log"]);
    }

    [Theory]
    [InlineData(false, 2.0)]
    [InlineData(true, 1.0)]
    public void Load_balancing_loss_at_balance_is_top_k_as_in_the_reference_or_one_per_slot(bool perSlot, double expected)
    {
        var mom = Mom("{\"memories\": 4, \"top_k\": 2, \"aux_loss_weight\": 1.0, \"aux_loss_per_slot\": " + (perSlot ? "true" : "false") + ", \"memory\": {\"chunk_size\": 4}}");
        using var scope = NewDisposeScope();
        using (no_grad()) mom.named_parameters().First(p => p.name == "router.weight").parameter.zero_();
        mom.train();
        // A zero router gives every memory probability 1/K, so K · Σ_m f_m / K = Σ_m f_m = top_k (each token picks two).
        mom.Forward(TestSupport.Input(2, 9, D, seed: 14));
        Assert.Equal(expected, mom.AuxiliaryLoss!.item<double>(), 12);
    }

    [Fact]
    public void Future_tokens_do_not_reach_earlier_outputs_through_the_routed_streams()
    {
        using var scope = NewDisposeScope();
        // The reference packs routed tokens before its short conv in training, which lets a token see later ones; here
        // the conv runs over positions before routing. Changing tokens from t = 7 on changes their routing and streams.
        var mom = Mom("{\"memories\": 3, \"top_k\": 1, \"memory\": {\"chunk_size\": 4}}");
        mom.train();
        var x = TestSupport.Input(2, 12, D, seed: 15);
        var changed = x.clone();
        changed[.., 7..] = TestSupport.Input(2, 5, D, seed: 16);
        var (y, _) = mom.Forward(x);
        var (y2, _) = mom.Forward(changed);
        Assert.True(TestSupport.MaxAbsDiff(y[.., ..7], y2[.., ..7]) < 1e-12, "an earlier output changed with later tokens");
        Assert.True(TestSupport.MaxAbsDiff(y[.., 7..], y2[.., 7..]) > 1e-6);
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
