using System.Text.Json;
using System.Text.Json.Nodes;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Runner.Models;
using Zoo.Runner.Training;

namespace Zoo.Runner.Suites;

/// <summary>
/// Expands a suite into runs: layers × tasks × (every list-valued field of model, train and options) × seeds.
/// Entry-level <c>model</c>/<c>train</c> override the defaults (task entry first, then layer entry).
/// Every run is bound and validated before anything trains, so a bad field fails the suite up front.
/// </summary>
public static class SuiteExpander
{
    /// <summary>All runs of <paramref name="suite"/>, in a stable order.</summary>
    public static IReadOnlyList<RunSpec> Expand(SuiteFile suite, ComponentRegistry registry)
    {
        var runs = new List<RunSpec>();
        foreach (var task in suite.Tasks)
        {
            registry.Task(task.Name, suite.Path, task.Path + ".name");
            foreach (var layer in suite.Layers)
            {
                registry.Layer(layer.Name, suite.Path, layer.Path + ".name");
                var where = $"{layer.Path}×{task.Path}";
                var model = Merge(suite.DefaultModel, task.Model, layer.Model);
                var train = Merge(suite.DefaultTrain, task.Train, layer.Train);
                foreach (var m in Sweep(model))
                foreach (var t in Sweep(train))
                foreach (var lo in Sweep(layer.Options))
                foreach (var to in Sweep(task.Options))
                {
                    var modelSpec = OptionsBinder.Bind<ModelSpec>(Element(m), suite.Path, $"{where}: model");
                    var trainSpec = OptionsBinder.Bind<TrainSpec>(Element(t), suite.Path, $"{where}: train");
                    var layerOptions = registry.BindLayerOptions(layer.Name, Element(lo), modelSpec.DModel, suite.Path, layer.Path + ".options");
                    var taskOptions = registry.BindTaskOptions(task.Name, Element(to), suite.Path, task.Path + ".options");
                    foreach (var seed in suite.Seeds)
                        runs.Add(new RunSpec(suite.Name, layer.Name, layerOptions, task.Name, taskOptions, modelSpec, trainSpec, seed, layer.Label));
                }
            }
        }
        var duplicate = runs.GroupBy(r => r.ConfigHash).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ZooConfigException(suite.Path, null, $"two entries describe the same run ({duplicate.First()}); remove one");
        return runs;
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

    private static JsonElement Element(JsonObject o) => JsonDocument.Parse(o.ToJsonString()).RootElement;
}
