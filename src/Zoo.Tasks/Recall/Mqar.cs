using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Tasks.Recall;

/// <summary>Options of <see cref="Mqar"/>; defaults follow Zoology's <c>multiquery_ar</c> (docs/architecture.md, 'Task sources').</summary>
public sealed record MqarOptions : IValidatableOptions
{
    /// <summary>Vocabulary size V: keys come from [1, V/2), values from [V/2, V).</summary>
    [Option("vocabulary size V (keys from [1, V/2), values from [V/2, V))", Min = 8)]
    public int Vocab { get; init; } = 8192;

    /// <summary>Sequence length L (even, below V).</summary>
    [Option("sequence length L (even, < vocab)", Min = 4)]
    public int Length { get; init; } = 64;

    /// <summary>Number of key-value pairs (4 · pairs ≤ L).</summary>
    [Option("key-value pairs (4 · pairs ≤ length)", Min = 1)]
    public int Pairs { get; init; } = 4;

    /// <summary>Power-law exponent a of the query gap distribution p(i) ∝ a·i^(a−1).</summary>
    [Option("query gap power law a in p(i) ∝ a·i^(a−1) (small a favours short gaps)", Min = 0, MinExclusive = true, Max = 1)]
    public double PowerA { get; init; } = 0.01;

    /// <summary>Size of the training set; training cycles through it. 0 draws fresh examples forever.</summary>
    [Option("training examples (0 = fresh examples every step)", Min = 0)]
    public int TrainExamples { get; init; } = 100_000;

    /// <summary>Size of the test set.</summary>
    [Option("test examples", Min = 1)]
    public int TestExamples { get; init; } = 3_000;

    /// <summary>Fill the positions between queries with random tokens (Zoology's default) instead of 0.</summary>
    [Option("fill non-query positions with random tokens (else 0)")]
    public bool RandomNonQueries { get; init; } = true;

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (Length % 2 != 0) yield return ("length", $"{Length} is odd; allowed: an even length");
        if (Vocab <= Length) yield return ("vocab", $"{Vocab} must exceed length {Length}");
        if (4 * Pairs > Length) yield return ("pairs", $"{Pairs} is too many for length {Length}; allowed: 1 … {Length / 4}");
        if (Pairs > Vocab / 2 - 1) yield return ("pairs", $"{Pairs} exceeds the {Vocab / 2 - 1} available keys");
    }
}

/// <summary>
/// Multi-query associative recall (Arora et al. 2023, Zoology <c>multiquery_ar</c>). The context binds
/// <c>k1 v1 k2 v2 …</c>; later each key re-appears once at position 2·pairs + 2·gap with gaps drawn without
/// replacement from a power law; the label at the query key's own position is its bound value (the model predicts
/// the next token). Only those positions are scored; filler positions hold random tokens.
/// </summary>
[ZooTask("mqar", typeof(MqarOptions), Summary = "multi-query associative recall (Zoology)")]
public sealed class Mqar : TokenTask, IChanceLevel
{
    /// <summary>Accuracy of an uninformed predictor: values are uniform over the upper half of the vocabulary.</summary>
    public double Chance => 2.0 / _o.Vocab;

    private readonly MqarOptions _o;
    private readonly double[] _gapWeights;

    /// <summary>Builds the task.</summary>
    public Mqar(MqarOptions options)
    {
        _o = options;
        int space = (_o.Length - 2 * _o.Pairs) / 2;
        _gapWeights = Enumerable.Range(1, space).Select(i => _o.PowerA * Math.Pow(i, _o.PowerA - 1)).ToArray();
    }

    /// <inheritdoc />
    public override TaskSignature Signature => new(_o.Vocab, 0, _o.Vocab, _o.Length);

    /// <inheritdoc />
    public override int TestExamples => _o.TestExamples;

    /// <summary>One example: tokens [L] and labels [L] (−100 where unscored).</summary>
    public override (long[] Tokens, long[] Labels) Example(long seed, Split split, long index)
    {
        var rng = ExampleStream(seed, split, index, _o.TrainExamples);
        int l = _o.Length, p = _o.Pairs, half = _o.Vocab / 2, context = 2 * p;
        var keys = rng.Distinct(1, half, p);
        var values = rng.Distinct(half, _o.Vocab, p);
        var gaps = rng.WeightedDistinct(_gapWeights, p);

        var tokens = new long[l];
        var labels = TokenExamples.Unscored(l);
        for (int i = 0; i < p; i++)
        {
            tokens[2 * i] = keys[i];
            tokens[2 * i + 1] = values[i];
            int query = context + 2 * gaps[i];
            tokens[query] = keys[i];
            labels[query] = values[i];
        }
        for (int t = context; t < l; t++)
            if (tokens[t] == 0 && _o.RandomNonQueries) tokens[t] = rng.NextInt(_o.Vocab);
        return (tokens, labels);
    }
}
