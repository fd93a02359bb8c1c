using System.Globalization;
using Zoo.Core.Layers;
using Zoo.Core.Native;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;
using Zoo.Runner.Bench;
using Zoo.Runner.Models;
using Zoo.Runner.Plots;
using Zoo.Runner.Results;
using Zoo.Runner.Suites;
using Zoo.Runner.Training;
using static TorchSharp.torch;

namespace Zoo.Runner;

/// <summary>Settings of one <c>zoo run</c>.</summary>
/// <param name="OutDir">Folder for <c>SUITE.csv</c> and <c>SUITE/</c> (curves, plots); <see cref="DefaultOutDir"/> unless given.</param>
/// <param name="Device">cpu, cuda or cuda:N.</param>
/// <param name="Plugins">Plugin DLLs from the command line (added to the suite's own).</param>
/// <param name="Force">Re-run configurations that already have an ok/diverged row.</param>
/// <param name="Shard">Run only this shard of the expanded runs (cluster arrays).</param>
/// <param name="CheckpointDir">Save each trained model here (null: no checkpoints).</param>
/// <param name="Only">Run only the layer entries with these labels (null: every entry).</param>
/// <param name="SnapshotEvery">Least time between a run's resume snapshots (<see cref="ResumeStore"/>; null: one minute).</param>
public sealed record RunSettings(
    string OutDir = RunSettings.DefaultOutDir,
    string Device = "cpu",
    IReadOnlyList<string>? Plugins = null,
    bool Force = false,
    Shard? Shard = null,
    string? CheckpointDir = null,
    IReadOnlyList<string>? Only = null,
    TimeSpan? SnapshotEvery = null)
{
    /// <summary>
    /// Whether <paramref name="run"/> is among the layers <see cref="Only"/> names (by label, or layer name when the
    /// entry has no label); every run when <see cref="Only"/> is null or empty.
    /// </summary>
    public bool Selects(RunSpec run) => Only is not { Count: > 0 } || Only.Contains(run.DisplayName);

    /// <summary>Whether this process covers run <paramref name="index"/> of the suite: in its <see cref="Shard"/> and <see cref="Selects">selected</see>.</summary>
    public bool Covers(RunSpec run, int index) => (Shard?.Contains(index) ?? true) && Selects(run);

    /// <summary>
    /// Where runs write unless told otherwise: <c>runs/</c>, which git ignores, so trying a suite never changes the
    /// committed <c>results/</c>; publishing there is an explicit <c>--out results</c>.
    /// </summary>
    public const string DefaultOutDir = "runs";
}

