using System.Globalization;
using Zoo.Core.Native;
using Zoo.Core.Registry;
using Zoo.Runner.Models;
using Zoo.Runner.Plots;
using Zoo.Runner.Results;
using Zoo.Runner.Suites;
using Zoo.Runner.Training;
using static TorchSharp.torch;

namespace Zoo.Runner;

/// <summary>Settings of one <c>zoo run</c>.</summary>
/// <param name="OutDir">Folder for <c>SUITE.csv</c> and <c>SUITE/</c> (curves, plots).</param>
/// <param name="Device">cpu, cuda or cuda:N.</param>
/// <param name="Plugins">Plugin DLLs from the command line (added to the suite's own).</param>
public sealed record RunSettings(string OutDir = "results", string Device = "cpu", IReadOnlyList<string>? Plugins = null);

/// <summary>
/// Runs a suite: loads plugins, expands and validates every run up front, trains each, and appends one result row
/// per run (plus its learning curve) as soon as it ends, so an interrupted suite keeps what finished.
/// </summary>
public sealed class SuiteRunner
{
    private readonly IRunReporter _reporter;

    /// <summary>Reports progress to <paramref name="reporter"/>.</summary>
    public SuiteRunner(IRunReporter? reporter = null) => _reporter = reporter ?? new SilentReporter();

    /// <summary>Loads, checks and expands the suite without training anything.</summary>
    public static (SuiteFile Suite, ComponentRegistry Registry, IReadOnlyList<RunSpec> Runs) Plan(string suitePath, RunSettings settings)
    {
        var suite = SuiteFile.Load(suitePath);
        var registry = ZooComponents.Create(suite.PluginPaths(), suitePath);
        foreach (var p in settings.Plugins ?? Array.Empty<string>()) PluginLoader.Load(registry, p);
        return (suite, registry, SuiteExpander.Expand(suite, registry));
    }

    /// <summary>Runs every run of the suite and returns the rows written.</summary>
    public IReadOnlyList<ResultRow> Run(string suitePath, RunSettings settings)
    {
        var (suite, registry, runs) = Plan(suitePath, settings);
        var device = NativeEnvironment.Device(settings.Device);
        var results = new CsvTable<ResultRow>(Path.Combine(settings.OutDir, suite.Name + ".csv"));
        var suiteDir = Path.Combine(settings.OutDir, suite.Name);
        var curves = new CsvTable<CurveRow>(Path.Combine(suiteDir, "curves.csv"));
        results.Read(); // fail early on a file of another schema
        curves.Read();
        var provenance = Provenance.Capture(Path.GetDirectoryName(Path.GetFullPath(suitePath)) ?? ".");
        var rows = new List<ResultRow>();
        for (int i = 0; i < runs.Count; i++)
        {
            _reporter.RunStarted(i + 1, runs.Count, runs[i]);
            var (row, curve) = RunOne(registry, runs[i], device, provenance);
            curves.Append(curve);
            results.Append(new[] { row });
            rows.Add(row);
            _reporter.RunFinished(row);
        }
        LearningCurvePlot.Write(curves.Read(), suiteDir, suite.Name);
        return rows;
    }

    /// <summary>Trains one run and turns the outcome into a row; failures become rows with a status, not exceptions.</summary>
    public (ResultRow Row, IReadOnlyList<CurveRow> Curve) RunOne(ComponentRegistry registry, RunSpec run, Device device, Provenance provenance)
    {
        var task = registry.CreateTask(run.Task, run.TaskOptions);
        manual_seed(run.Seed); // parameter init is the only use of torch's global generator in a run
        long parameters = 0, stateSize = 0;
        RunOutcome outcome;
        try
        {
            using var model = ModelFactory.Build(registry, run.Layer, run.LayerOptions, task.Signature, run.Model);
            parameters = model.ParameterCount();
            stateSize = model.StateSize(task.Signature.Length);
            outcome = new Trainer(device).Train(model, task, run.Train, run.Seed, _reporter.Progress);
        }
        catch (Exception e) when (e is not Zoo.Core.Options.ZooConfigException)
        {
            bool oom = e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || e is OutOfMemoryException;
            outcome = new RunOutcome(oom ? RunStatus.Oom : RunStatus.Error, double.NaN, -1, double.NaN, 0, 0, 0,
                Array.Empty<CurvePoint>(), $"{e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
        var row = new ResultRow
        {
            Suite = run.Suite,
            ConfigHash = run.ConfigHash,
            Layer = run.Layer,
            LayerOptionsHash = run.LayerOptionsHash,
            LayerOptions = Zoo.Core.Options.OptionsBinder.ToJson(run.LayerOptions).ToJsonString(),
            Task = run.Task,
            TaskOptionsHash = run.TaskOptionsHash,
            TaskOptions = Zoo.Core.Options.OptionsBinder.ToJson(run.TaskOptions).ToJsonString(),
            ModelKind = run.Model.Kind.ToString().ToLowerInvariant(),
            DModel = run.Model.DModel,
            NLayers = run.Model.Kind == ModelKind.Bare ? 1 : run.Model.NLayers,
            Params = parameters,
            StateSize = stateSize,
            Seed = run.Seed,
            Lr = run.Train.Lr,
            Steps = run.Train.Steps,
            Batch = run.Train.Batch,
            TokensSeen = outcome.TokensSeen,
            Metric = task.PrimaryMetric,
            Value = Math.Round(outcome.BestMetric, 6),
            FinalValue = Math.Round(outcome.FinalMetric, 6),
            BestStep = outcome.BestStep,
            TrainTokensPerSecond = Math.Round(outcome.TrainTokensPerSecond, 1),
            WallSeconds = Math.Round(outcome.WallSeconds, 2),
            Device = NativeEnvironment.DeviceLabel(device),
            TorchVersion = provenance.TorchVersion,
            TorchSharpVersion = provenance.TorchSharpVersion,
            Commit = provenance.Commit,
            Status = outcome.Status.ToString().ToLowerInvariant(),
            Message = outcome.Message,
            Utc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        var curve = outcome.Curve.Select(p => new CurveRow
        {
            ConfigHash = row.ConfigHash, Layer = run.Layer, Task = run.Task, Seed = run.Seed, Step = p.Step,
            TrainLoss = Math.Round(p.TrainLoss, 6), TestLoss = Math.Round(p.TestLoss, 6), Metric = task.PrimaryMetric, Value = Math.Round(p.TestMetric, 6),
        }).ToList();
        return (row, curve);
    }
}
