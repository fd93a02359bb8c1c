using System.Text.Json;
using System.Text.Json.Nodes;
using Zoo.Core.Options;
using Zoo.Core.Registry;

namespace Zoo.Runner.Models;

/// <summary>One block of a hybrid stack: a registered layer and its bound options.</summary>
/// <param name="Layer">Registered layer name.</param>
/// <param name="Options">Options bound to the layer's options type.</param>
public sealed record StackBlock(string Layer, object Options)
{
    /// <summary>Canonical JSON: <c>{"layer": NAME, "options": {every field}}</c>.</summary>
    public JsonObject ToJson() => new() { ["layer"] = Layer, ["options"] = OptionsBinder.ToJson(Options) };
}

/// <summary>
/// The layers of a hybrid backbone (README "Hybrid stacks"): block i uses <see cref="Period"/>[i mod its length].
/// A stack is kept in one canonical form, its shortest period, so the same model however spelt (a pattern repeated to
/// n_layers, or the per-block list) has one name and one config hash; a stack whose blocks are all the same is that
/// layer itself, never a <see cref="HybridStack"/> (<see cref="Canonical"/>).
/// </summary>
public sealed class HybridStack
{
    private HybridStack(IReadOnlyList<StackBlock> period, string name) => (Period, Name) = (period, name);

    /// <summary>The shortest run of blocks that repeats to the whole stack (at least two blocks, not all equal).</summary>
    public IReadOnlyList<StackBlock> Period { get; }

    /// <summary>
    /// Readable, stable name of the period: runs of equal blocks as <c>layer×k</c> joined by <c>+</c>, with the options
    /// that differ from the layer's defaults in parentheses, e.g. <c>gated-deltanet×3+attention(window=16)</c>.
    /// </summary>
    public string Name { get; }

    /// <summary>The block at depth <paramref name="i"/> (0-based) of a stack of any multiple of the period's length.</summary>
    public StackBlock BlockAt(int i) => Period[i % Period.Count];

    /// <summary>Canonical JSON, what the config hash covers: <c>{"stack": [{"layer": …, "options": {…}}, …]}</c> over the period.</summary>
    public JsonObject ToJson() => new() { ["stack"] = new JsonArray(Period.Select(b => (JsonNode)b.ToJson()).ToArray()) };

    /// <summary>
    /// The run's layer name and options for a per-block list: the layer itself when every block is the same (so a
    /// one-layer "stack" is the plain layer's run, hash included), else the <see cref="HybridStack"/> of the shortest
    /// period that repeats to the list, named by <see cref="Name"/>.
    /// </summary>
    public static (string Layer, object Options) Canonical(ComponentRegistry registry, IReadOnlyList<StackBlock> blocks)
    {
        if (blocks.Count == 0) throw new ArgumentException("a stack needs at least one block", nameof(blocks));
        var keys = blocks.Select(b => b.ToJson().ToJsonString()).ToList();
        int p = Enumerable.Range(1, keys.Count).First(p => keys.Count % p == 0 && keys.Select((k, i) => k == keys[i % p]).All(same => same));
        if (p == 1) return (blocks[0].Layer, blocks[0].Options);
        var period = blocks.Take(p).ToList();
        var name = string.Join("+", Runs(keys.Take(p).ToList()).Select(r => BlockName(registry, period[r.Start]) + (r.Count > 1 ? $"×{r.Count}" : "")));
        return (name, new HybridStack(period, name));
    }

    /// <summary>
    /// Reads back <see cref="ToJson"/>'s form (a checkpoint's <c>layer_options</c>), binding each block's options as a suite
    /// would; errors name <paramref name="path"/>.
    /// </summary>
    public static (string Layer, object Options) FromJson(ComponentRegistry registry, JsonObject json, int dModel, string file, string path)
    {
        if (json["stack"] is not JsonArray list || list.Count == 0 || json.Count != 1)
            throw new ZooConfigException(file, path, "expected {\"stack\": [{\"layer\": NAME, \"options\": {…}}, …]}");
        var blocks = new List<StackBlock>();
        for (int i = 0; i < list.Count; i++)
        {
            var at = $"{path}.stack[{i}]";
            if (list[i] is not JsonObject b || b["layer"] is not JsonValue v || !v.TryGetValue<string>(out var layer))
                throw new ZooConfigException(file, at, "expected {\"layer\": NAME, \"options\": {…}}");
            var options = b["options"] is JsonObject o ? JsonDocument.Parse(o.ToJsonString()).RootElement : (JsonElement?)null;
            registry.Layer(layer, file, at + ".layer");
            blocks.Add(new StackBlock(layer, registry.BindLayerOptions(layer, options, dModel, file, at + ".options")));
        }
        return Canonical(registry, blocks);
    }

    private static IEnumerable<(int Start, int Count)> Runs(IReadOnlyList<string> keys)
    {
        for (int start = 0; start < keys.Count;)
        {
            int end = start + 1;
            while (end < keys.Count && keys[end] == keys[start]) end++;
            yield return (start, end - start);
            start = end;
        }
    }

    // The layer name, and in parentheses the fields whose values differ from the options record's defaults.
    private static string BlockName(ComponentRegistry registry, StackBlock block)
    {
        var defaults = OptionsBinder.ToJson(Activator.CreateInstance(registry.Layer(block.Layer).OptionsType)!);
        var changed = OptionsBinder.ToJson(block.Options)
            .Where(kv => (kv.Value?.ToJsonString() ?? "null") != (defaults[kv.Key]?.ToJsonString() ?? "null"))
            .Select(kv => $"{kv.Key}={(kv.Value is JsonValue v && v.TryGetValue<string>(out var s) ? s : kv.Value?.ToJsonString() ?? "null")}")
            .ToList();
        return changed.Count == 0 ? block.Layer : $"{block.Layer}({string.Join(",", changed)})";
    }
}
