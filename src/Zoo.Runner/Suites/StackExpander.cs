using System.Text.Json.Nodes;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Runner.Models;

namespace Zoo.Runner.Suites;

/// <summary>
/// Expands a layer entry with <c>stack</c> (README "Hybrid stacks") into the (layer, options) of its runs for one model
/// spec: every pattern × the sweeps of the entry's per-layer <c>options</c> (one value shared by every block of that layer)
/// × the sweeps of each block's own <c>options</c>. A pattern repeats to <c>n_layers</c>, which must be a multiple of its
/// length; each result is in <see cref="HybridStack.Canonical"/> form, so a pattern and its per-block spelling are one run.
/// </summary>
public static class StackExpander
{
    /// <summary>
    /// The runs' layers of <paramref name="entry"/> (which has <see cref="SuiteEntry.Stack"/>) under <paramref name="model"/>;
    /// <paramref name="where"/> prefixes model errors (the entry pair, as the suite expander names it).
    /// </summary>
    public static IEnumerable<(string Layer, object Options)> Expand(SuiteFile suite, SuiteEntry entry, ModelSpec model, ComponentRegistry registry, string where)
    {
        var patterns = entry.Stack ?? throw new ArgumentException("not a stack entry", nameof(entry));
        foreach (var block in patterns.SelectMany(p => p)) registry.Layer(block.Layer, suite.Path, block.LayerPath);
        if (model.Kind != ModelKind.Backbone)
            throw new ZooConfigException(suite.Path, $"{where}: model.kind", $"a stack of layers needs the backbone, got '{model.Kind.ToString().ToLowerInvariant()}'; allowed: backbone");
        var shared = SharedOptions(suite, entry, patterns, registry, model.DModel);
        foreach (var pattern in patterns)
        {
            if (model.NLayers % pattern.Count != 0)
                throw new ZooConfigException(suite.Path, $"{where}: model.n_layers",
                    $"{model.NLayers} is not a multiple of the length {pattern.Count} of the stack at {entry.Path}.stack ({string.Join(", ", pattern.Select(b => b.Layer))}), which repeats to n_layers; " +
                    $"allowed: {pattern.Count}, {2 * pattern.Count}, {3 * pattern.Count}, …");
            foreach (var byLayer in shared)
            foreach (var choice in CrossProduct(pattern.Select(b => Sweep(suite, SuiteExpander.Merge(byLayer.GetValueOrDefault(b.Layer) ?? new JsonObject(), b.Options), b.Path + ".options")).ToList()))
            {
                var period = pattern.Select((b, i) => new StackBlock(b.Layer,
                    registry.BindLayerOptions(b.Layer, SuiteExpander.Element(choice[i]), model.DModel, suite.Path, b.Options.Count > 0 ? b.Path + ".options" : $"{entry.Path}.options.{b.Layer}"))).ToList();
                var blocks = Enumerable.Range(0, model.NLayers).Select(i => period[i % period.Count]).ToList();
                yield return HybridStack.Canonical(registry, blocks);
            }
        }
    }

    // The entry's options keyed by layer name, each layer's swept on its own and crossed with the others'; a key that
    // names no layer of the stack is an error listing the stack's layers.
    private static List<Dictionary<string, JsonObject>> SharedOptions(SuiteFile suite, SuiteEntry entry, IReadOnlyList<IReadOnlyList<StackBlockEntry>> patterns, ComponentRegistry registry, int dModel)
    {
        var layers = patterns.SelectMany(p => p).Select(b => b.Layer).Distinct().ToList();
        var perLayer = new List<(string Layer, List<JsonObject> Choices)>();
        foreach (var (key, value) in entry.Options)
        {
            var at = $"{entry.Path}.options.{key}";
            if (!layers.Contains(key))
            {
                var near = NameMatcher.Nearest(key, layers);
                throw new ZooConfigException(suite.Path, at, $"names no layer of the stack{(near is null ? "" : $" (did you mean '{near}'?)")}; a stack entry's options are keyed by layer name; allowed: {string.Join(", ", layers)}");
            }
            if (value is not JsonObject o) throw new ZooConfigException(suite.Path, at, $"expected the options object of layer '{key}', got {value?.ToJsonString() ?? "nothing"}");
            var choices = Sweep(suite, o, at);
            foreach (var c in choices) registry.BindLayerOptions(key, SuiteExpander.Element(c), dModel, suite.Path, at); // a bad field names this path, not a block's
            perLayer.Add((key, choices));
        }
        return CrossProduct(perLayer.Select(l => l.Choices).ToList())
            .Select(c => perLayer.Select((l, i) => (l.Layer, c[i])).ToDictionary(x => x.Layer, x => x.Item2)).ToList();
    }

    private static List<JsonObject> Sweep(SuiteFile suite, JsonObject o, string at)
    {
        foreach (var (key, value) in o)
            if (value is JsonArray { Count: 0 })
                throw new ZooConfigException(suite.Path, $"{at}.{key}", "empty list, which sweeps over no value and leaves no runs; allowed: a value or a list of at least one");
        return SuiteExpander.Sweep(o).ToList();
    }

    // Every way of picking one item from each list, in order (the first list varies slowest).
    private static List<JsonObject[]> CrossProduct(IReadOnlyList<List<JsonObject>> lists)
    {
        var acc = new List<JsonObject[]> { Array.Empty<JsonObject>() };
        foreach (var list in lists) acc = acc.SelectMany(prefix => list.Select(x => prefix.Append(x).ToArray())).ToList();
        return acc;
    }
}