/// <summary>What one run produced: its result rows (the primary metric's first, then any post-training metrics), its
/// learning curve and the trajectories a post-training evaluation kept.</summary>
public sealed record RunRecord(IReadOnlyList<ResultRow> Rows, IReadOnlyList<CurveRow> Curve, IReadOnlyList<TrajectoryRow> Trajectories);

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
        var runs = SuiteExpander.Expand(suite, registry);
        CheckOnly(runs, settings, suitePath);
        // Build each distinct task and layer once, so a constructor that throws fails the suite before anything trains;
        // tasks first, so that no layer is built (its weights allocated) for a run whose memory estimate cannot fit.
        var tasks = runs.DistinctBy(r => (r.Task, r.TaskOptionsHash))
            .ToDictionary(r => (r.Task, r.TaskOptionsHash), r => registry.CreateTask(r.Task, r.TaskOptions));
        try
        {
            foreach (var r in runs) CheckMemory(r, tasks[(r.Task, r.TaskOptionsHash)].Signature, suite.Path);
            // Note which layers can start from an encoded activity, for the pairing check below.
            var activityLayers = new HashSet<(string, string, int)>();
            foreach (var r in runs.DistinctBy(r => (r.Layer, r.LayerOptionsHash, r.Model.DModel)))
            {
                if (r.LayerOptions is HybridStack stack)
                {
                    // Backbone only (the expander checked), so no activity state is needed: only the constructors are tried.
                    foreach (var block in stack.Period.DistinctBy(b => b.ToJson().ToJsonString()))
                        registry.CreateLayer(block.Layer, r.Model.DModel, block.Options).Dispose();
                    continue;
                }
                using var layer = registry.CreateLayer(r.Layer, r.Model.DModel, r.LayerOptions);
                if (layer is IActivityState) activityLayers.Add((r.Layer, r.LayerOptionsHash, r.Model.DModel));
            }
            foreach (var r in runs)
                CheckModelFits(r, tasks[(r.Task, r.TaskOptionsHash)], activityLayers.Contains((r.Layer, r.LayerOptionsHash, r.Model.DModel)), suite.Path);
        }
        finally
        {
            foreach (var t in tasks.Values) (t as IDisposable)?.Dispose();
        }
        return (suite, registry, runs);
    }

    // A name in --only that no entry carries is a typo: say which names there are instead of running nothing.
    private static void CheckOnly(IReadOnlyList<RunSpec> runs, RunSettings settings, string suitePath)
    {
        var names = runs.Select(r => r.DisplayName).Distinct().ToList();
        foreach (var name in settings.Only ?? Array.Empty<string>())
            if (!names.Contains(name))
                throw new ZooConfigException(suitePath, "--only", $"no layer entry is named '{name}'; allowed: {string.Join(", ", names)}");
    }

    private static void CheckMemory(RunSpec run, TaskSignature signature, string suitePath)
    {
        var estimate = MemoryEstimate.For(run, signature);
        double available = MemoryEstimate.AvailableBytes;
        if (estimate.TotalBytes > available)
            throw new ZooConfigException(suitePath, "model.d_model / train.batch",
                $"{run} with batch {run.Train.Batch} and length {signature.Length} {estimate.Describe(available)}; allowed: a smaller d_model, batch or task");
    }

    // Tasks that start sequences from an encoded state or drive the trained model need the bare model around a layer
    // that can take that state: refuse the pairing before anything trains.
    private static void CheckModelFits(RunSpec run, ISequenceTask task, bool layerTakesActivity, string suitePath)
    {
        bool needsBare = task.Signature.ContextDim > 0 || task is IPostTrainingEvaluation;
        if (needsBare && run.Model.Kind != ModelKind.Bare)
            throw new ZooConfigException(suitePath, "model.kind", $"task '{run.Task}' needs the bare model (initial state from its context, or post-training replay), got '{run.Model.Kind.ToString().ToLowerInvariant()}'; allowed: bare");
        if (task.Signature.ContextDim > 0) BareModel.RequireActivityState(layerTakesActivity, run.Layer, run.Task, suitePath, "layers");
    }

    /// <summary>Where a suite's rows go: <c>OUT/SUITE.csv</c>, or <c>OUT/SUITE.shard-I-of-N.csv</c> for a shard.</summary>
    public static string ResultsPath(string outDir, string suite, Shard? shard) =>
        Path.Combine(outDir, suite + (shard is null ? "" : shard.FileSuffix) + ".csv");

    /// <summary>
    /// The runs still to do: the runs <paramref name="settings"/> covers (its shard, its <c>--only</c> selection)
    /// without an ok/diverged row in <paramref name="done"/> (all of them with <see cref="RunSettings.Force"/>).
    /// Runs that ended in error or oom are retried.
    /// </summary>
    public static IReadOnlyList<RunSpec> Pending(IReadOnlyList<RunSpec> runs, IEnumerable<ResultRow> done, RunSettings settings)
    {
        var finished = settings.Force ? new HashSet<string>() : done.Where(r => r.Status is "ok" or "diverged").Select(r => r.ConfigHash).ToHashSet();
        return runs.Where((r, i) => settings.Covers(r, i) && !finished.Contains(r.ConfigHash)).ToList();
    }

    /// <summary>
    /// What <see cref="Run"/> would train, without training or writing anything: the plan of the suite (checked as
    /// <see cref="Plan"/> checks it), the results file and which of this shard's runs it already holds.
    /// <paramref name="note"/> hears about rows the results file had to repair on reading.
    /// </summary>
    public static SuitePlan Schedule(string suitePath, RunSettings settings, Action<string>? note = null)
    {
        var (suite, _, runs) = Plan(suitePath, settings);
        var resultsPath = ResultsPath(settings.OutDir, suite.Name, settings.Shard);
        var done = new CsvTable<ResultRow>(resultsPath, note).Read();
        var pending = Pending(runs, done, settings).Select(r => r.ConfigHash).ToHashSet();
        var inShard = runs.Where(settings.Covers)
            .Select(r => new PlannedRun(r, pending.Contains(r.ConfigHash))).ToList();
        return new SuitePlan(suite, resultsPath, runs.Count, inShard, pending.Count, settings.Shard);
    }

    /// <summary>
    /// Runs every pending run of the suite and returns the rows written. Every output is checked for writability
    /// before anything trains; each run is claimed first (<see cref="RunClaim"/>), so processes sharing a suite and a
    /// results file split its runs.
    /// </summary>
    public IReadOnlyList<ResultRow> Run(string suitePath, RunSettings settings)
    {
        var (suite, registry, runs) = Plan(suitePath, settings);
        var device = NativeEnvironment.Device(settings.Device);
        var outputs = SuiteOutputs.For(settings, suite.Name, _reporter.Note);
        outputs.CheckWritable(runs.Select(r => r.Task).Distinct());
        var (results, curves, trajectories) = (outputs.Results, outputs.Curves, outputs.Trajectories);
        var before = results.Read(); // Read also refuses another schema
        var pending = Pending(runs, before, settings);
        curves.Read();
        trajectories.Read();
        _reporter.SuitePlanned(runs.Where(settings.Covers).Count(), pending.Count);
        var provenance = Provenance.Capture(Path.GetDirectoryName(Path.GetFullPath(suitePath)) ?? ".");
        var rows = new List<ResultRow>();
        for (int i = 0; i < pending.Count; i++)
        {
            using var claim = RunClaim.TryTake(results.Path, pending[i].ConfigHash);
            // Another process holds the run, or finished it since this one planned: its rows are (or will be) there.
            if (claim is null || results.Read().Skip(before.Count).Any(r => r.ConfigHash == pending[i].ConfigHash))
            {
                _reporter.Note($"[{i + 1}/{pending.Count}] {pending[i].DisplayName} · {pending[i].Task} · seed {pending[i].Seed}: " +
                               $"{(claim is null ? "being trained by another process" : "finished by another process")}, skipped");
                continue;
            }
            _reporter.RunStarted(i + 1, pending.Count, pending[i]);
            var resume = new ResumeStore(ResumeStore.FolderFor(settings.OutDir, suite.Name, pending[i].ConfigHash), settings.SnapshotEvery);
            if (settings.Force) resume.Clear();
            else if (resume.SavedStep is { } from) _reporter.Note($"resuming at step {from} from {resume.Folder}");
            var record = RunOne(registry, pending[i], device, provenance, settings.CheckpointDir, resume);
            curves.Append(record.Curve);
            if (record.Trajectories.Count > 0) trajectories.Append(record.Trajectories);
            results.Append(record.Rows);
            resume.Clear();   // after the rows: a stop before them resumes again
            rows.AddRange(record.Rows);
            _reporter.RunFinished(record.Rows[0]);
        }
        // Plots are redrawn from everything stored, also when nothing was pending (e.g. after merging shards).
        Redraw(suite, registry, runs, outputs);
        return rows;
    }

    /// <summary>
    /// Redraws the suite's figures (learning curves, replay plots) from the rows and curves stored under
    /// <paramref name="settings"/>' output folder, training nothing (<c>zoo run --plots-only</c>); returns the files written.
    /// </summary>
    public IReadOnlyList<string> Redraw(string suitePath, RunSettings settings)
    {
        var (suite, registry, runs) = Plan(suitePath, settings);
        var outputs = SuiteOutputs.For(settings, suite.Name, _reporter.Note);
        outputs.CheckWritable(runs.Select(r => r.Task).Distinct());
        return Redraw(suite, registry, runs, outputs);
    }

    private static IReadOnlyList<string> Redraw(SuiteFile suite, ComponentRegistry registry, IReadOnlyList<RunSpec> runs, SuiteOutputs outputs)
    {
        var (results, curves, trajectories) = (outputs.Results, outputs.Curves, outputs.Trajectories);
        if (!File.Exists(curves.Path)) return Array.Empty<string>();
        var curveRows = curves.Read();
        var files = LearningCurvePlot.Write(curveRows, outputs.SuiteDir, suite.Name, CurveInfo(runs, registry)).ToList();
        var kept = trajectories.Read();
        if (kept.Count > 0)
            files.AddRange(ReplayPlots.Write(results.Read(), kept, runs.ToDictionary(r => r.ConfigHash, r => r.DisplayName), outputs.SuiteDir, suite.Name, curveRows));
        return files;
    }

    // What the learning-curve figure needs per run: its panel (task options), its line (configuration without the
    // seed) and the chance line.
    private static Dictionary<string, CurveRunInfo> CurveInfo(IReadOnlyList<RunSpec> runs, ComponentRegistry registry)
    {
        var chance = ChanceLevels.From(registry);
        var info = new Dictionary<string, CurveRunInfo>();
        foreach (var r in runs)
        {
            var taskOptions = OptionsBinder.ToJson(r.TaskOptions).ToJsonString();
            var withoutSeed = r.ToJson();
            withoutSeed.Remove("seed");
            info[r.ConfigHash] = new CurveRunInfo(taskOptions, withoutSeed.ToJsonString(), chance(r.Task, taskOptions),
                $"d_model {r.Model.DModel}, lr {r.Train.Lr:G3}");
        }
        return info;
    }

    /// <summary>
    /// Trains one run (and, for tasks that have one, runs the post-training evaluation) and turns the outcome into rows;
    /// failures become rows with a status, not exceptions. With <paramref name="resume"/> the run saves snapshots there
    /// and starts from the one it holds.
    /// </summary>
    public RunRecord RunOne(ComponentRegistry registry, RunSpec run, Device device, Provenance provenance,
        string? checkpointDir = null, ResumeStore? resume = null)
    {
        var task = registry.CreateTask(run.Task, run.TaskOptions);
        manual_seed(run.Seed); // parameter init is the only use of torch's global generator in a run
        long parameters = 0, stateSize = 0;
        var peak = PeakMemory.Start(device); // covers building, training and the post-training evaluation
        RunOutcome outcome;
        PostTrainingResult? post = null;
        try
        {
            using var model = ModelFactory.Build(registry, run.Layer, run.LayerOptions, task.Signature, run.Model);
            parameters = model.ParameterCount();
            stateSize = model.StateSize(task.Signature.Length);
            outcome = new Trainer(device).Train(model, task, run.Train, run.Seed, _reporter.Progress, resume);
            if (checkpointDir is not null && outcome.Status == RunStatus.Ok) Checkpoint.Save(checkpointDir, run, model);
            if (outcome.Status == RunStatus.Ok && task is IPostTrainingEvaluation evaluation && model is IDrivableModel drivable)
                post = evaluation.EvaluateAfterTraining(drivable, run.Seed);
        }
        // A caller that cancels stops the suite: a stopped run is no result (its resume snapshot stays for the next run).
        catch (Exception e) when (e is not (ZooConfigException or OperationCanceledException))
        {
            bool oom = AllocationFailure.Is(e);
            outcome = new RunOutcome(oom ? RunStatus.Oom : RunStatus.Error, double.NaN, -1, double.NaN, 0, 0, 0,
                Array.Empty<CurvePoint>(), $"{e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
        var row = new ResultRow
        {
            Suite = run.Suite,
            ConfigHash = run.ConfigHash,
            Layer = run.Layer,
            Label = run.Label ?? "",
            LayerOptionsHash = run.LayerOptionsHash,
            LayerOptions = run.LayerOptionsJson().ToJsonString(),
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
            Metric = outcome.Metric ?? task.PrimaryMetric,
            Value = Math.Round(outcome.BestMetric, 6),
            FinalValue = Math.Round(outcome.FinalMetric, 6),
            BestStep = outcome.BestStep,
            TrainTokensPerSecond = Math.Round(outcome.TrainTokensPerSecond, 1),
            WallSeconds = Math.Round(outcome.WallSeconds, 2),
            Device = NativeEnvironment.DeviceLabel(device),
            TorchVersion = provenance.TorchVersion,
            TorchSharpVersion = provenance.TorchSharpVersion,
            Commit = provenance.Commit,
            SuiteCommit = provenance.SuiteCommit,
            PeakMemoryBytes = peak.Bytes(),
            Status = outcome.Status.ToString().ToLowerInvariant(),
            End = outcome.End?.ToString().ToLowerInvariant() ?? "",
            StepsToHalf = outcome.StepsToHalf,
            StepsToNineTenths = outcome.StepsToNineTenths,
            Message = outcome.Message,
            Utc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        var curve = outcome.Curve.Select(p => new CurveRow
        {
            ConfigHash = row.ConfigHash, Layer = run.DisplayName, Task = run.Task, Seed = run.Seed, Step = p.Step,
            TrainLoss = Math.Round(p.TrainLoss, 6), TestLoss = Math.Round(p.TestLoss, 6), Metric = task.PrimaryMetric, Value = Math.Round(p.TestMetric, 6),
            Level = p.Level,
        }).ToList();
        // A post-training evaluation measures the model as training left it: at the last evaluation, which for an
        // until run can come before the step cap.
        int endStep = outcome.Curve.Count > 0 ? outcome.Curve[^1].Step : run.Train.Steps;
        var extra = (outcome.Extra ?? new Dictionary<string, double>()).Select(m => (m.Key, m.Value, Final: m.Value, Step: outcome.BestStep))
            .Concat((outcome.Secondary ?? Array.Empty<SecondaryMetric>()).Select(m => (Key: m.Name, Value: m.AtBest, m.Final, Step: outcome.BestStep)))
            .Concat((post?.Metrics ?? new Dictionary<string, double>()).Select(m => (m.Key, m.Value, Final: m.Value, Step: endStep)))
            .Select(m => row with { Metric = m.Key, Value = Math.Round(m.Value, 6), FinalValue = Math.Round(m.Final, 6), BestStep = m.Step, StepsToHalf = null, StepsToNineTenths = null });
        var kept = (post?.Trajectories ?? Array.Empty<TrajectorySample>()).SelectMany(s => s.Points.Select((p, t) => new TrajectoryRow
        {
            ConfigHash = row.ConfigHash, Label = run.DisplayName, Task = run.Task, TaskOptionsHash = row.TaskOptionsHash, Seed = run.Seed,
            Kind = s.Kind, Index = s.Index, T = t, X = Math.Round(p[0], 5), Y = Math.Round(p[1], 5),
        })).ToList();
        return new RunRecord(new[] { row }.Concat(extra).ToList(), curve, kept);
    }
}
