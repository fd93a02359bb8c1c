using System.Diagnostics;
using TorchSharp;
using Zoo.Core.Tasks;
using Zoo.Runner.Models;
using static TorchSharp.torch;

namespace Zoo.Runner.Training;

/// <summary>Live numbers a trainer reports while it runs.</summary>
public sealed record TrainProgress(int Step, int Steps, double Loss, double? LastMetric, double TokensPerSecond);

/// <summary>
/// AdamW with warm-up + cosine, gradient clipping, periodic evaluation on the test split. A non-finite loss or
/// gradient ends the run as <see cref="RunStatus.Diverged"/> instead of throwing. One dispose scope per step keeps
/// the live tensor count flat. A <see cref="ICurriculumTask"/> moves to its next level after an evaluation that passes
/// its level (same model, same optimizer) and ends the run once its last level is passed; the outcome's metric is then
/// the highest level passed.
/// A <see cref="TrainSpec.Until"/> ends the run at its target or plateau (see <see cref="RunEnd"/>). With a
/// <see cref="ResumeStore"/> the run saves its state at evaluations and, when the store holds a snapshot, goes on from it.
/// </summary>
public sealed class Trainer
{
    private readonly Device _device;

    /// <summary>Trains on <paramref name="device"/>.</summary>
    public Trainer(Device device) => _device = device;

