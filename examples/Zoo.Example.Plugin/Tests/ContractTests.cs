using Zoo.Core.Registry;
using Zoo.Example.Plugin;
using Zoo.Testing;

namespace Zoo.Example.Plugin.Tests;

/// <summary>Every layer this plugin registers meets Zoo's layer contract, under each options set it declares.</summary>
public sealed class ContractTests
{
    private static ComponentRegistry Registry()
    {
        var registry = new ComponentRegistry();
        registry.Scan(typeof(EmaRecurrence).Assembly);
        return registry;
    }

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in LayerContract.Cases(Registry())) data.Add(c.Layer, c.Options);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Layer_meets_the_contract(string layer, string options)
    {
        var results = LayerContract.Check(Registry(), new ContractCase(layer, options));
        Assert.True(results.All(r => r.Passed), string.Join("\n", results.Where(r => !r.Passed)));
    }
}
