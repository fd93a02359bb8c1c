using System.Text.Json;
using System.Text.Json.Nodes;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;
using Zoo.Runner.Models;
using Zoo.Runner.Training;

namespace Zoo.Runner.Suites;

/// <summary>
/// Expands a suite into runs: layers × tasks × (every list-valued field of model, train and options) × seeds.
/// Entry-level <c>model</c>/<c>train</c> override the defaults (task entry first, then layer entry).
/// Every run is bound and validated before anything trains, so a bad field fails the suite up front.
/// A task entry with <c>difficulty</c> also expands over the chosen settings of the task's difficulty ladder
/// (<see cref="IDifficultyLadder"/>), each applied to the entry's options as overrides.
/// </summary>
public static class SuiteExpander
{
    /// <summary>All runs of <paramref name="suite"/>, in a stable order.</summary>
    public static IReadOnlyList<RunSpec> Expand(SuiteFile suite, ComponentRegistry registry)
    {
        RejectEmptySweeps(suite);
        var runs = new List<RunSpec>();
        foreach (var task in suite.Tasks)
        {
            registry.Task(task.Name, suite.Path, task.Path + ".name");
            var taskSettings = TaskSettings(suite, task, registry);
            foreach (var layer in suite.Layers)
            {
                if (layer.Stack is null) registry.Layer(layer.Name, suite.Path, layer.Path + ".name");
                var where = $"{layer.Path}×{task.Path}";
                var model = Merge(suite.DefaultModel, task.Model, layer.Model);
                var train = Merge(suite.DefaultTrain, task.Train, layer.Train);
                foreach (var m in Sweep(model))
                foreach (var t in Sweep(train))
                {
                    var modelSpec = OptionsBinder.Bind<ModelSpec>(Element(m), suite.Path, $"{where}: model");
                    foreach (var (layerName, layerOptions) in LayerChoices(suite, layer, modelSpec, registry, where))
                    foreach (var (setting, taskOptions) in taskSettings)
                    {
                        var trainSpec = OptionsBinder.Bind<TrainSpec>(Element(t), suite.Path, $"{where}: train")
                            .WithUntilCap(t.ContainsKey("steps"), suite.Path, $"{where}: train");
                        // The task's type says it (no instance built per run: a file task would load its data each time).
                        if (trainSpec.Until is not null && typeof(ICurriculumTask).IsAssignableFrom(registry.Task(task.Name).Type))
                            throw new ZooConfigException(suite.Path, $"{where}: train.until", $"task '{task.Name}' is a curriculum, which ends when its last level is passed; remove until");
                        foreach (var seed in suite.Seeds)
                            runs.Add(new RunSpec(suite.Name, layerName, layerOptions, task.Name, taskOptions, modelSpec, trainSpec, seed, setting, layer.Label));
                    }
                }
            }
        }
        var duplicate = runs.GroupBy(r => r.ConfigHash).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ZooConfigException(suite.Path, null, $"two entries describe the same run ({duplicate.First()}); remove one");
        return runs;
    }

    // A layer entry's (layer, options) under one model spec: each sweep of its options, or a stack's expansion.
    private static IEnumerable<(string Layer, object Options)> LayerChoices(SuiteFile suite, SuiteEntry layer, ModelSpec model, ComponentRegistry registry, string where) =>
        layer.Stack is not null
            ? StackExpander.Expand(suite, layer, model, registry, where).ToList()
            : Sweep(layer.Options).Select(lo => (layer.Name, registry.BindLayerOptions(layer.Name, Element(lo), model.DModel, suite.Path, layer.Path + ".options"))).ToList();

    /// <summary>
    /// The task options of one entry: every sweep of its <c>options</c>, and for each, the difficulty settings the entry
    /// names (label "" when it names none). Difficulty settings that coincide (a change equal to a swept value) run once.
    /// </summary>
    public static IReadOnlyList<(string Setting, object Options)> TaskSettings(SuiteFile suite, SuiteEntry task, ComponentRegistry registry)
    {
        var settings = new List<(string, object)>();
        var seen = new HashSet<string>();
        foreach (var to in Sweep(task.Options))
        {
            var baseline = registry.BindTaskOptions(task.Name, Element(to), suite.Path, task.Path + ".options");
            var chosen = task.Difficulty is null
                ? new List<DifficultyChange> { new("", new JsonObject()) }
                : ChooseDifficulties(suite.Path, task, baseline);
            foreach (var change in chosen)
            {
                var options = change.Overrides.Count == 0 ? baseline
                    : registry.BindTaskOptions(task.Name, Element(Merge(to, change.Overrides)), suite.Path, $"{task.Path}.options (difficulty {change.Name})");
                if (task.Difficulty is null || seen.Add(OptionsBinder.ToJson(options).ToJsonString())) settings.Add((change.Name, options));
            }
        }
        return settings;
    }

