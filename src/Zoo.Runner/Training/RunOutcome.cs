namespace Zoo.Runner.Training;

/// <summary>How a run ended.</summary>
public enum RunStatus
{
    /// <summary>Finished its budget.</summary>
    Ok,
    /// <summary>Loss or gradients became NaN/Inf; the row keeps the best metric before that.</summary>
    Diverged,
    /// <summary>Ran out of device memory.</summary>
    Oom,
    /// <summary>Failed for another reason (see the message).</summary>
    Error,
}

/// <summary>One evaluation point of a learning curve.</summary>
public sealed record CurvePoint(int Step, double TrainLoss, double TestMetric, double TestLoss, int? Level = null);

/// <summary>A metric reported beside the primary one, as a result row of its own (e.g. MAD's class-averaged accuracy).</summary>
/// <param name="Name">The metric's name in result rows.</param>
/// <param name="AtBest">Its value at the evaluation where the primary metric was best.</param>
/// <param name="Final">Its value at the last evaluation.</param>
public sealed record SecondaryMetric(string Name, double AtBest, double Final);

/// <summary>Result of training one model.</summary>
/// <param name="Status">How the run ended.</param>
/// <param name="BestMetric">Best test value of the metric (primary unless <paramref name="Metric"/> names another).</param>
/// <param name="BestStep">Step of <paramref name="BestMetric"/>.</param>
/// <param name="FinalMetric">Test value at the last evaluation.</param>
/// <param name="TokensSeen">Training tokens processed.</param>
/// <param name="TrainTokensPerSecond">Training throughput (steps only, evaluation excluded).</param>
/// <param name="WallSeconds">Wall time of the whole run.</param>
/// <param name="Curve">The learning curve.</param>
/// <param name="Message">Why a run failed or diverged; empty when ok.</param>
/// <param name="Metric">Name of the metric <paramref name="BestMetric"/> measures when it is not the task's primary
/// metric (a curriculum's highest level passed, e.g. <c>max_n</c>); null for the primary metric.</param>
/// <param name="Extra">Further metrics to report as rows of their own (e.g. the accuracy a curriculum level was passed with).</param>
/// <param name="End">Why a run that did not fail stopped; null for a failed or diverged run.</param>
/// <param name="StepsToHalf">First evaluation step with the primary metric at half the range above chance (null: never, or no chance level).</param>
/// <param name="StepsToNineTenths">The same at 0.9 of the range.</param>
/// <param name="Secondary">Metrics measured at the same evaluations as the primary one, reported as rows of their own.</param>
public sealed record RunOutcome(
    RunStatus Status,
    double BestMetric,
    int BestStep,
    double FinalMetric,
    long TokensSeen,
    double TrainTokensPerSecond,
    double WallSeconds,
    IReadOnlyList<CurvePoint> Curve,
    string Message,
    string? Metric = null,
    IReadOnlyDictionary<string, double>? Extra = null,
    RunEnd? End = null,
    int? StepsToHalf = null,
    int? StepsToNineTenths = null,
    IReadOnlyList<SecondaryMetric>? Secondary = null);
