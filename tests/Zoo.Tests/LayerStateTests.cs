using Zoo.Core.Layers;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>The named, nestable <see cref="LayerState"/>: lookup by name, clear errors, and walks over the whole tree.</summary>
public sealed class LayerStateTests
{
    private static LayerState Sample() => new LayerState()
        .With("h", ones(2, 3))
        .With("memory", new LayerState().With("S", zeros(2, 4)).WithCounter("position", 5))
        .WithCounter("segments", 2);

    [Fact]
    public void Parts_are_found_by_name_at_every_level()
    {
        using var state = Sample();
        Assert.Equal(new long[] { 2, 3 }, state["h"].shape);
        Assert.Equal(new long[] { 2, 4 }, state.Child("memory")["S"].shape);
        Assert.Equal(5, state.Child("memory").Counter("position"));
        Assert.Equal(2, state.Counter("segments"));
        Assert.Equal(new[] { "memory" }, state.Children.Select(c => c.Name));
    }

    [Fact]
    public void A_missing_or_repeated_name_is_an_error_naming_it()
    {
        using var state = Sample();
        var missing = Assert.Throws<KeyNotFoundException>(() => state["c"]);
        Assert.Contains("no tensor 'c'; it has: h", missing.Message);
        Assert.Contains("no child state 'attention'; it has: memory", Assert.Throws<KeyNotFoundException>(() => state.Child("attention")).Message);
        Assert.Contains("no counter 'position'; it has: segments", Assert.Throws<KeyNotFoundException>(() => state.Counter("position")).Message);
        Assert.Contains("already has a tensor 'h'", Assert.Throws<ArgumentException>(() => state.With("h", zeros(1))).Message);
    }

    [Fact]
    public void Map_keeps_the_tree_and_its_counters_and_Dispose_walks_it()
    {
        var state = Sample();
        var doubled = state.Map(t => t * 2);
        Assert.Equal(2.0, doubled["h"].max().item<float>());
        Assert.Equal(new long[] { 2, 4 }, doubled.Child("memory")["S"].shape);
        Assert.Equal(5, doubled.Child("memory").Counter("position"));
        Assert.Equal(2, doubled.Counter("segments"));
        var nested = state.Child("memory")["S"];
        state.Dispose();
        Assert.True(nested.IsInvalid, "disposing a state disposes its children's tensors");
        Assert.False(doubled.Child("memory")["S"].IsInvalid, "a mapped state owns its own tensors");
        doubled.Dispose();
    }
}