    /// <summary>
    /// The settings <c>difficulty</c> names, in ladder order: <c>all</c> (baseline and every change), <c>baseline</c>, a field
    /// (every change of that field) or one change's name. An unknown name is an error listing the allowed ones.
    /// </summary>
    private static List<DifficultyChange> ChooseDifficulties(string file, SuiteEntry task, object baseline)
    {
        if (baseline is not IDifficultyLadder ladder)
            throw new ZooConfigException(file, task.Path + ".difficulty", $"task '{task.Name}' has no difficulty ladder; remove the key");
        var changes = ladder.DifficultyChanges();
        var baselineSetting = new DifficultyChange("baseline", new JsonObject());
        var fields = changes.SelectMany(c => c.Overrides.Select(kv => kv.Key)).Distinct().ToList();
        var allowed = new[] { "all", "baseline" }.Concat(fields).Concat(changes.Select(c => c.Name)).ToList();
        var picked = new HashSet<string>();
        for (int i = 0; i < task.Difficulty!.Count; i++)
        {
            var name = task.Difficulty[i];
            var matches = name switch
            {
                "all" => changes.Prepend(baselineSetting).ToList(),
                "baseline" => new List<DifficultyChange> { baselineSetting },
                _ when fields.Contains(name) => changes.Where(c => c.Overrides.ContainsKey(name)).ToList(),
                _ => changes.Where(c => c.Name == name).ToList(),
            };
            if (matches.Count == 0)
            {
                var near = NameMatcher.Nearest(name, allowed);
                var hint = near is null ? "" : $" (did you mean '{near}'?)";
                var at = task.Difficulty.Count == 1 ? task.Path + ".difficulty" : $"{task.Path}.difficulty[{i}]";
                throw new ZooConfigException(file, at, $"unknown difficulty '{name}'{hint}; allowed: {string.Join(", ", allowed)}");
            }
            picked.UnionWith(matches.Select(c => c.Name));
        }
        return changes.Prepend(baselineSetting).Where(c => picked.Contains(c.Name)).ToList();
    }

    // An empty list sweeps over nothing: the cross product would hold no runs and the suite would silently do nothing.
    private static void RejectEmptySweeps(SuiteFile suite)
    {
        var objects = new List<(JsonObject, string)> { (suite.DefaultModel, "defaults.model"), (suite.DefaultTrain, "defaults.train") };
        foreach (var e in suite.Layers.Concat(suite.Tasks))
            objects.AddRange(new[] { (e.Options, e.Path + ".options"), (e.Model, e.Path + ".model"), (e.Train, e.Path + ".train") });
        foreach (var (o, at) in objects)
            foreach (var (key, value) in o)
                if (value is JsonArray { Count: 0 })
                    throw new ZooConfigException(suite.Path, $"{at}.{key}", "empty list, which sweeps over no value and leaves no runs; allowed: a value or a list of at least one");
    }

    /// <summary>Right-most object wins, key by key.</summary>
    public static JsonObject Merge(params JsonObject[] layers)
    {
        var merged = new JsonObject();
        foreach (var o in layers)
            foreach (var (k, v) in o)
                merged[k] = v?.DeepClone();
        return merged;
    }

    /// <summary>The cross product over list-valued fields: <c>{"lr": [1, 2], "b": 3}</c> → two objects.</summary>
    public static IEnumerable<JsonObject> Sweep(JsonObject o)
    {
        IEnumerable<JsonObject> acc = new[] { new JsonObject() };
        foreach (var (key, value) in o)
        {
            var choices = value is JsonArray a ? a.Select(x => x?.DeepClone()).ToList() : new List<JsonNode?> { value?.DeepClone() };
            var k = key;
            acc = acc.SelectMany(prefix => choices.Select(c =>
            {
                var next = (JsonObject)prefix.DeepClone();
                next[k] = c?.DeepClone();
                return next;
            })).ToList();
        }
        return acc;
    }

    internal static JsonElement Element(JsonObject o) => JsonDocument.Parse(o.ToJsonString()).RootElement;
}
