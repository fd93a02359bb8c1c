using System.Text.Json;
using System.Text.Json.Nodes;
using Zoo.Core.Options;

namespace Zoo.Runner.Suites;

/// <summary>One entry of a suite's <c>layers</c> or <c>tasks</c> list.</summary>
/// <param name="Name">Registered name.</param>
/// <param name="Options">The <c>options</c> object (may hold lists: each list is swept).</param>
/// <param name="Model">Overrides of <c>defaults.model</c> for runs with this entry.</param>
/// <param name="Train">Overrides of <c>defaults.train</c> for runs with this entry.</param>
/// <param name="Path">JSON path of the entry, for messages.</param>
/// <param name="Label">Layer entries only: display name in plots and curves (e.g. a layer variant's name); null shows <paramref name="Name"/>.</param>
/// <param name="Difficulty">
/// Task entries only: which settings of the task's difficulty ladder to run (<c>all</c>, <c>baseline</c>, a field such as
/// <c>vocab</c> for all of its changes, or a change such as <c>vocab=64</c>); null runs the options as given.
/// </param>
/// <param name="Stack">
/// Layer entries only: the patterns of a hybrid stack (README "Hybrid stacks"), one run per pattern; null for a single
/// layer. A stack entry has no <paramref name="Name"/> (empty) and its <paramref name="Options"/> are keyed by layer name.
/// </param>
public sealed record SuiteEntry(string Name, JsonObject Options, JsonObject Model, JsonObject Train, string Path,
    IReadOnlyList<string>? Difficulty = null, string? Label = null, IReadOnlyList<IReadOnlyList<StackBlockEntry>>? Stack = null);

/// <summary>One block of a stack pattern as the suite spells it: a layer name, or <c>{"layer": …, "options": {…}}</c>.</summary>
/// <param name="Layer">Registered layer name (checked on expansion).</param>
/// <param name="Options">The block's own options (lists are swept, per block).</param>
/// <param name="Path">JSON path of the block, for messages.</param>
/// <param name="LayerPath">JSON path of the layer's name: the block itself, or its <c>layer</c> key.</param>
public sealed record StackBlockEntry(string Layer, JsonObject Options, string Path, string LayerPath);

