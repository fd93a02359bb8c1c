using System.Text.Json;
using Zoo.Core.Tasks;
using Zoo.Runner.Models;
using Zoo.Runner.Training;
using Zoo.Tasks.ShortTermMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>The delayed cue discrimination task (Kurtkaya et al.): layout, targets, weights, scores, chance, verdict.</summary>
public sealed class DelayedCueTests
{
    private static DelayedCueDiscrimination Task(int delay, int post = 0) =>
        new(new DelayedCueOptions { Delay = delay, PostSteps = post });

    [Fact]
    public void Hand_built_trial_has_cue_silence_window_and_post_period()
    {
        var task = Task(delay: 4, post: 6);
        Assert.Equal(6 + 4 + 10 + 6, task.Signature.Length);
        Assert.Equal((0, 2, 2), (task.Signature.InputVocab, task.Signature.InputDim, task.Signature.OutputDim));
        using var batch = task.Batch(Split.Train, 0, 0, 2);
        var x = batch.Inputs.data<float>().ToArray();
        var y = batch.Targets.data<float>().ToArray();
        var m = batch.Mask.data<bool>().ToArray();
        const int l = 26;
        for (int b = 0; b < 2; b++)
        {
            int c = b;  // example i cues channel i mod 2
            for (int t = 0; t < l; t++)
            {
                bool cue = t < 6, window = t >= 10 && t < 20;
                Assert.Equal(cue ? 1f : 0f, x[(b * l + t) * 2 + c]);
                Assert.Equal(0f, x[(b * l + t) * 2 + 1 - c]);
                Assert.Equal(window ? 1f : 0f, y[(b * l + t) * 2 + c]);
                Assert.Equal(0f, y[(b * l + t) * 2 + 1 - c]);
                Assert.Equal(window, m[b * l + t]);
            }
        }
    }

    [Fact]
    public void Weights_follow_the_authors_code_with_and_without_post_period()
    {
        // No post period: L = 6 + 20 + 10 = 36, the last 10 steps weigh 1 − 10/36, the rest 10/36.
        var w = DelayedCueLayout.From(new DelayedCueOptions { Delay = 20 }).Weights();
        Assert.Equal(36, w.Length);
        Assert.All(w.Take(26), v => Assert.Equal(10.0 / 36, v, 12));
        Assert.All(w.Skip(26), v => Assert.Equal(1 - 10.0 / 36, v, 12));
        // Post period: the last 16 steps (window + post) weigh 1 − 16/L.
        var wp = DelayedCueLayout.From(new DelayedCueOptions { Delay = 0, PostSteps = 6 }).Weights();
        Assert.Equal(22, wp.Length);
        Assert.All(wp.Take(6), v => Assert.Equal(16.0 / 22, v, 12));
        Assert.All(wp.Skip(6), v => Assert.Equal(1 - 16.0 / 22, v, 12));
    }

    [Fact]
    public void Constant_predictor_scores_chance_and_the_hand_computed_loss()
    {
        var task = Task(delay: 8);
        using var batch = task.Batch(Split.Test, 3, 0, 64);
        var output = zeros(64, task.Signature.Length, 2);  // sigmoid(0) = 0.5 on both channels
        var metrics = task.Metrics(output, batch);
        // Equal shares → argmax picks channel 0, right for the half of the trials that cue channel 0.
        Assert.Equal(0.5, metrics["accuracy"].Mean, 9);
        Assert.Equal(0.5, metrics["reliability"].Mean, 9);
        // Every element errs by 0.5, so the loss is 0.25 × the mean weight.
        var w = task.Layout.Weights();
        Assert.Equal(0.25 * w.Average(), task.Loss(output, batch).item<float>(), 6);
    }

    [Fact]
    public void Perfect_and_inverted_outputs_score_one_and_zero()
    {
        var task = Task(delay: 0);
        using var batch = task.Batch(Split.Train, 0, 0, 4);
        var perfect = batch.Targets.to(ScalarType.Float64) * 0.98 + 0.01;
        var (acc, rel) = DelayedCueDiscrimination.Scores(task.Layout, perfect, batch.Targets);
        Assert.Equal(1.0, acc.item<double>(), 12);
        Assert.Equal(0.99 / 1.0, rel.item<double>(), 12);
        var inverted = perfect.flip(-1);
        var (acc0, rel0) = DelayedCueDiscrimination.Scores(task.Layout, inverted, batch.Targets);
        Assert.Equal(0.0, acc0.item<double>(), 12);
        Assert.Equal(0.01, rel0.item<double>(), 12);
    }

