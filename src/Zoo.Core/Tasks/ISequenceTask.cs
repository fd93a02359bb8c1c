using static TorchSharp.torch;

namespace Zoo.Core.Tasks;

/// <summary>Which stream of examples: train and test never share a seed.</summary>
public enum Split
{
    /// <summary>Training examples.</summary>
    Train,
    /// <summary>Held-out examples used for evaluation.</summary>
    Test,
}

/// <summary>
/// What a task feeds the model and what it expects back; the runner builds the model's input and output
/// layers from it.
/// </summary>
/// <param name="InputVocab">Token vocabulary when inputs are ids <c>[B, L]</c>; 0 when inputs are real <c>[B, L, InputDim]</c>.</param>
/// <param name="InputDim">Real input width when <paramref name="InputVocab"/> is 0.</param>
/// <param name="OutputDim">Number of classes (logits) or real outputs per position.</param>
/// <param name="Length">Sequence length L.</param>
/// <param name="ContextDim">Width of a per-sequence initial condition (<see cref="TaskBatch.Context"/>, e.g. the start position a
/// path integrator must know); 0 when the task has none.</param>
public sealed record TaskSignature(int InputVocab, int InputDim, int OutputDim, int Length, int ContextDim = 0)
{
    /// <summary>True when inputs are token ids.</summary>
    public bool TokenInputs => InputVocab > 0;
}

/// <summary>
/// One batch: inputs, targets and the mask of positions that count for loss and metrics.
/// </summary>
/// <param name="Inputs">Token ids <c>[B, L]</c> (int64) or reals <c>[B, L, I]</c>.</param>
/// <param name="Targets">Class ids <c>[B, L]</c> (int64) or reals <c>[B, L, O]</c>; a task with H readouts may use class ids <c>[B, L, H]</c>.</param>
/// <param name="Mask">Bool <c>[B, L]</c> (or <c>[B, L, H]</c> with H readouts): positions scored by loss and metrics.</param>
/// <param name="Context">Per-sequence initial condition <c>[B, ContextDim]</c> the model encodes into its initial state, or null.</param>
public sealed record TaskBatch(Tensor Inputs, Tensor Targets, Tensor Mask, Tensor? Context = null) : IDisposable
{
    /// <summary>Number of sequences.</summary>
    public long Size => Inputs.shape[0];

    /// <summary>The batch on another device.</summary>
    public TaskBatch To(Device device) => new(Inputs.to(device), Targets.to(device), Mask.to(device), Context?.to(device));

    /// <inheritdoc />
    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
        Mask.Dispose();
        Context?.Dispose();
    }
}

/// <summary>A metric accumulated over batches as a sum and a count, so the mean over a test set is exact.</summary>
public readonly record struct MetricTally(double Sum, double Count)
{
    /// <summary>Sum / Count (NaN when empty).</summary>
    public double Mean => Count == 0 ? double.NaN : Sum / Count;

    /// <summary>Adds two tallies.</summary>
    public static MetricTally operator +(MetricTally a, MetricTally b) => new(a.Sum + b.Sum, a.Count + b.Count);
}

/// <summary>
/// A sequence task: deterministic batches, a loss and metrics (DESIGN §2).
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
