namespace Zoo.Core.Tasks;

/// <summary>
/// A task whose <see cref="ISequenceTask.Metrics"/> reports, beside the primary metric, further metrics that a run writes
/// as result rows of their own (e.g. SelectivBench's accuracy per test gap length, <c>accuracy_gap_20</c>). As for
/// <see cref="IClassAveragedAccuracy"/>, each row holds the metric at the evaluation where the primary metric was best
/// (final_value: at the last evaluation), so the rows of one run describe one model.
/// </summary>
public interface ISecondaryMetrics
{
    /// <summary>Names of the metrics, as <see cref="ISequenceTask.Metrics"/> reports them; empty when the options ask for none.</summary>
    IReadOnlyList<string> SecondaryMetrics { get; }
}
