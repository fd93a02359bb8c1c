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

    /// <summary>Rebuilds the run and its model from <paramref name="jsonPath"/>, with weights from the chosen format.</summary>
    public static (RunSpec Run, SequenceModel Model, ISequenceTask Task) Load(ComponentRegistry registry, string jsonPath, bool fromPyTorch = false)
    {
        if (!File.Exists(jsonPath)) throw new ZooConfigException(jsonPath, null, "checkpoint file not found");
        JsonObject spec;
        try
        {
            spec = JsonNode.Parse(File.ReadAllText(jsonPath)) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException e)
        {
            throw new ZooConfigException(jsonPath, null, $"not a Zoo checkpoint: {e.Message}");
        }
        if (spec["zoo_checkpoint"]?.GetValue<int>() != FormatVersion || spec["run"] is not JsonObject run)
            throw new ZooConfigException(jsonPath, "zoo_checkpoint", $"not a Zoo checkpoint of format {FormatVersion}");
        JsonElement E(string key) => JsonDocument.Parse(run[key]!.ToJsonString()).RootElement;
        var layer = run["layer"]!.GetValue<string>();
        var task = run["task"]!.GetValue<string>();
        var model = OptionsBinder.Bind<ModelSpec>(E("model"), jsonPath, "run.model");
        var spec2 = new RunSpec(
            spec["suite"]!.GetValue<string>(),
            layer, registry.BindLayerOptions(layer, E("layer_options"), model.DModel, jsonPath, "run.layer_options"),
            task, registry.BindTaskOptions(task, E("task_options"), jsonPath, "run.task_options"),
            model,
            OptionsBinder.Bind<TrainSpec>(E("train"), jsonPath, "run.train"),
            run["seed"]!.GetValue<long>());
        var taskInstance = registry.CreateTask(task, spec2.TaskOptions);
        var built = ModelFactory.Build(registry, layer, spec2.LayerOptions, taskInstance.Signature, model);
        var dir = Path.GetDirectoryName(Path.GetFullPath(jsonPath))!;
        if (fromPyTorch) built.load_py(Path.Combine(dir, spec["pytorch_state_dict"]!.GetValue<string>()));
        else built.load(Path.Combine(dir, spec["weights"]!.GetValue<string>()));
        return (spec2, built, taskInstance);
    }
}
