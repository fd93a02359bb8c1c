using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Tasks.Recall;

/// <summary>Options of <see cref="InductionHeads"/>.</summary>
public sealed record InductionHeadsOptions
{
    /// <summary>Vocabulary size; the last token is the trigger.</summary>
    [Option("vocabulary size (the last token is the trigger)", Min = 3)]
    public int Vocab { get; init; } = 16;

    /// <summary>Sequence length.</summary>
    [Option("sequence length", Min = 4)]
    public int Length { get; init; } = 64;

    /// <summary>Training set size (0 = fresh examples).</summary>
    [Option("training examples (0 = fresh examples every step)", Min = 0)]
    public int TrainExamples { get; init; }

    /// <summary>Test set size.</summary>
    [Option("test examples", Min = 1)]
    public int TestExamples { get; init; } = 1000;
}

/// <summary>
/// Induction heads (Olsson et al. 2022; Zoology, H3): random tokens with one trigger token placed once, followed by a
/// target token; the sequence ends with the trigger again and the model must predict the target. Only the last position
/// is scored; chance is 1 / (V − 1).
/// </summary>
[ZooTask("induction-heads", typeof(InductionHeadsOptions), Summary = "induction heads: after the trigger's second occurrence, predict what followed the first")]
public sealed class InductionHeads : TokenTask, IChanceLevel
{
    /// <summary>Accuracy of an uninformed predictor: targets are uniform over the V − 1 non-trigger tokens.</summary>
    public double Chance => 1.0 / (_o.Vocab - 1);

    private readonly InductionHeadsOptions _o;

    /// <summary>Builds the task.</summary>
    public InductionHeads(InductionHeadsOptions options) => _o = options;

    /// <inheritdoc />
    public override TaskSignature Signature => new(_o.Vocab, 0, _o.Vocab, _o.Length);

    /// <inheritdoc />
    public override int TestExamples => _o.TestExamples;

    /// <summary>The trigger token.</summary>
    public long Trigger => _o.Vocab - 1;

    /// <inheritdoc />
    public override (long[] Tokens, long[] Labels) Example(long seed, Split split, long index)
    {
        var rng = ExampleStream(seed, split, index, _o.TrainExamples);
        int l = _o.Length;
        var tokens = Enumerable.Range(0, l).Select(_ => (long)rng.NextInt(_o.Vocab - 1)).ToArray();
        int at = rng.NextInt(l - 2);                 // trigger at [0, L − 3], target right after it
        tokens[at] = Trigger;
        tokens[l - 1] = Trigger;
        var labels = TokenExamples.Unscored(l);
        labels[l - 1] = tokens[at + 1];
        return (tokens, labels);
    }
}
