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
public sealed record RunOutcome(
    RunStatus Status,
    double BestMetric,
    int BestStep,
    double FinalMetric,
    long TokensSeen,
    double TrainTokensPerSecond,
    double WallSeconds,
    IReadOnlyList<CurvePoint> Curve,
    string Message);