    /// <summary>
    /// Trains <paramref name="model"/> on <paramref name="task"/> (data seed <paramref name="seed"/>), from the snapshot in
    /// <paramref name="resume"/> when it holds one (the model must be built as for the run that saved it).
    /// </summary>
    public RunOutcome Train(SequenceModel model, ISequenceTask task, TrainSpec spec, long seed, Action<TrainProgress>? progress = null,
        ResumeStore? resume = null)
    {
        var wall = Stopwatch.StartNew();
        var trainClock = new Stopwatch();
        model.to(_device);
        model.train();
        var parameters = model.parameters().ToList();   // walked once, not by every step's clipping
        using var optimizer = WeightDecayGroups.AdamW(model, spec);
        var curve = new List<CurvePoint>();
        double best = double.NaN, lossSum = 0, smoothed = double.NaN;
        int bestStep = -1, lossCount = 0, sinceBest = 0;
        // Metrics written as rows of their own (IClassAveragedAccuracy's, ISecondaryMetrics'): at the best evaluation and the last.
        var secondaryNames = (task is IClassAveragedAccuracy ? new[] { IClassAveragedAccuracy.MetricName } : Array.Empty<string>())
            .Concat((task as ISecondaryMetrics)?.SecondaryMetrics ?? Array.Empty<string>()).ToList();
        var secondaryAtBest = new double[secondaryNames.Count];
        var secondaryFinal = new double[secondaryNames.Count];
        Array.Fill(secondaryAtBest, double.NaN);
        Array.Fill(secondaryFinal, double.NaN);
        RunEnd? end = null;
        long tokens = 0, tokensPerStep = (long)spec.Batch * task.Signature.Length;
        var status = RunStatus.Ok;
        string message = "";
        var current = task;
        var curriculum = task as ICurriculumTask;
        (int Level, int Step, double Metric) passed = (curriculum?.Level - 1 ?? 0, -1, double.NaN);
        int start = 0;
        double secondsBefore = 0, trainSecondsBefore = 0;   // spent by the processes that saved the snapshot
        if (resume?.Load(model, optimizer) is { } saved)
        {
            start = saved.Step;
            curve.AddRange(saved.Curve);
            (best, bestStep, sinceBest, smoothed, tokens) = (saved.Best, saved.BestStep, saved.SinceBest, saved.SmoothedLoss, saved.Tokens);
            saved.SecondaryAtBest.CopyTo(secondaryAtBest, 0);
            saved.SecondaryFinal.CopyTo(secondaryFinal, 0);
            passed = (saved.PassedLevel, saved.PassedStep, saved.PassedMetric);
            while (saved.Level is { } level && current is ICurriculumTask at && at.Level != level)
                current = at.Next() ?? throw new InvalidOperationException($"curriculum has no level {level} to resume at");
            (secondsBefore, trainSecondsBefore) = (saved.WallSeconds, saved.TrainSeconds);
        }
        double TrainSeconds() => trainSecondsBefore + trainClock.Elapsed.TotalSeconds;

        // The step's numbers stay on the device until a logging interval ends (ReadBackEvery steps, an evaluation, the
        // last step): one host read-back each, not one per step, so a GPU is never made to wait mid-interval. Steps are
        // then processed in order, so a run that diverged inside an interval ends at the step it did, as before; the
        // steps after it in the interval only train a model that is discarded.
        var logged = new List<(int Step, Tensor Numbers)>();
        using var batches = new BatchPrefetcher(seed, spec.Batch, spec.Steps, _device);
        try
        {
            for (int step = start; step < spec.Steps; step++)
            {
                trainClock.Start();
                using (var scope = NewDisposeScope())
                {
                    double lr = LearningRateSchedule.At(spec, step);
                    foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
                    using var batch = batches.Take(current, step);
                    var output = model.Forward(batch);
                    var total = current.Loss(output, batch);
                    if (model.AuxiliaryLoss() is { } aux) total = total + aux;
                    optimizer.zero_grad();
                    total.backward();
                    var numbers = spec.GradClip > 0
                        ? stack(new[] { total.detach(), GradientClipping.ClipByTotalNorm(parameters, spec.GradClip).to(total.dtype) })
                        : total.detach().reshape(1);
                    optimizer.step();
                    logged.Add((step, numbers.MoveToOuterDisposeScope()));
                }
                bool last = step == spec.Steps - 1, evaluate = (step + 1) % spec.EvalEvery == 0 || last;
                if (!evaluate && (step + 1) % ReadBackEvery != 0)
                {
                    trainClock.Stop();
                    continue;
                }
                foreach (var (at, loss) in ReadBack(logged))
                {
                    if (!double.IsFinite(loss.Loss)) (status, message) = (RunStatus.Diverged, $"loss became {loss.Loss} at step {at}");
                    else if (spec.GradClip > 0 && !double.IsFinite(loss.GradNorm)) (status, message) = (RunStatus.Diverged, $"gradient norm became {loss.GradNorm} at step {at}");
                    if (status != RunStatus.Ok) break;
                    tokens += tokensPerStep;
                    lossSum += loss.Loss;
                    lossCount++;
                    smoothed = double.IsNaN(smoothed) ? loss.Loss : 0.95 * smoothed + 0.05 * loss.Loss;
                }
                trainClock.Stop();
                if (status != RunStatus.Ok) break;

                if (evaluate)
                {
                    var (metrics, testLoss) = EvaluateAll(model, current, spec, seed);
                    double metric = metrics[current.PrimaryMetric];
                    curve.Add(new CurvePoint(step + 1, lossSum / lossCount, metric, testLoss, (current as ICurriculumTask)?.Level));
                    (lossSum, lossCount) = (0, 0);
                    if (!double.IsFinite(metric))
                    {
                        (status, message) = (RunStatus.Diverged, $"test metric became {metric} at step {step + 1}");
                        break;
                    }
                    for (int i = 0; i < secondaryNames.Count; i++) secondaryFinal[i] = metrics.GetValueOrDefault(secondaryNames[i], double.NaN);
                    if (double.IsNaN(best) || (task.HigherIsBetter ? metric > best : metric < best))
                    {
                        (best, bestStep, sinceBest) = (metric, step + 1, 0);
                        secondaryFinal.CopyTo(secondaryAtBest, 0);
                    }
                    else sinceBest++;
                    if (current is ICurriculumTask level && level.Passed(metrics))
                    {
                        passed = (level.Level, step + 1, metric);
                        if (level.Next() is not { } next) { end = RunEnd.Target; break; }   // the last level is passed: nothing left to train
                        current = next;
                    }
                    else if (spec.Until is { } until && Stop(until, metric, sinceBest, task.HigherIsBetter) is { } stop)
                    {
                        end = stop;
                        break;
                    }
                    if (!last && resume is { Due: true }) resume.Save(new TrainingSnapshot(step + 1, curve.ToList(), best, bestStep, sinceBest, smoothed, tokens,
                        (double[])secondaryAtBest.Clone(), (double[])secondaryFinal.Clone(), passed.Level, passed.Step, passed.Metric,
                        (current as ICurriculumTask)?.Level, TrainSeconds(), secondsBefore + wall.Elapsed.TotalSeconds), model, optimizer);
                }
                progress?.Invoke(new TrainProgress(step + 1, spec.Steps, smoothed, curve.Count > 0 ? curve[^1].TestMetric : null,
                    tokens / Math.Max(1e-9, TrainSeconds())));
            }
        }
        finally
        {
            foreach (var (_, numbers) in logged) numbers.Dispose();
        }
        if (status == RunStatus.Ok) end ??= spec.Until is null ? RunEnd.Steps : RunEnd.Cap;
        double final = curve.Count > 0 ? curve[^1].TestMetric : double.NaN;
        double tokensPerSecond = tokens / Math.Max(1e-9, TrainSeconds());
        double wallSeconds = secondsBefore + wall.Elapsed.TotalSeconds;
        if (curriculum is not null)
        {
            // The result is the highest level passed; the accuracy it was passed with (or, when none was, the best
            // accuracy at the first level) is kept beside it.
            var accuracy = passed.Step > 0 ? passed.Metric : best;
            return new RunOutcome(status, passed.Level, passed.Step, passed.Level, tokens, tokensPerSecond, wallSeconds,
                curve, message, curriculum.LevelMetric, new Dictionary<string, double> { [$"{current.PrimaryMetric}_at_{curriculum.LevelMetric}"] = accuracy }, end);
        }
        var secondary = secondaryNames.Count > 0 && bestStep > 0
            ? secondaryNames.Select((name, i) => new SecondaryMetric(name, secondaryAtBest[i], secondaryFinal[i])).ToArray()
            : null;
        return new RunOutcome(status, best, bestStep, final, tokens, tokensPerSecond, wallSeconds, curve, message,
            End: end, StepsToHalf: LearningSpeed.StepsTo(task, curve, 0.5), StepsToNineTenths: LearningSpeed.StepsTo(task, curve, 0.9),
            Secondary: secondary);
    }

