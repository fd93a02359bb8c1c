using static TorchSharp.torch;

namespace Zoo.Core.Tasks;

/// <summary>
/// A sequence task: deterministic batches, a loss and metrics (docs/architecture.md, 'Tasks').
/// Example i of a split is a pure function of (seed, split, i), so the same configuration always sees the
/// same data regardless of batch size or device.
/// </summary>
public interface ISequenceTask
{
    /// <summary>Shapes the model must accept and produce.</summary>
    TaskSignature Signature { get; }

    /// <summary>Name of the metric reported in result rows (e.g. <c>accuracy</c>).</summary>
    string PrimaryMetric { get; }

    /// <summary>True when a larger primary metric is better.</summary>
    bool HigherIsBetter { get; }

    /// <summary>Size of the test split: evaluation scores examples [0, TestExamples) of <see cref="Split.Test"/>.</summary>
    int TestExamples { get; }

    /// <summary>Examples <c>[firstExample, firstExample + count)</c> of <paramref name="split"/> for run seed <paramref name="seed"/>, on the CPU.</summary>
    TaskBatch Batch(Split split, long seed, long firstExample, int count);

    /// <summary>Scalar training loss of model <paramref name="output"/> (logits or reals) on <paramref name="batch"/>.</summary>
    Tensor Loss(Tensor output, TaskBatch batch);

    /// <summary>Metric tallies of <paramref name="output"/> on <paramref name="batch"/>; must include <see cref="PrimaryMetric"/>.</summary>
    IReadOnlyDictionary<string, MetricTally> Metrics(Tensor output, TaskBatch batch);
}
