using System.Reflection;
using Zoo.Core.Layers;
using Zoo.Core.Registry;
using Zoo.Testing;

namespace Zoo.Tests;

/// <summary>
/// The layer contract (Zoo.Testing's <see cref="LayerContract"/>) over every layer the registry knows, built-in and the
/// example plugin, under each options set the layer declares: a layer added without its contract passing fails here.
/// </summary>
public sealed class LayerContractTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in LayerContract.Cases(TestSupport.Registry(withPlugin: true))) data.Add(c.Layer, c.Options);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Layer_meets_the_contract(string layer, string options)
    {
        var results = LayerContract.Check(TestSupport.Registry(withPlugin: true), new ContractCase(layer, options));
        Assert.Equal(LayerContract.CheckNames, results.Select(r => r.Check));
        Assert.True(results.All(r => r.Passed), string.Join("\n", results.Where(r => !r.Passed)));
    }

    [Fact]
    public void Every_concrete_layer_class_in_Zoo_Layers_is_registered_so_the_contract_reaches_it()
    {
        var registered = TestSupport.Registry().Layers.Select(e => e.Type).ToHashSet();
        var classes = typeof(Zoo.Layers.Recurrent.Lstm).Assembly.GetTypes()
            .Where(t => typeof(SequenceLayer).IsAssignableFrom(t) && !t.IsAbstract && t.IsPublic).ToList();
        Assert.NotEmpty(classes);
        Assert.Empty(classes.Where(t => !registered.Contains(t)).Select(t => t.FullName));
    }

    [Fact]
    public void A_layer_without_declared_cases_is_checked_under_its_defaults()
    {
        var cases = LayerContract.Cases(TestSupport.Registry(withPlugin: true), e => e.Name == "example-ema").ToList();
        Assert.Equal(new[] { new ContractCase("example-ema", LayerContract.Defaults) }, cases);
    }

    [Fact]
    public void A_layer_whose_step_ignores_its_state_fails_step_equals_parallel_and_nothing_else()
    {
        var registry = new ComponentRegistry();
        PluginLoader.Load(registry, TestSupport.BadPluginPath);
        var results = LayerContract.Check(registry, new ContractCase("step-ignores-state", LayerContract.Defaults));
        Assert.Equal(new[] { "step == parallel" }, results.Where(r => !r.Passed).Select(r => r.Check));
        Assert.Contains("|step − forward|", results.Single(r => !r.Passed).Reason);
    }

    [Fact]
    public void A_layer_without_parameters_or_state_meets_the_contract()
    {
        var registry = new ComponentRegistry();
        PluginLoader.Load(registry, TestSupport.BadPluginPath);
        // The bad plugin's "example-ema" is an identity layer: nothing to train, nothing to carry.
        var results = LayerContract.Check(registry, new ContractCase("example-ema", LayerContract.Defaults));
        Assert.True(results.All(r => r.Passed), string.Join("\n", results.Where(r => !r.Passed)));
        Assert.Equal("the layer has no parameters", results.Single(r => r.Check == "gradients").Reason);
    }

    [Fact]
    public void A_layer_that_cannot_be_built_fails_with_the_reason()
    {
        var registry = new ComponentRegistry();
        PluginLoader.Load(registry, TestSupport.BadPluginPath);
        var result = Assert.Single(LayerContract.Check(registry, new ContractCase("throws-on-build", LayerContract.Defaults)));
        Assert.False(result.Passed);
        Assert.Equal("build", result.Check);
        Assert.Contains("deliberate failure in the constructor", result.Reason);
    }

    [Fact]
    public void Attention_state_size_grows_with_length_recurrent_layers_do_not()
    {
        var registry = TestSupport.Registry();
        var attention = TestSupport.Float64Layer(registry, "attention", "{}", 12, 0);
        var lstm = TestSupport.Float64Layer(registry, "lstm", "{}", 12, 0);
        Assert.Equal(2 * 100 * 12, attention.StateSize(100));
        Assert.Equal(2 * 200 * 12, attention.StateSize(200));
        Assert.Equal(lstm.StateSize(100), lstm.StateSize(200));
    }
}
