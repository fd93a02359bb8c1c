using Zoo.Core.Options;
using Zoo.Runner;
using Zoo.Runner.Models;
using Zoo.Runner.Results;
using Zoo.Runner.Suites;
using Zoo.Runner.Training;
using Zoo.Tasks.Recall;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>A run stopped mid-way goes on from its last snapshot and ends exactly where an uninterrupted run ends.</summary>
public sealed class ResumeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-resume-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // A cancellation passes through SuiteRunner.RunOne (any other exception becomes an error row), like a killed process.
    private sealed class Interrupted(int atStep) : OperationCanceledException($"stopped at step {atStep}");

    private static readonly MqarOptions Tiny = new() { Vocab = 32, Length = 16, Pairs = 2, TrainExamples = 0, TestExamples = 32 };

    // Two AdamW groups (fla's scope exempts A_log and dt_bias), an until cap the run reaches, evaluations every 5 steps.
    private static readonly TrainSpec Spec = new()
    {
        Steps = 30, Batch = 8, Lr = 1e-2, Warmup = 5, EvalEvery = 5, WeightDecayScope = WeightDecayScope.Fla,
        Until = new UntilSpec { Target = 2.0, Patience = 50, MaxSteps = 30 },
    };

    private static (RunOutcome Outcome, float[] Weights) Train(string layer, ResumeStore? store, int? stopAt = null)
    {
        var registry = TestSupport.Registry();
        var task = new Mqar(Tiny);
        var model = new ModelSpec { DModel = 16, NLayers = 1, MlpRatio = 1 };
        manual_seed(3);   // as SuiteRunner seeds before building: the resumed process builds the same model first
        using var built = ModelFactory.Build(registry, layer, registry.BindLayerOptions(layer, null, model.DModel), task.Signature, model);
        var outcome = new Trainer(CPU).Train(built, task, Spec, seed: 1,
            p => { if (p.Step == stopAt) throw new Interrupted(p.Step); }, store);
        var weights = built.parameters().SelectMany(p => p.detach().to(ScalarType.Float32).reshape(-1).data<float>().ToArray()).ToArray();
        return (outcome, weights);
    }

    [Theory]
    [InlineData("gated-deltanet")]
    [InlineData("mom")]   // with its load-balancing loss
    public void A_run_stopped_after_an_evaluation_resumes_to_the_same_weights_and_curve(string layer)
    {
        var (straight, weights) = Train(layer, store: null);
        var store = new ResumeStore(Path.Combine(_dir, layer), TimeSpan.Zero);
        Assert.Throws<Interrupted>(() => Train(layer, store, stopAt: 15));
        Assert.Equal(15, store.SavedStep);
        var (resumed, resumedWeights) = Train(layer, store);

        Assert.Equal(weights, resumedWeights);   // bit for bit on the CPU: AdamW's moments and step counts came back
        Assert.Equal(straight.Curve, resumed.Curve);
        Assert.Equal((straight.BestMetric, straight.BestStep, straight.FinalMetric, straight.TokensSeen, straight.End),
            (resumed.BestMetric, resumed.BestStep, resumed.FinalMetric, resumed.TokensSeen, resumed.End));
        Assert.Equal(RunEnd.Cap, resumed.End);
        Assert.Equal(25, store.SavedStep);   // the last evaluation before the final one (the trainer's caller clears the store)
    }

    private string Suite() => Write("resume.json", """
        { "name": "resume", "defaults": { "model": { "kind": "bare", "d_model": 8 }, "train": { "batch": 16, "lr": 3e-2, "warmup": 0, "eval_every": 2, "steps": 12 }, "seeds": [0] },
          "layers": [ "lstm" ], "tasks": [ { "name": "binary-timescales", "options": { "n": 1, "length": 8, "test_examples": 64 } } ] }
        """);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private sealed class StopAt(int step) : IRunReporter
    {
        public void SuitePlanned(int total, int pending) { }
        public void RunStarted(int index, int total, RunSpec run) { }
        public void Progress(TrainProgress progress) { if (progress.Step == step) throw new Interrupted(step); }
        public void RunFinished(ResultRow row) { }
    }

    [Fact]
    public void A_suite_run_killed_mid_way_resumes_and_writes_the_rows_of_an_uninterrupted_run()
    {
        var suite = Suite();
        var straight = new SuiteRunner().Run(suite, new RunSettings(Path.Combine(_dir, "straight"))).Single();
        var settings = new RunSettings(Path.Combine(_dir, "out"), SnapshotEvery: TimeSpan.Zero);
        Assert.Throws<Interrupted>(() => new SuiteRunner(new StopAt(6)).Run(suite, settings));
        var folder = ResumeStore.FolderFor(settings.OutDir, "resume", straight.ConfigHash);
        Assert.Equal(6, new ResumeStore(folder).SavedStep);
        Assert.Empty(new CsvTable<ResultRow>(SuiteRunner.ResultsPath(settings.OutDir, "resume", null)).Read());

        var resumed = new SuiteRunner().Run(suite, settings).Single();
        Assert.Equal((straight.Value, straight.FinalValue, straight.BestStep, straight.TokensSeen, straight.End, straight.Status),
            (resumed.Value, resumed.FinalValue, resumed.BestStep, resumed.TokensSeen, resumed.End, resumed.Status));
        var curve = new CsvTable<CurveRow>(Path.Combine(settings.OutDir, "resume", "curves.csv")).Read();
        var straightCurve = new CsvTable<CurveRow>(Path.Combine(_dir, "straight", "resume", "curves.csv")).Read();
        Assert.Equal(straightCurve.Select(c => (c.Step, c.TrainLoss, c.Value, c.TestLoss)), curve.Select(c => (c.Step, c.TrainLoss, c.Value, c.TestLoss)));
        Assert.False(Directory.Exists(folder));   // cleared once the rows are written
    }

    [Fact]
    public void A_damaged_snapshot_is_a_config_error_naming_its_folder()
    {
        var suite = Suite();
        var settings = new RunSettings(Path.Combine(_dir, "out"), SnapshotEvery: TimeSpan.Zero);
        var hash = SuiteRunner.Plan(suite, settings).Runs.Single().ConfigHash;
        var folder = ResumeStore.FolderFor(settings.OutDir, "resume", hash);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "snapshot.json"), "{ \"Version\": 1, \"Snapshot\": { \"Step\": ");
        var e = Assert.Throws<ZooConfigException>(() => new SuiteRunner().Run(suite, settings));
        Assert.Contains(folder, e.Message);
        Assert.Contains("--force", e.Message);
        Assert.Single(new SuiteRunner().Run(suite, settings with { Force = true }));   // --force starts over
    }
}
