using TorchSharp;
using System.Text.Json;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// The options that give the matrix-memory layers fla's GatedDeltaNet choices, and the rule that let them be added
/// without changing any committed config hash (<see cref="OptionAttribute.AddedLater"/>).
/// </summary>
public sealed class FlaParityOptionsTests
{
    private const int D = 16;

    private static JsonElement Json(string s) => JsonDocument.Parse(s).RootElement;

    [Fact]
    public void A_field_added_later_stays_out_of_the_canonical_json_until_it_leaves_its_default()
    {
        var plain = OptionsBinder.ToJson(OptionsBinder.Bind<LinearMemoryOptions>(Json("{\"heads\": 4}")));
        foreach (var name in new[] { "a_init_min", "weight_init", "silu_without_conv", "allow_neg_eigval", "value_heads" })
            Assert.False(plain.ContainsKey(name), $"{name} at its default must not enter the hash");
        Assert.True(plain.ContainsKey("heads") && plain.ContainsKey("form"), "fields that predate the rule are always written");
        var set = OptionsBinder.ToJson(OptionsBinder.Bind<LinearMemoryOptions>(Json("{\"allow_neg_eigval\": true, \"a_init_min\": 0}")));
        Assert.True(set["allow_neg_eigval"]!.GetValue<bool>());
        Assert.Equal(0.0, set["a_init_min"]!.GetValue<double>());
        // Spelling the default explicitly hashes as leaving it out.
        var explicitDefault = OptionsBinder.ToJson(OptionsBinder.Bind<LinearMemoryOptions>(Json("{\"heads\": 4, \"weight_init\": \"library\"}")));
        Assert.Equal(plain.ToJsonString(), explicitDefault.ToJsonString());
    }

    // Parameters redrawn from the test's own generator: torch's global one is shared with tests running in parallel.
    private static MemoryFeatures Features(string json, long seed)
    {
        var f = new MemoryFeatures(D, OptionsBinder.Bind<LinearMemoryOptions>(Json(json)), MemoryRule.GatedDelta);
        f.to(ScalarType.Float64);
        using var g = new Generator((ulong)seed);
        using (no_grad())
            foreach (var (name, p) in f.named_parameters().OrderBy(p => p.name, StringComparer.Ordinal))
                if (name != "A_log") p.copy_(randn(p.shape, dtype: ScalarType.Float64, generator: g) * 0.3);
        return f;
    }

    // As built: the initialisation itself is what these tests look at.
    private static MemoryFeatures Initialised(string json)
    {
        var f = new MemoryFeatures(D, OptionsBinder.Bind<LinearMemoryOptions>(Json(json)), MemoryRule.GatedDelta);
        f.to(ScalarType.Float64);
        return f;
    }

    private static LayerState NoCaches(MemoryFeatures f) => f.InitialCaches(2, CPU, ScalarType.Float64);

    [Fact]
    public void Negative_eigenvalues_double_the_write_strength()
    {
        using var scope = NewDisposeScope();
        var x = TestSupport.Input(2, 5, D, seed: 1);
        var (plain, wide) = (Features("{}", 3), Features("{\"allow_neg_eigval\": true}", 3));
        var (b1, b2) = (plain.Compute(x, NoCaches(plain)).Beta, wide.Compute(x, NoCaches(wide)).Beta);
        Assert.True(TestSupport.MaxAbsDiff(2 * b1, b2) < 1e-14);
        Assert.True(b2.max().item<double>() > 1.0, "β should reach above 1 somewhere");
    }

    [Fact]
    public void Grouped_value_heads_share_each_query_and_key_head_over_their_group()
    {
        using var scope = NewDisposeScope();
        var x = TestSupport.Input(2, 5, D, seed: 5);
        var f = Features("{\"heads\": 2, \"value_heads\": 4}", 6);
        var m = f.Compute(x, NoCaches(f));
        // Two q/k heads of 8, four value heads of 8: value head 2h + j reads and writes through q/k head h.
        Assert.Equal(new long[] { 2, 4, 5, 8 }, m.Q.shape);
        Assert.Equal(new long[] { 2, 4, 5, 8 }, m.V.shape);
        Assert.Equal(new long[] { 2, 4, 5 }, m.Beta.shape);
        Assert.Equal(new long[] { 2, 4, 5 }, m.LogDecay.shape);
        foreach (var t in new[] { m.Q, m.K })
        {
            Assert.True(TestSupport.MaxAbsDiff(t[.., 0], t[.., 1]) == 0 && TestSupport.MaxAbsDiff(t[.., 2], t[.., 3]) == 0);
            Assert.True(TestSupport.MaxAbsDiff(t[.., 0], t[.., 2]) > 1e-3, "the two groups have their own q/k head");
        }
        Assert.True(TestSupport.MaxAbsDiff(m.V[.., 0], m.V[.., 1]) > 1e-3, "each value head has its own value");
        Assert.True(TestSupport.MaxAbsDiff(m.Beta[.., 0], m.Beta[.., 1]) > 1e-3, "and its own β");
        // The memory grows with the value heads, the q/k side does not.
        var (plain, grouped) = (new GatedDeltaNet(D, new LinearMemoryOptions { Heads = 2 }), new GatedDeltaNet(D, new LinearMemoryOptions { Heads = 2, ValueHeads = 4 }));
        Assert.Equal(2 * 8 * 8, grouped.StateSize(1) - plain.StateSize(1) - 3 * 2 * 8);   // + one more conv cache of 2 · 8 channels per kept input
        var problems = new LinearMemoryOptions { Heads = 2, ValueHeads = 3 }.Validate(D).ToList();
        Assert.Contains(problems, p => p.Field == "value_heads" && p.Message.Contains("multiple of heads 2"));
    }

