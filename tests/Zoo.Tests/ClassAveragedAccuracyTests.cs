using Zoo.Core.Tasks;
using Zoo.Runner;
using Zoo.Runner.Models;
using Zoo.Runner.Results;
using Zoo.Runner.Training;
using Zoo.Tasks.Recall;
using Zoo.Tasks.Selectivity;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// MAD's accuracy (torchmetrics' multiclass default, averaged per class) beside Zoo's per-position accuracy: a hand-computed
/// case, the tensor form against the reference, the trainer's tally over a test set, and the second result row.
/// </summary>
public sealed class ClassAveragedAccuracyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-macro-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Logits [1, L, C] whose argmax is predicted[t].
    private static Tensor Logits(long[] predicted, int classes)
    {
        var logits = zeros(1, predicted.Length, classes, dtype: ScalarType.Float64);
        for (int t = 0; t < predicted.Length; t++) logits[0, t, predicted[t]] = 1.0;
        return logits;
    }

    [Fact]
    public void A_hand_computed_case()
    {
        // Scored positions (target → prediction): 0→0, 0→1, 1→1, 2→2, 2→0, 2→3; two unscored positions predict 4 and
        // would be right (targets 4) if they counted. Per class (torchmetrics: tp / (tp + fn) over classes with
        // tp + fp + fn > 0): class 0 1/2, class 1 1/1, class 2 1/3, class 3 0 (only predicted), class 4 absent.
        // Macro = (1/2 + 1 + 1/3 + 0) / 4 = 11/24; per position = 3/6.
        long[] targets = { 0, 0, 1, 2, 2, 2, 4, 4 }, predicted = { 0, 1, 1, 2, 0, 3, 4, 4 };
        bool[] scored = { true, true, true, true, true, true, false, false };
        using var scope = NewDisposeScope();
        using var batch = new TaskBatch(zeros(1, 8, dtype: ScalarType.Int64), tensor(targets).reshape(1, 8), tensor(scored).reshape(1, 8));
        var logits = Logits(predicted, 5);
        var tally = TokenClassification.ClassCounts(logits, batch);
        Assert.Equal(new long[] { 1, 1, 1, 0, 0 }, tally.Correct);
        Assert.Equal(new long[] { 2, 1, 3, 0, 0 }, tally.Targets);
        Assert.Equal(new long[] { 2, 2, 1, 1, 0 }, tally.Predicted);
        Assert.Equal(11.0 / 24, tally.MacroAccuracy, 15);
        Assert.Equal(0.5, TokenClassification.Accuracy(logits, batch).Mean, 15);
        Assert.True(double.IsNaN(new ClassTally(new long[3], new long[3], new long[3]).MacroAccuracy));   // nothing scored
    }

    [Fact]
    public void The_tensor_form_equals_the_reference_and_tallies_add_over_batches()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(5);
        const int b = 6, l = 20, classes = 7;
        var logits = randn(new long[] { b, l, classes }, dtype: ScalarType.Float64, generator: gen);
        var targets = randint(0, classes, new long[] { b, l }, generator: gen);
        var mask = rand(new long[] { b, l }, generator: gen).lt(0.6);
        using var batch = new TaskBatch(zeros(b, l, dtype: ScalarType.Int64), targets, mask);
        var p = logits.argmax(-1).data<long>().ToArray();
        var t = targets.data<long>().ToArray();
        var m = mask.data<bool>().ToArray();
        var reference = ClassTally.Of(Enumerable.Range(0, b * l).Where(i => m[i]).Select(i => (p[i], t[i])), classes);
        var whole = TokenClassification.ClassCounts(logits, batch);
        Assert.Equal(reference.Correct, whole.Correct);
        Assert.Equal(reference.Targets, whole.Targets);
        Assert.Equal(reference.Predicted, whole.Predicted);
        using var first = new TaskBatch(batch.Inputs[..2], targets[..2], mask[..2]);
        using var rest = new TaskBatch(batch.Inputs[2..], targets[2..], mask[2..]);
        var summed = TokenClassification.ClassCounts(logits[..2], first) + TokenClassification.ClassCounts(logits[2..], rest);
        Assert.Equal(reference.MacroAccuracy, summed.MacroAccuracy, 15);
    }

    [Fact]
    public void The_trainer_reports_the_class_averaged_accuracy_of_the_whole_test_set()
    {
        var registry = TestSupport.Registry();
        var task = new SelectiveCopying(new SelectiveCopyingOptions { Vocab = 8, Length = 16, Copies = 3, TestExamples = 20 });
        var spec = new ModelSpec { DModel = 16, NLayers = 1, MlpRatio = 1 };
        using var model = ModelFactory.Build(registry, "lstm", registry.BindLayerOptions("lstm", null, 16), task.Signature, spec);
        var train = new TrainSpec { Steps = 2, Batch = 8, Warmup = 1, EvalEvery = 2 };
        var (metrics, _) = new Trainer(CPU).EvaluateAll(model, task, train, seed: 2);
        // The same model scored by hand on the same 20 test examples (batches of 8, 8, 4).
        var pairs = new List<(long, long)>();
        model.eval();
        using (no_grad())
        using (var batch = task.Batch(Split.Test, 2, 0, 20))
        {
            var p = model.Forward(batch).argmax(-1).data<long>().ToArray();
            var t = batch.Targets.data<long>().ToArray();
            var m = batch.Mask.data<bool>().ToArray();
            pairs.AddRange(Enumerable.Range(0, p.Length).Where(i => m[i]).Select(i => (p[i], t[i])));
        }
        Assert.Equal(60, pairs.Count);
        Assert.Equal(ClassTally.Of(pairs, 8).MacroAccuracy, metrics[IClassAveragedAccuracy.MetricName], 6);
        Assert.Equal(pairs.Count(x => x.Item1 == x.Item2) / 60.0, metrics["accuracy"], 6);
    }

    [Fact]
    public void Mad_tasks_write_a_second_row_and_other_tasks_do_not()
    {
        var suite = Path.Combine(_dir, "macro.json");
        File.WriteAllText(suite, """
            { "name": "macro", "defaults": { "model": { "d_model": 8, "n_layers": 1, "mlp_ratio": 0 }, "train": { "steps": 4, "batch": 4, "warmup": 1, "eval_every": 2 } },
              "layers": [ "lstm" ],
              "tasks": [ { "name": "selective-copying", "options": { "vocab": 8, "length": 16, "copies": 3, "test_examples": 8 } },
                         { "name": "mqar", "options": { "vocab": 16, "length": 8, "pairs": 1, "test_examples": 4 } } ] }
            """);
        new SuiteRunner().Run(suite, new RunSettings(Path.Combine(_dir, "out")));
        var rows = new CsvTable<ResultRow>(Path.Combine(_dir, "out", "macro.csv")).Read();
        var copying = rows.Where(r => r.Task == "selective-copying").ToList();
        Assert.Equal(new[] { "accuracy", IClassAveragedAccuracy.MetricName }, copying.Select(r => r.Metric));
        Assert.Single(copying.Select(r => r.ConfigHash).Distinct());
        Assert.Equal(copying[0].BestStep, copying[1].BestStep);              // measured at the evaluation the primary metric was best
        Assert.InRange(copying[1].Value, 0, 1);
        Assert.InRange(copying[1].FinalValue, 0, 1);
        Assert.Equal(new[] { "accuracy" }, rows.Where(r => r.Task == "mqar").Select(r => r.Metric));
        // The leaderboard keeps the primary metric first and the macro accuracy as a table of its own.
        var entries = Leaderboard.Build(rows);
        Assert.Contains(entries, e => e.Task == "selective-copying" && e.Metric == IClassAveragedAccuracy.MetricName && !e.Primary);
        Assert.Contains(entries, e => e.Task == "selective-copying" && e.Metric == "accuracy" && e.Primary);
    }

    [Fact]
    public void The_five_mad_tasks_report_it_and_zoologys_do_not()
    {
        Assert.IsAssignableFrom<IClassAveragedAccuracy>(new InContextRecall(new InContextRecallOptions()));
        Assert.IsAssignableFrom<IClassAveragedAccuracy>(new FuzzyInContextRecall(new FuzzyInContextRecallOptions()));
        Assert.IsAssignableFrom<IClassAveragedAccuracy>(new SelectiveCopying(new SelectiveCopyingOptions()));
        Assert.IsAssignableFrom<IClassAveragedAccuracy>(new Compression(new CompressionOptions()));
        Assert.IsAssignableFrom<IClassAveragedAccuracy>(new Memorization(new MemorizationOptions()));
        Assert.False(typeof(IClassAveragedAccuracy).IsAssignableFrom(typeof(Mqar)));
        Assert.False(typeof(IClassAveragedAccuracy).IsAssignableFrom(typeof(InductionHeads)));
    }
}
