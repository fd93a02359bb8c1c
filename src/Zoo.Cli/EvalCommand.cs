using System.CommandLine;
using System.Text.Json;
using TorchSharp;
using Zoo.Core.Native;
using Zoo.Core.Options;
using Zoo.Core.Tasks;
using Zoo.Runner;
using Zoo.Runner.Training;

namespace Zoo.Cli;

/// <summary><c>zoo eval CHECKPOINT [--task NAME [--task-options JSON]]</c>: re-evaluates a saved model on a test split.</summary>
internal static class EvalCommand
{
    /// <summary>The command.</summary>
    public static Command Create(CliContext cli)
    {
        var checkpointArg = new Argument<string>("checkpoint") { Description = "checkpoint JSON written by zoo run --checkpoints" };
        var taskOption = new Option<string?>("--task") { Description = "evaluate on this task instead of the checkpoint's own" };
        var taskOptionsOption = new Option<string?>("--task-options") { Description = "JSON options for --task" };
        var pytorchOption = new Option<bool>("--from-pytorch") { Description = "load the weights from the PyTorch state dict instead" };
        var deviceOption = ZooCli.DeviceOption();
        var pluginOption = ZooCli.PluginOption();
        var eval = new Command("eval", "re-evaluate a saved model on the test split of its task (or another task)")
        {
            checkpointArg, taskOption, taskOptionsOption, deviceOption, pluginOption, pytorchOption,
        };
        eval.SetAction(p => cli.Guard(p, () =>
        {
            if (p.GetValue(taskOptionsOption) is not null && p.GetValue(taskOption) is null)
                throw new ZooConfigException(null, "--task-options", "given without --task; allowed: --task NAME --task-options JSON (the checkpoint's own task keeps its saved options)");
            var json = p.GetValue(taskOptionsOption) is { } text ? TaskOptions(text) : (JsonElement?)null;   // before any loading
            var registry = ZooComponents.Create(p.GetValue(pluginOption));
            var (spec, model, task) = Checkpoint.Load(registry, p.GetValue(checkpointArg)!, p.GetValue(pytorchOption));
            using var m = model;
            if (p.GetValue(taskOption) is { } name)
            {
                var other = registry.CreateTask(name, registry.BindTaskOptions(name, json, null, "--task-options"));
                if (other.Signature.InputVocab != task.Signature.InputVocab || other.Signature.InputDim != task.Signature.InputDim
                    || other.Signature.OutputDim != task.Signature.OutputDim)
                    throw new ZooConfigException(null, "--task", $"'{name}' has inputs/outputs {other.Signature}, the model was built for {task.Signature}");
                task = other;
            }
            var device = NativeEnvironment.Device(p.GetValue(deviceOption)!);
            m.to(device);
            var (metrics, loss) = new Trainer(device).EvaluateAll(m, task, spec.Train, spec.Seed);
            // A task's further metrics (SelectivBench's accuracy per test gap length) follow the primary one.
            var secondary = ((task as ISecondaryMetrics)?.SecondaryMetrics ?? Array.Empty<string>())
                .Select(name => $", {name} {metrics.GetValueOrDefault(name, double.NaN):F6}");
            cli.Out.WriteLine($"{spec.Layer} ({spec.ConfigHash}) on {p.GetValue(taskOption) ?? spec.Task}: {task.PrimaryMetric} {metrics[task.PrimaryMetric]:F6}, loss {loss:F6}{string.Concat(secondary)}");
            return ExitCode.Ok;
        }));
        return eval;
    }

    // The --task-options JSON; malformed JSON or a key given twice is a config error naming the option.
    private static JsonElement TaskOptions(string text)
    {
        try
        {
            var options = JsonDocument.Parse(text).RootElement;
            DuplicateKeys.Check(options, null, "--task-options");
            return options;
        }
        catch (JsonException e)
        {
            throw new ZooConfigException(null, "--task-options", $"not valid JSON: {e.Message}");
        }
    }
}
