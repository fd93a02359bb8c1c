using Zoo.Core.Layers;
using Zoo.Core.Tasks;
using Zoo.Runner;
using Zoo.Runner.Models;
using Zoo.Runner.Training;
using Zoo.Tasks.Timescales;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>N-parity / N-DMS curricula: head masking, level changes in the trainer, max_n in the result rows.</summary>
public sealed class CurriculumTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-curriculum-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TimescaleCurriculum Multi(int maxN, TimescaleRule rule = TimescaleRule.Parity, int startN = 1) =>
        new(new TimescaleCurriculumOptions { Rule = rule, Heads = CurriculumHeads.Multi, StartN = startN, MaxN = maxN, Length = 16, TestExamples = 64 });

    private static ICurriculumTask Advance(ICurriculumTask task, int levels)
    {
        for (int i = 0; i < levels; i++) task = task.Next()!;
        return task;
    }

    [Fact]
    public void Multi_head_targets_cover_every_n_up_to_N_and_mask_the_heads_above()
    {
        var task = Advance(Multi(5, TimescaleRule.DelayedMatch), 2);      // N = 3 of 5
        Assert.Equal(3, task.Level);
        Assert.Equal(new TaskSignature(2, 0, 10, 16), task.Signature);
        using var scope = NewDisposeScope();
        using var batch = task.Batch(Split.Test, 2, 10, 3);
        Assert.Equal(new long[] { 3, 16, 5 }, batch.Targets.shape);
        for (int b = 0; b < 3; b++)
        {
            var bits = BinaryTimescales.Bits(2, Split.Test, 10 + b, 16);
            Assert.Equal(bits, batch.Inputs[b].data<long>().ToArray());
            for (int head = 0; head < 5; head++)
            {
                var expected = head < 3 ? BinaryTimescales.Labels(TimescaleRule.DelayedMatch, bits, head + 1) : TokenExamples.Unscored(16);
                Assert.Equal(expected.Select(v => v >= 0), batch.Mask[b, .., head].data<bool>().ToArray());
                Assert.Equal(expected.Select(v => Math.Max(v, 0)), batch.Targets[b, .., head].data<long>().ToArray());
            }
        }
        // Logits of masked heads change neither loss nor metrics.
        var logits = randn(new long[] { 3, 16, 10 }, generator: new Generator(1));
        var other = logits.clone();
        other[.., .., 6..].copy_(randn(new long[] { 3, 16, 4 }, generator: new Generator(2)) * 10);
        Assert.Equal(task.Loss(logits, batch).item<float>(), task.Loss(other, batch).item<float>());
        var m = task.Metrics(logits, batch);
        Assert.Equal(new[] { "accuracy", "accuracy_n1", "accuracy_n2", "accuracy_n3" }, m.Keys.Order());
        Assert.Equal(m["accuracy"], task.Metrics(other, batch)["accuracy"]);
        Assert.Equal(m["accuracy"].Count, m["accuracy_n1"].Count + m["accuracy_n2"].Count + m["accuracy_n3"].Count);
    }

    [Fact]
    public void Single_head_asks_about_the_current_N_only_and_the_last_level_has_no_next()
    {
        var first = new TimescaleCurriculum(new TimescaleCurriculumOptions { StartN = 2, MaxN = 4, Length = 12 });
        var task = Advance(first, 2);
        Assert.Equal(4, task.Level);
        Assert.Null(task.Next());
        Assert.Equal(2, task.Signature.OutputDim);
        using var scope = NewDisposeScope();
        using var batch = task.Batch(Split.Train, 0, 5, 1);
        var bits = BinaryTimescales.Bits(0, Split.Train, 5, 12);
        Assert.Equal(BinaryTimescales.Labels(TimescaleRule.Parity, bits, 4).Select(v => v >= 0), batch.Mask[0, .., 0].data<bool>().ToArray());
        Assert.True(task.Passed(new Dictionary<string, double> { ["accuracy"] = 0.9 }));
        Assert.False(task.Passed(new Dictionary<string, double> { ["accuracy"] = 0.89 }));
    }

    /// <summary>Knows the answers for n ≤ <c>solved</c> and says 0 for the rest (about half right).</summary>
    private sealed class Oracle : SequenceModel
    {
        private readonly TorchSharp.Modules.Parameter _unused = nn.Parameter(zeros(1));
        private readonly int _heads, _solved;
        private readonly TimescaleRule _rule;

        public Oracle(int heads, int solved, TimescaleRule rule) : base("Oracle")
        {
            (_heads, _solved, _rule) = (heads, solved, rule);
            RegisterComponents();
        }

        public override IReadOnlyList<SequenceLayer> SequenceLayers => Array.Empty<SequenceLayer>();

        public override Tensor forward(Tensor x)
        {
            long b = x.shape[0], l = x.shape[1];
            var logits = new float[b * l * _heads * 2];
            for (int i = 0; i < b; i++)
            {
                var bits = x[i].data<long>().ToArray();
                for (int n = 1; n <= Math.Min(_solved, _heads); n++)
                {
                    var y = BinaryTimescales.Labels(_rule, bits, n);
                    for (int t = 0; t < l; t++) logits[((i * l + t) * _heads + n - 1) * 2 + Math.Max(y[t], 0)] = 5;
                }
            }
            return tensor(logits, new[] { b, l, 2L * _heads }) + _unused * 0;
        }
    }

    [Theory]
    [InlineData(4, 4)]   // passes 1 … 4, stalls at 5
    [InlineData(9, 6)]   // passes every level up to max_n = 6 and stops early
    public void Multi_head_N_rises_while_every_head_passes_and_max_n_is_the_last_level_passed(int solved, int expected)
    {
        var task = Multi(6);
        using var model = new Oracle(6, solved, TimescaleRule.Parity);
        var outcome = new Trainer(CPU).Train(model, task, new TrainSpec { Steps = 12, Batch = 8, EvalEvery = 1, EvalExamples = 64 }, seed: 0);
        Assert.Equal(RunStatus.Ok, outcome.Status);
        Assert.Equal("max_n", outcome.Metric);
        Assert.Equal(expected, outcome.BestMetric);
        Assert.Equal(expected, outcome.BestStep);                              // one level per evaluation, from N = 1
        Assert.Equal(1.0, outcome.Extra!["accuracy_at_max_n"]);
        Assert.Equal(solved >= 6 ? 6 : 12, outcome.Curve.Count);              // the run ends once the last level is passed
        if (solved < 6) Assert.InRange(outcome.Curve[^1].TestMetric, 0.6, 0.95);
        // Each evaluation records the level it was made at (the curve plots draw that): N = 1, 2, … one per evaluation.
        var levels = outcome.Curve.Select(p => p.Level ?? -1).ToArray();
        Assert.Equal(Enumerable.Range(1, levels.Length).Select(n => Math.Min(n, expected + 1)), levels);
    }

    [Fact]
    public void A_curriculum_run_resumed_mid_way_goes_on_at_the_level_it_had_reached()
    {
        var spec = new TrainSpec { Steps = 12, Batch = 8, EvalEvery = 1, EvalExamples = 64 };
        RunOutcome Train(ResumeStore? store, int? stopAt = null)
        {
            using var model = new Oracle(6, 4, TimescaleRule.Parity);
            return new Trainer(CPU).Train(model, Multi(6), spec, seed: 0,
                p => { if (p.Step == stopAt) throw new OperationCanceledException(); }, store);
        }
        var straight = Train(null);
        var store = new ResumeStore(Path.Combine(_dir, "resume"), TimeSpan.Zero);
        Assert.Throws<OperationCanceledException>(() => Train(store, stopAt: 3));   // N = 1 … 3 passed, training N = 4
        var resumed = Train(store);
        Assert.Equal(straight.Curve, resumed.Curve);                                 // the levels of every evaluation too
        Assert.Equal((4.0, 4, 1.0), (resumed.BestMetric, resumed.BestStep, resumed.Extra!["accuracy_at_max_n"]));
    }

    [Fact]
    public void Single_head_N_rises_at_each_passing_evaluation_and_stays_when_none_passes()
    {
        var registry = TestSupport.Registry();
        ModelSpec spec = new() { Kind = ModelKind.Bare, DModel = 8 };
        RunOutcome Run(double threshold)
        {
            var task = new TimescaleCurriculum(new TimescaleCurriculumOptions { Rule = TimescaleRule.DelayedMatch, StartN = 2, MaxN = 20, Threshold = threshold, Length = 24, TestExamples = 16 });
            using var model = new BareModel(task.Signature, spec, registry.CreateLayer("lstm", 8, registry.BindLayerOptions("lstm", null, 8)));
            return new Trainer(CPU).Train(model, task, new TrainSpec { Steps = 5, Batch = 4, EvalEvery = 1 }, seed: 0);
        }
        var easy = Run(1e-9);                                                 // every evaluation passes
        Assert.Equal(6, easy.BestMetric);                                    // N = 2 … 6 passed in 5 evaluations
        var impossible = Run(1.0);
        Assert.Equal(1, impossible.BestMetric);                              // start_n − 1: nothing passed
        Assert.Equal(-1, impossible.BestStep);
        Assert.InRange(impossible.Extra!["accuracy_at_max_n"], 0, 0.999);
    }

    [Fact]
    public void A_curriculum_suite_writes_max_n_and_the_accuracy_it_was_reached_with()
    {
        var suite = Path.Combine(_dir, "c.json");
        File.WriteAllText(suite, """
            { "name": "c", "defaults": { "model": { "kind": "bare", "d_model": 8 }, "train": { "steps": 3, "batch": 4, "eval_every": 1 }, "seeds": [0] },
              "layers": [ "gru" ],
              "tasks": [ { "name": "timescale-curriculum", "options": { "heads": "multi", "max_n": 4, "threshold": 0.01, "length": 8, "test_examples": 8 } } ] }
            """);
        var rows = new SuiteRunner().Run(suite, new RunSettings(Path.Combine(_dir, "out")));
        Assert.Equal(new[] { "max_n", "accuracy_at_max_n" }, rows.Select(r => r.Metric));
        Assert.Equal(4, rows[0].Value);                                      // N = 2, 3, 4 passed in 3 evaluations
        Assert.Equal(3, rows[0].BestStep);
        Assert.All(rows, r => Assert.Equal("ok", r.Status));
    }
}
