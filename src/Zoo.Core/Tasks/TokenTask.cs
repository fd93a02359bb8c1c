using static TorchSharp.torch;

namespace Zoo.Core.Tasks;

/// <summary>
/// Base of tasks whose inputs are tokens and whose targets are a class per position (most synthetic sequence tasks):
/// a subclass defines one example as a function of (seed, split, index); batching, cross-entropy on the scored
/// positions and accuracy come from here.
/// </summary>
public abstract class TokenTask : ISequenceTask
{
    /// <inheritdoc />
    public abstract TaskSignature Signature { get; }

    /// <inheritdoc />
    public virtual string PrimaryMetric => "accuracy";

    /// <inheritdoc />
    public bool HigherIsBetter => true;

    /// <inheritdoc />
    public abstract int TestExamples { get; }

    /// <summary>Example <paramref name="index"/> of <paramref name="split"/>: tokens [L] and labels [L] (−100 = unscored).</summary>
    public abstract (long[] Tokens, long[] Labels) Example(long seed, Split split, long index);

    /// <inheritdoc />
    public TaskBatch Batch(Split split, long seed, long firstExample, int count) =>
        TokenExamples.Batch(firstExample, count, Signature.Length, i => Example(seed, split, i));

    /// <inheritdoc />
    public Tensor Loss(Tensor output, TaskBatch batch) => TokenClassification.Loss(output, batch);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, MetricTally> Metrics(Tensor output, TaskBatch batch) =>
        new Dictionary<string, MetricTally> { [PrimaryMetric] = TokenClassification.Accuracy(output, batch) };
}
