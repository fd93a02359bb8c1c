using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Zoo.Core.Options;
using Zoo.Runner.Models;
using Zoo.Runner.Training;

namespace Zoo.Runner.Suites;

/// <summary>
/// One fully bound run: layer × task × model × train × seed. <see cref="ConfigHash"/> identifies it: the same
/// configuration, however spelt in the suite file, gets the same hash. <see cref="Setting"/> names the difficulty
/// setting the run came from and <see cref="Label"/> the layer variant (both for display only: what they stand for is in
/// the options and the hash).
/// </summary>
public sealed record RunSpec(
    string Suite,
    string Layer,
    object LayerOptions,
    string Task,
    object TaskOptions,
    ModelSpec Model,
    TrainSpec Train,
    long Seed,
    string Setting = "",
    string? Label = null)
{
    /// <summary>The label, or the layer name when the suite gave none.</summary>
    public string DisplayName => Label ?? Layer;

    /// <summary>Canonical JSON of the whole configuration.</summary>
    public JsonObject ToJson() => new()
    {
        ["layer"] = Layer,
        ["layer_options"] = LayerOptionsJson(),
        ["task"] = Task,
        ["task_options"] = OptionsBinder.ToJson(TaskOptions),
        ["model"] = OptionsBinder.ToJson(Model),
        ["train"] = TrainJson(),
        ["seed"] = Seed,
    };

    // A fixed-budget run hashes as it did before until existed: the key is left out, not written as null.
    private JsonObject TrainJson()
    {
        var train = OptionsBinder.ToJson(Train);
        if (Train.Until is null) train.Remove("until");
        return train;
    }

    /// <summary>Stable id of the configuration (16 hex digits of SHA-256 over the canonical JSON).</summary>
    public string ConfigHash => Hash(ToJson().ToJsonString());

    /// <summary>
    /// The layer options as canonical JSON: every field of the options record, or for a hybrid stack
    /// <see cref="HybridStack.ToJson"/>'s <c>{"stack": […]}</c>.
    /// </summary>
    public JsonObject LayerOptionsJson() => LayerOptions is HybridStack stack ? stack.ToJson() : OptionsBinder.ToJson(LayerOptions);

    /// <summary>Hash of the layer options alone.</summary>
    public string LayerOptionsHash => Hash(LayerOptionsJson().ToJsonString());

    /// <summary>Hash of the task options alone.</summary>
    public string TaskOptionsHash => Hash(OptionsBinder.ToJson(TaskOptions).ToJsonString());

    /// <summary>Short human label: layer, task, seed.</summary>
    public override string ToString() => $"{DisplayName} on {Task}{(Setting.Length == 0 ? "" : $" [{Setting}]")} (d_model {Model.DModel}, lr {Train.Lr:G3}, seed {Seed})";

    /// <summary>The 16-hex-digit SHA-256 prefix every config hash is made of (suites' runs, the studies' networks).</summary>
    public static string Hash(string text) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16].ToLowerInvariant();
}
