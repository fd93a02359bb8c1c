using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.PyBridge;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;
using Zoo.Runner.Models;
using Zoo.Runner.Results;
using Zoo.Runner.Suites;
using Zoo.Runner.Training;

namespace Zoo.Runner;

/// <summary>
/// A trained model on disk with the spec that built it: <c>NAME.json</c> (the run's canonical configuration),
/// <c>NAME.weights</c> (TorchSharp format, what <c>zoo eval</c> loads) and <c>NAME.pt</c> (a PyTorch state dict,
/// <c>torch.load(path)</c>, for analysis in Python). NAME is <c>SUITE-CONFIGHASH</c>.
/// </summary>
public static class Checkpoint
{
    private const int FormatVersion = 1;

    /// <summary>Writes the three files for <paramref name="run"/>; returns the path of the JSON file.</summary>
    public static string Save(string dir, RunSpec run, SequenceModel model)
    {
        Directory.CreateDirectory(dir);
        var stem = Path.Combine(dir, $"{run.Suite}-{run.ConfigHash}");
        var spec = new JsonObject
        {
            ["zoo_checkpoint"] = FormatVersion,
            ["suite"] = run.Suite,
            ["config_hash"] = run.ConfigHash,
            ["run"] = run.ToJson(),
            ["weights"] = Path.GetFileName(stem + ".weights"),
            ["pytorch_state_dict"] = Path.GetFileName(stem + ".pt"),
            ["parameter_names"] = new JsonArray(model.named_parameters().Select(p => (JsonNode)JsonValue.Create(p.name)!).ToArray()),
        };
        AtomicFile.Write(stem + ".weights", tmp => model.save(tmp));
        AtomicFile.Write(stem + ".pt", tmp => model.save_py(tmp));
        AtomicFile.WriteAllText(stem + ".json", spec.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return stem + ".json";
    }

    /// <summary>
    /// Rebuilds the run and its model from <paramref name="jsonPath"/>, with weights from the chosen format. A missing,
    /// cut or foreign weights file, or one that does not fit the model the JSON describes, is a config error naming the
    /// file and the mismatch.
    /// </summary>
    public static (RunSpec Run, SequenceModel Model, ISequenceTask Task) Load(ComponentRegistry registry, string jsonPath, bool fromPyTorch = false)
    {
        if (!File.Exists(jsonPath)) throw new ZooConfigException(jsonPath, null, "checkpoint file not found");
        JsonObject spec;
        try
        {
            var text = File.ReadAllText(jsonPath);
            using (var doc = JsonDocument.Parse(text)) DuplicateKeys.Check(doc.RootElement, jsonPath);
            spec = JsonNode.Parse(text) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException e)
        {
            throw new ZooConfigException(jsonPath, null, $"not a Zoo checkpoint: {e.Message}");
        }
        if (!(spec["zoo_checkpoint"] is JsonValue version && version.TryGetValue<int>(out var v) && v == FormatVersion) || spec["run"] is not JsonObject run)
            throw new ZooConfigException(jsonPath, "zoo_checkpoint", $"not a Zoo checkpoint of format {FormatVersion}");
        string Text(JsonObject o, string key, string at) =>
            o[key] is JsonValue x && x.TryGetValue<string>(out var t) ? t : throw new ZooConfigException(jsonPath, at, "missing or not a string");
        JsonElement E(string key) => run[key] is JsonObject o
            ? JsonDocument.Parse(o.ToJsonString()).RootElement
            : throw new ZooConfigException(jsonPath, $"run.{key}", "missing or not an object");
        var layer = Text(run, "layer", "run.layer");
        var task = Text(run, "task", "run.task");
        var model = OptionsBinder.Bind<ModelSpec>(E("model"), jsonPath, "run.model");
        var spec2 = new RunSpec(
            Text(spec, "suite", "suite"),
            layer, LayerOptions(registry, layer, run, E("layer_options"), model, jsonPath),
            task, registry.BindTaskOptions(task, E("task_options"), jsonPath, "run.task_options"),
            model,
            OptionsBinder.Bind<TrainSpec>(E("train"), jsonPath, "run.train"),
            run["seed"] is JsonValue s && s.TryGetValue<long>(out var seed) ? seed : throw new ZooConfigException(jsonPath, "run.seed", "missing or not an integer"));
        var taskInstance = registry.CreateTask(task, spec2.TaskOptions);
        var built = ModelFactory.Build(registry, layer, spec2.LayerOptions, taskInstance.Signature, model);
        var key = fromPyTorch ? "pytorch_state_dict" : "weights";
        var weights = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!, Path.GetFileName(Text(spec, key, key)));
        try
        {
            if (!File.Exists(weights)) throw new ZooConfigException(weights, null, $"weights file not found (named by {jsonPath})");
            if (fromPyTorch) built.load_py(weights);
            else built.load(weights);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var why = e is ZooConfigException || fromPyTorch ? e.Message.Split('\n')[0] : Mismatch(weights, built) ?? e.Message.Split('\n')[0];
            built.Dispose();
            if (e is ZooConfigException) throw;
            throw new ZooConfigException(weights, null, $"cannot be loaded into the model {Path.GetFileName(jsonPath)} describes: {why}");
        }
        return (spec2, built, taskInstance);
    }