    [Fact]
    public void Silu_without_conv_activates_the_projections_as_fla_does()
    {
        using var scope = NewDisposeScope();
        var x = TestSupport.Input(2, 5, D, seed: 2);
        var (bare, silu) = (Features("{\"short_conv\": false}", 4), Features("{\"short_conv\": false, \"silu_without_conv\": true}", 4));
        var v = silu.Compute(x, NoCaches(silu)).V;                                   // [B, H, L, V]
        var vBare = bare.Compute(x, NoCaches(bare)).V;
        Assert.True(TestSupport.MaxAbsDiff(v, nn.functional.silu(vBare)) < 1e-14);
        Assert.True(TestSupport.MaxAbsDiff(v, vBare) > 1e-3);
    }

    [Fact]
    public void Initialisation_follows_the_chosen_ranges()
    {
        using var scope = NewDisposeScope();
        var narrow = Initialised("{\"a_init_min\": 15}").named_parameters().Single(p => p.name == "A_log").parameter.exp();
        Assert.True(narrow.min().item<double>() >= 15 && narrow.max().item<double>() <= 16);
        double Std(string json) => Initialised(json).named_parameters().Single(p => p.name == "q_proj.weight").parameter.std().item<double>();
        Assert.InRange(Std("{\"weight_init\": \"normal\", \"heads\": 1}"), 0.017, 0.023);
        Assert.True(Std("{\"heads\": 1}") > 0.1, "the library default (Kaiming-uniform, 1/√(3·16)) is far wider than 0.02");
    }

    [Fact]
    public void Mamba2s_initial_ranges_are_options_that_leave_committed_hashes_as_they_were()
    {
        using var scope = NewDisposeScope();
        var plain = OptionsBinder.ToJson(OptionsBinder.Bind<Mamba2Options>(Json("{\"head_dim\": 8}")));
        foreach (var name in new[] { "a_init_min", "a_init_max", "dt_min", "dt_max" })
            Assert.False(plain.ContainsKey(name), $"{name} at its default must not enter the hash");
        Assert.Equal(plain.ToJsonString(), OptionsBinder.ToJson(OptionsBinder.Bind<Mamba2Options>(Json("{\"head_dim\": 8, \"a_init_max\": 16, \"dt_min\": 0.001}"))).ToJsonString());

        Tensor Param(string json, string name) =>
            new Mamba2(D, OptionsBinder.Bind<Mamba2Options>(Json(json))).named_parameters().Single(p => p.name == name).parameter.detach();
        var a = Param("{\"head_dim\": 2, \"a_init_min\": 0.01, \"a_init_max\": 0.02}", "A_log").exp();   // 16 heads
        Assert.True(a.min().item<float>() >= 0.0099f && a.max().item<float>() <= 0.0201f);
        var dt = nn.functional.softplus(Param("{\"head_dim\": 2, \"dt_min\": 0.5, \"dt_max\": 0.6}", "dt_bias"));
        Assert.True(dt.min().item<float>() >= 0.499f && dt.max().item<float>() <= 0.601f);
        var defaults = nn.functional.softplus(Param("{\"head_dim\": 2}", "dt_bias"));
        Assert.True(defaults.max().item<float>() <= 0.1001f, "mamba_ssm's Δ range [0.001, 0.1] by default");

        var problems = new Mamba2Options { DtMin = 0.2, DtMax = 0.1, AInitMin = 4, AInitMax = 2 }.Validate(D).ToList();
        Assert.Contains(problems, p => p.Field == "dt_min" && p.Message.Contains("dt_max 0.1"));
        Assert.Contains(problems, p => p.Field == "a_init_min" && p.Message.Contains("a_init_max 2"));
    }
}