    /// <summary>
    /// Steps between host read-backs of the training loss when no evaluation falls sooner: the trainer's one device →
    /// host sync per logging interval (progress is reported at the same points).
    /// </summary>
    public const int ReadBackEvery = 10;

    // The losses (and gradient norms) of the steps logged since the last read-back, in step order, in one transfer;
    // empties the list.
    private static List<(int Step, (double Loss, double GradNorm) Numbers)> ReadBack(List<(int Step, Tensor Numbers)> logged)
    {
        if (logged.Count == 0) return new();
        using var scope = NewDisposeScope();
        var all = stack(logged.Select(l => l.Numbers).ToArray()).to(CPU);
        var values = all.to(ScalarType.Float32).data<float>().ToArray();  // the interval's one read-back
        int width = (int)all.shape[1];
        var read = logged.Select((l, i) => (l.Step, ((double)values[i * width], width > 1 ? (double)values[i * width + 1] : double.NaN))).ToList();
        foreach (var (_, numbers) in logged) numbers.Dispose();
        logged.Clear();
        return read;
    }

    // Target first: a run that reaches its target on the evaluation that exhausts its patience has converged, not stalled.
    private static RunEnd? Stop(UntilSpec until, double metric, int sinceBest, bool higherIsBetter) =>
        until.Target is { } target && (higherIsBetter ? metric >= target : metric <= target) ? RunEnd.Target
        : until.Patience is { } patience && sinceBest >= patience ? RunEnd.Plateau
        : null;

    /// <summary>Primary metric and loss on the test split (examples [0, n) of <see cref="Split.Test"/>).</summary>
    public (double Metric, double Loss) Evaluate(SequenceModel model, ISequenceTask task, TrainSpec spec, long seed)
    {
        var (metrics, loss) = EvaluateAll(model, task, spec, seed);
        return (metrics[task.PrimaryMetric], loss);
    }

    /// <summary>
    /// Every metric the task reports (means over the test split) and the loss; for an <see cref="IClassAveragedAccuracy"/>
    /// task also its class-averaged accuracy over the whole test split.
    /// </summary>
    public (IReadOnlyDictionary<string, double> Metrics, double Loss) EvaluateAll(SequenceModel model, ISequenceTask task, TrainSpec spec, long seed)
    {
        int n = spec.EvalExamples > 0 ? Math.Min(spec.EvalExamples, task.TestExamples) : task.TestExamples;
        var tallies = new Dictionary<string, MetricTally>();
        var classAveraged = task as IClassAveragedAccuracy;
        ClassTally? classes = null;
        double lossSum = 0;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            for (int first = 0; first < n; first += spec.Batch)
            {
                using var scope = NewDisposeScope();
                int count = Math.Min(spec.Batch, n - first);
                using var batch = task.Batch(Split.Test, seed, first, count).To(_device);
                var output = model.Forward(batch);
                lossSum += task.Loss(output, batch).item<float>() * count;
                foreach (var (name, tally) in task.Metrics(output, batch))
                    tallies[name] = tallies.GetValueOrDefault(name) + tally;
                if (classAveraged?.ClassCounts(output, batch) is { } counts) classes = classes is null ? counts : classes + counts;
            }
        }
        finally
        {
            model.train();
        }
        var means = tallies.ToDictionary(kv => kv.Key, kv => kv.Value.Mean);
        if (classes is not null) means[IClassAveragedAccuracy.MetricName] = classes.MacroAccuracy;
        return (means, lossSum / n);
    }
}
