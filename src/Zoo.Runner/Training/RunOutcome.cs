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
public sealed record CurvePoint(int Step, double TrainLoss, double TestMetric, double TestLoss);

/// <summary>Result of training one model.</summary>
/// <param name="Metric">Name of the metric <paramref name="BestMetric"/> measures when it is not the task's primary
/// metric (a curriculum's highest level passed, e.g. <c>max_n</c>); null for the primary metric.</param>
/// <param name="Extra">Further metrics to report as rows of their own (e.g. the accuracy a curriculum level was passed with).</param>
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
    IReadOnlyDictionary<string, double>? Extra = null);