    [Fact]
    public void Scores_and_loss_keep_leading_ensemble_dimensions()
    {
        var task = Task(delay: 4);
        using var batch = task.Batch(Split.Train, 0, 0, 6);
        var good = batch.Targets.to(ScalarType.Float64) * 0.9 + 0.05;
        var flat = full(batch.Targets.shape, 0.5, dtype: ScalarType.Float64);
        var stacked = stack(new[] { good, flat });  // [E = 2, B, L, 2]
        var loss = DelayedCueDiscrimination.WeightedMse(task.Layout, stacked, batch.Targets.to(ScalarType.Float64));
        Assert.Equal(new long[] { 2 }, loss.shape);
        Assert.Equal(DelayedCueDiscrimination.WeightedMse(task.Layout, good, batch.Targets.to(ScalarType.Float64)).item<double>(), loss[0].item<double>(), 12);
        var (acc, _) = DelayedCueDiscrimination.Scores(task.Layout, stacked, batch.Targets);
        Assert.Equal(new[] { 1.0, 0.5 }, acc.data<double>().ToArray());
    }

    [Fact]
    public void Registered_with_strict_options()
    {
        var registry = TestSupport.Registry();
        var options = registry.BindTaskOptions("delayed-cue", JsonDocument.Parse("""{"delay": 80, "post_steps": 6}""").RootElement);
        var task = registry.CreateTask("delayed-cue", options);
        Assert.Equal(6 + 80 + 10 + 6, task.Signature.Length);
        Assert.Throws<Zoo.Core.Options.ZooConfigException>(() =>
            registry.BindTaskOptions("delayed-cue", JsonDocument.Parse("""{"delay": 81}""").RootElement));
    }

    [Fact]
    public void Ordinary_layers_train_on_it_through_the_suite_trainer()
    {
        var registry = TestSupport.Registry();
        var task = Task(delay: 4);
        var spec = new ModelSpec { Kind = ModelKind.Bare, DModel = 16 };
        using var model = ModelFactory.Build(registry, "gru", registry.BindLayerOptions("gru", null, 16), task.Signature, spec);
        var outcome = new Trainer(CPU).Train(model, task, new TrainSpec { Steps = 60, Batch = 16, Lr = 1e-2, Warmup = 5, EvalEvery = 30 }, seed: 1);
        Assert.Equal(RunStatus.Ok, outcome.Status);
        Assert.True(outcome.Curve[^1].TrainLoss < 0.25 * task.Layout.Weights().Average(), "loss below the constant 0.5 predictor");
        Assert.InRange(outcome.BestMetric, 0, 1);
    }

    [Fact]
    public void Verdict_follows_the_authors_criterion()
    {
        double[] Const(int n, double v) => Enumerable.Repeat(v, n).ToArray();
        // Learns at epoch 10 and stays: trained.
        var acc = Const(10, 0.5).Concat(Const(90, 0.95)).ToArray();
        Assert.Equal(TrainingOutcome.Trained, TrainingVerdict.Judge(acc, acc).Outcome);
        // Never above 0.8: failed (counts as stable).
        Assert.Equal(TrainingOutcome.Failed, TrainingVerdict.Judge(Const(100, 0.7), Const(100, 0.7)).Outcome);
        // Learns, then dips below 0.6 on 30% of the epochs: unstable, even though the end looks good.
        var dips = Enumerable.Range(0, 100).Select(e => e < 5 ? 0.5 : e < 60 && e % 3 == 0 ? 0.4 : 0.95).ToArray();
        var (outcome, late, _) = TrainingVerdict.Judge(dips, dips);
        Assert.Equal(TrainingOutcome.Unstable, outcome);
        Assert.True(late > 0.8);
        // Good late average but reliability too low: failed.
        Assert.Equal(TrainingOutcome.Failed, TrainingVerdict.Judge(Const(100, 0.95), Const(100, 0.75)).Outcome);
    }
}
