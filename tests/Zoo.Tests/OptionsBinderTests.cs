using System.Text.Json;
using Zoo.Core.Options;
using Zoo.Layers.Attention;
using Zoo.Layers.DeepMemory;
using Zoo.Layers.Recurrent;

namespace Zoo.Tests;

public sealed class OptionsBinderTests
{
    private static JsonElement Json(string s) => JsonDocument.Parse(s).RootElement;

    [Fact]
    public void Missing_fields_keep_defaults_and_snake_case_binds()
    {
        var o = OptionsBinder.Bind<LeakyRnnOptions>(Json("{\"leak\": 0.5, \"adaptation_tau\": 3, \"activation\": \"leaky_relu\"}"));
        Assert.Equal(0.5, o.Leak);
        Assert.Equal(3, o.AdaptationTau);
        Assert.Equal(Activation.LeakyRelu, o.Activation);
        Assert.Equal(1.0, o.Momentum);
    }

    [Fact]
    public void Unknown_field_names_file_field_nearest_name_and_allowed_fields()
    {
        var e = Assert.Throws<ZooConfigException>(() =>
            OptionsBinder.Bind<LeakyRnnOptions>(Json("{\"leek\": 0.5}"), "suite.json", "layers[0].options"));
        Assert.Equal("suite.json", e.File);
        Assert.Equal("layers[0].options.leek", e.Field);
        Assert.Contains("did you mean 'leak'", e.Message);
        Assert.Contains("adaptation_tau", e.Message);
    }

    [Theory]
    [InlineData("{\"leak\": 1.5}", "leak", "(0, 1]")]
    [InlineData("{\"leak\": 0}", "leak", "(0, 1]")]
    [InlineData("{\"leak\": \"high\"}", "leak", "number")]
    [InlineData("{\"activation\": \"sigmoid\"}", "activation", "relu, tanh, leaky_relu")]
    [InlineData("{\"noise\": -1}", "noise", "[0, inf)")]
    [InlineData("{\"bias\": 1}", "bias", "true or false")]
    public void Bad_values_name_the_field_and_what_is_allowed(string json, string field, string allowed)
    {
        var e = Assert.Throws<ZooConfigException>(() => OptionsBinder.Bind<LeakyRnnOptions>(Json(json), "f.json", "options"));
        Assert.Equal("options." + field, e.Field);
        Assert.Contains(allowed, e.Message);
        Assert.StartsWith("f.json: options." + field, e.Message);
    }

    [Fact]
    public void Integer_fields_reject_fractions()
    {
        var e = Assert.Throws<ZooConfigException>(() => OptionsBinder.Bind<AttentionOptions>(Json("{\"heads\": 1.5}")));
        Assert.Contains("integer", e.Message);
    }

    [Fact]
    public void Cross_field_validation_uses_d_model()
    {
        var e = Assert.Throws<ZooConfigException>(() => OptionsBinder.Bind<AttentionOptions>(Json("{\"heads\": 3}"), "s.json", "layers[0].options", dModel: 64));
        Assert.Equal("layers[0].options.heads", e.Field);
        Assert.Contains("divisible", e.Message);
        Assert.Equal(4, OptionsBinder.Bind<AttentionOptions>(Json("{\"heads\": 4}"), dModel: 64).Heads);
    }

    [Fact]
    public void Canonical_json_lists_every_field_with_defaults()
    {
        var a = OptionsBinder.ToJson(OptionsBinder.Bind<LeakyRnnOptions>(Json("{\"momentum\": 0.5, \"leak\": 0.2}"))).ToJsonString();
        var b = OptionsBinder.ToJson(OptionsBinder.Bind<LeakyRnnOptions>(Json("{\"leak\": 0.2, \"momentum\": 0.5}"))).ToJsonString();
        Assert.Equal(a, b);
        Assert.Contains("\"activation\":\"tanh\"", a);
    }

    [Fact]
    public void A_nested_record_left_at_its_defaults_is_validated_too()
    {
        // titans-mal's default attention (1 head, RoPE) at d_model 63 has an odd head dim, which RoPE cannot rotate: the
        // suite must say so when binding, as it does when the attention object is written out, not fail in the forward.
        var e = Assert.Throws<ZooConfigException>(() =>
            OptionsBinder.Bind<TitansHybridOptions>(Json("{\"memory\": {\"heads\": 3}}"), "suite.json", "layers[0].options", dModel: 63));
        Assert.Equal("layers[0].options.attention.positions", e.Field);
        Assert.Contains("even head dim", e.Message);
    }
}