    // A hybrid stack's options ({"stack": […]}, under the stack's name, which no layer has) or a registered layer's.
    // A stack is checked against the model here, where the file is known: an edited checkpoint is the user's to fix.
    private static object LayerOptions(ComponentRegistry registry, string layer, JsonObject run, JsonElement options, ModelSpec model, string jsonPath)
    {
        if (run["layer_options"] is JsonObject { } o && o.ContainsKey("stack") && !registry.Layers.Any(e => e.Name == layer))
        {
            var (name, stack) = HybridStack.FromJson(registry, o, model.DModel, jsonPath, "run.layer_options");
            if (name != layer) throw new ZooConfigException(jsonPath, "run.layer", $"'{layer}' does not name the stack in run.layer_options ({name}); allowed: {name}");
            if (stack is HybridStack hybrid)
            {
                if (model.Kind != ModelKind.Backbone)
                    throw new ZooConfigException(jsonPath, "run.model.kind", $"stack {name} needs the backbone, got '{model.Kind.ToString().ToLowerInvariant()}'; allowed: backbone");
                int period = hybrid.Period.Count;
                if (model.NLayers % period != 0)
                    throw new ZooConfigException(jsonPath, "run.model.n_layers", $"{model.NLayers} is not a multiple of the {period} blocks of stack {name}; allowed: {period}, {2 * period}, {3 * period}, …");
            }
            return stack;
        }
        return registry.BindLayerOptions(layer, options, model.DModel, jsonPath, "run.layer_options");
    }

    // The first difference between the tensors stored in a .weights file and the model's parameters, in words.
    private static string? Mismatch(string weights, SequenceModel model)
    {
        var stored = WeightsFile.Entries(weights);
        var expected = model.state_dict().Select(p => (Name: p.Key, Shape: p.Value.shape)).ToList();
        string Dims(long[] shape) => "[" + string.Join(", ", shape) + "]";
        foreach (var (want, i) in expected.Select((w, i) => (w, i)))
        {
            if (i >= stored.Count)
                return $"it holds {stored.Count} readable tensors, the model has {expected.Count} (file cut short or not a TorchSharp weights file?)";
            if (stored[i].Name != want.Name) return $"tensor {i} is '{stored[i].Name}', the model expects '{want.Name}'";
            if (!stored[i].Shape.SequenceEqual(want.Shape))
                return $"'{want.Name}' is {Dims(stored[i].Shape)} in the file, {Dims(want.Shape)} in the model (sizes in the JSON edited?)";
        }
        return null;
    }
}
