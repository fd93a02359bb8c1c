using static TorchSharp.torch;

namespace Zoo.Core.Tasks;

/// <summary>
/// A token task that also reports its accuracy averaged per class (<see cref="ClassTally.MacroAccuracy"/>), as MAD scores
/// its tasks, beside the per-position accuracy Zoo ranks by. The trainer tallies it over the test set at every
/// evaluation, and a run writes it as a second result row, metric <see cref="MetricName"/>, taken at the evaluation
/// where the primary metric was best (final_value: at the last evaluation).
/// </summary>
public interface IClassAveragedAccuracy
{
    /// <summary>The metric's name in result rows.</summary>
    const string MetricName = "accuracy_macro";

    /// <summary>Per-class counts of the argmax predictions of <paramref name="logits"/> [B, L, C] on the scored positions of <paramref name="batch"/>.</summary>
    ClassTally ClassCounts(Tensor logits, TaskBatch batch) => TokenClassification.ClassCounts(logits, batch);
}
