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

    /// <summary>
    /// The random stream of example <paramref name="index"/>. With a finite training set (<paramref name="trainExamples"/> &gt; 0)
    /// training cycles through its first examples; the test split never cycles.
    /// </summary>
    protected static SplitMix64 ExampleStream(long seed, Split split, long index, int trainExamples = 0) =>
        SeedStream.ForExample(seed, split, split == Split.Train && trainExamples > 0 ? index % trainExamples : index);

    /// <inheritdoc />
    public TaskBatch Batch(Split split, long seed, long firstExample, int count) =>
        TokenExamples.Batch(firstExample, count, Signature.Length, i => Example(seed, split, i));

    /// <inheritdoc />
    public Tensor Loss(Tensor output, TaskBatch batch) => TokenClassification.Loss(output, batch);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, MetricTally> Metrics(Tensor output, TaskBatch batch) =>
        new Dictionary<string, MetricTally> { [PrimaryMetric] = TokenClassification.Accuracy(output, batch) };
}