/// <summary>
/// A suite file (docs/architecture.md, 'Suite file'), parsed strictly: unknown keys, wrong types and missing names are errors naming the file
/// and the field. Binding of options happens in <see cref="SuiteExpander"/>, where the registry is known.
/// </summary>
public sealed record SuiteFile(
    string Path,
    string Name,
    string Description,
    IReadOnlyList<string> Plugins,
    JsonObject DefaultModel,
    JsonObject DefaultTrain,
    IReadOnlyList<long> Seeds,
    IReadOnlyList<SuiteEntry> Layers,
    IReadOnlyList<SuiteEntry> Tasks)
{
    private static readonly string[] TopKeys = { "name", "description", "plugins", "defaults", "layers", "tasks" };
    private static readonly string[] DefaultKeys = { "model", "train", "seeds" };
    private static readonly string[] LayerKeys = { "name", "stack", "label", "options", "model", "train" };
    private static readonly string[] BlockKeys = { "layer", "options" };
    private static readonly string[] TaskKeys = { "name", "options", "model", "train", "difficulty" };

    /// <summary>Reads and checks <paramref name="path"/>.</summary>
    public static SuiteFile Load(string path)
    {
        if (!File.Exists(path)) throw new ZooConfigException(path, null, "suite file not found");
        JsonNode? root;
        try
        {
            var text = File.ReadAllText(path);
            var options = new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
            using (var doc = JsonDocument.Parse(text, options)) DuplicateKeys.Check(doc.RootElement, path);
            root = JsonNode.Parse(text, documentOptions: options);
        }
        catch (JsonException e)
        {
            throw new ZooConfigException(path, e.Path, $"malformed JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {e.Message.Split('.')[0]}");
        }
        var top = Object(root, path, "(root)");
        CheckKeys(top, TopKeys, path, "");
        var name = Zoo.Runner.Results.SafeFileName.Check(String(top["name"], path, "name"), path, "name");
        var defaults = top["defaults"] is null ? new JsonObject() : Object(top["defaults"], path, "defaults");
        CheckKeys(defaults, DefaultKeys, path, "defaults");
        var seeds = defaults["seeds"] switch
        {
            null => new List<long> { 0 },
            JsonArray a => a.Select((s, i) => Integer(s, path, $"defaults.seeds[{i}]")).ToList(),
            var s => new List<long> { Integer(s, path, "defaults.seeds") },
        };
        if (seeds.Count == 0) throw new ZooConfigException(path, "defaults.seeds", "empty list; give at least one seed");
        var plugins = top["plugins"] switch
        {
            null => new List<string>(),
            JsonArray a => a.Select((p, i) => String(p, path, $"plugins[{i}]")).ToList(),
            _ => throw new ZooConfigException(path, "plugins", "expected a list of plugin DLL paths"),
        };
        return new SuiteFile(path, name,
            top["description"] is null ? "" : String(top["description"], path, "description"),
            plugins,
            OptionalObject(defaults["model"], path, "defaults.model"),
            OptionalObject(defaults["train"], path, "defaults.train"),
            seeds,
            Entries(top, "layers", path),
            Entries(top, "tasks", path));
    }

    /// <summary>Plugin paths resolved against the suite file's folder.</summary>
    public IEnumerable<string> PluginPaths() =>
        Plugins.Select(p => System.IO.Path.IsPathRooted(p) ? p : System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path)) ?? ".", p)));

    private static List<SuiteEntry> Entries(JsonObject top, string key, string path)
    {
        if (top[key] is not JsonArray list || list.Count == 0)
            throw new ZooConfigException(path, key, $"missing or empty; give a list of {{\"name\": …}} objects");
        var entries = new List<SuiteEntry>();
        for (int i = 0; i < list.Count; i++)
        {
            var at = $"{key}[{i}]";
            var o = list[i] is JsonValue v && v.TryGetValue<string>(out var bare)
                ? new JsonObject { ["name"] = bare }
                : Object(list[i], path, at);
            CheckKeys(o, key == "tasks" ? TaskKeys : LayerKeys, path, at);
            var stack = o["stack"] is null ? null : Patterns(o["stack"], path, at + ".stack");
            if (stack is not null && o["name"] is not null)
                throw new ZooConfigException(path, at + ".stack", "an entry is one layer (name) or a stack of layers (stack), not both; remove one");
            entries.Add(new SuiteEntry(stack is null ? String(o["name"], path, at + ".name") : "",
                OptionalObject(o["options"], path, at + ".options"),
                OptionalObject(o["model"], path, at + ".model"),
                OptionalObject(o["train"], path, at + ".train"), at,
                DifficultyNames(o["difficulty"], path, at + ".difficulty"),
                o["label"] is null ? null : String(o["label"], path, at + ".label"),
                stack));
        }
        return entries;
    }

    // One pattern (a list of blocks) or a list of patterns (lists of blocks), each block a name or {layer, options}.
    private static List<IReadOnlyList<StackBlockEntry>> Patterns(JsonNode? n, string file, string at)
    {
        const string allowed = "allowed: a list of blocks (a layer name or {\"layer\": NAME, \"options\": {…}}), or a list of such lists (one run each)";
        if (n is not JsonArray list || list.Count == 0) throw new ZooConfigException(file, at, $"expected a non-empty list, got {(n is JsonArray ? "an empty list" : Kind(n))}; {allowed}");
        int nested = list.Count(x => x is JsonArray);
        if (nested != 0 && nested != list.Count)
            throw new ZooConfigException(file, at, $"mixes blocks and lists of blocks; {allowed}");
        if (nested == 0) return new List<IReadOnlyList<StackBlockEntry>> { Blocks(list, file, at) };
        return list.Select((p, i) => (IReadOnlyList<StackBlockEntry>)Blocks((JsonArray)p!, file, $"{at}[{i}]")).ToList();
    }

    private static List<StackBlockEntry> Blocks(JsonArray pattern, string file, string at)
    {
        if (pattern.Count == 0) throw new ZooConfigException(file, at, "empty pattern; give at least one layer");
        var blocks = new List<StackBlockEntry>();
        for (int i = 0; i < pattern.Count; i++)
        {
            var bat = $"{at}[{i}]";
            if (pattern[i] is JsonValue v && v.TryGetValue<string>(out var bare))
            {
                blocks.Add(new StackBlockEntry(bare, new JsonObject(), bat, bat));
                continue;
            }
            if (pattern[i] is not JsonObject o)
                throw new ZooConfigException(file, bat, $"expected a layer name or {{\"layer\": NAME, \"options\": {{…}}}}, got {Kind(pattern[i])}");
            CheckKeys(o, BlockKeys, file, bat);
            blocks.Add(new StackBlockEntry(String(o["layer"], file, bat + ".layer"), OptionalObject(o["options"], file, bat + ".options"), bat, bat + ".layer"));
        }
        return blocks;
    }

    // "all", one name, or a list of names; the names themselves are checked against the task's ladder on expansion.
    private static IReadOnlyList<string>? DifficultyNames(JsonNode? n, string file, string at) => n switch
    {
        null => null,
        JsonArray { Count: 0 } => throw new ZooConfigException(file, at, "empty list; give \"all\" or a list of difficulty names"),
        JsonArray a => a.Select((x, i) => String(x, file, $"{at}[{i}]")).ToList(),
        _ => new List<string> { String(n, file, at) },
    };

    private static void CheckKeys(JsonObject o, string[] allowed, string file, string at)
    {
        foreach (var (key, _) in o)
        {
            if (allowed.Contains(key)) continue;
            var near = NameMatcher.Nearest(key, allowed);
            var hint = near is null ? "" : $" (did you mean '{near}'?)";
            throw new ZooConfigException(file, at.Length == 0 ? key : $"{at}.{key}", $"unknown key{hint}; allowed: {string.Join(", ", allowed)}");
        }
    }

    private static JsonObject Object(JsonNode? n, string file, string at) =>
        n as JsonObject ?? throw new ZooConfigException(file, at, $"expected a JSON object, got {Kind(n)}");

    private static JsonObject OptionalObject(JsonNode? n, string file, string at) =>
        n is null ? new JsonObject() : (JsonObject)Object(n, file, at).DeepClone();

    private static string String(JsonNode? n, string file, string at) =>
        n is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new ZooConfigException(file, at, $"expected a string, got {Kind(n)}");

    private static long Integer(JsonNode? n, string file, string at) =>
        n is JsonValue v && v.TryGetValue<double>(out var d) && d == Math.Floor(d) ? (long)d : throw new ZooConfigException(file, at, $"expected an integer, got {Kind(n)}");

    private static string Kind(JsonNode? n) => n switch
    {
        null => "nothing",
        JsonObject => "an object",
        JsonArray => "a list",
        _ => n.ToJsonString(),
    };
}
