using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Tasks.Selectivity;

/// <summary>Options of <see cref="SelectiveCopying"/>; defaults follow MAD's selective copying (DESIGN §4a).</summary>
public sealed record SelectiveCopyingOptions : IValidatableOptions
{
    /// <summary>Vocabulary size: data tokens [0, V − 2), blank V − 2, copy token V − 1.</summary>
    [Option("vocabulary size: data tokens [0, V − 2), blank = V − 2, copy = V − 1", Min = 3)]
    public int Vocab { get; init; } = 16;

    /// <summary>Sequence length, including the copy positions at the end.</summary>
    [Option("sequence length including the copy positions", Min = 2)]
    public int Length { get; init; } = 256;

    /// <summary>Data tokens to copy.</summary>
    [Option("data tokens to copy", Min = 1)]
    public int Copies { get; init; } = 16;

    /// <summary>Training set size (0 = fresh examples).</summary>
    [Option("training examples (0 = fresh examples every step)", Min = 0)]
    public int TrainExamples { get; init; } = 12_800;

    /// <summary>Test set size.</summary>
    [Option("test examples", Min = 1)]
    public int TestExamples { get; init; } = 1_280;

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (2 * Copies > Length) yield return ("copies", $"{Copies} copies need length ≥ {2 * Copies}; allowed: 1 … {Length / 2}");
    }
}

/// <summary>
/// Selective copying (Gu and Dao 2023, Mamba §3.1; MAD): K data tokens are scattered, in order, among blank tokens in
/// the first L − K positions; the last K positions hold the copy token, and at each of them the model must emit the next
/// data token in order. Only the copy positions are scored; chance is 1 / (V − 2).
/// </summary>
[ZooTask("selective-copying", typeof(SelectiveCopyingOptions), Summary = "selective copying: emit the scattered data tokens in order, ignoring blanks")]
public sealed class SelectiveCopying : TokenTask
{
    private readonly SelectiveCopyingOptions _o;

    /// <summary>Builds the task.</summary>
    public SelectiveCopying(SelectiveCopyingOptions options) => _o = options;

    /// <inheritdoc />
    public override TaskSignature Signature => new(_o.Vocab, 0, _o.Vocab, _o.Length);

    /// <inheritdoc />
    public override int TestExamples => _o.TestExamples;

    /// <summary>The blank (noise) token.</summary>
    public long Blank => _o.Vocab - 2;

    /// <summary>The copy cue token.</summary>
    public long Copy => _o.Vocab - 1;

    /// <inheritdoc />
    public override (long[] Tokens, long[] Labels) Example(long seed, Split split, long index)
    {
        if (split == Split.Train && _o.TrainExamples > 0) index %= _o.TrainExamples;
        var rng = SeedStream.ForExample(seed, split, index);
        int l = _o.Length, k = _o.Copies, region = l - k;
        var tokens = Enumerable.Repeat(Blank, l).ToArray();
        var places = rng.Distinct(0, region, k).Order().ToArray();
        var data = Enumerable.Range(0, k).Select(_ => (long)rng.NextInt(_o.Vocab - 2)).ToArray();
        var labels = TokenExamples.Unscored(l);
        for (int i = 0; i < k; i++)
        {
            tokens[places[i]] = data[i];
            tokens[region + i] = Copy;
            labels[region + i] = data[i];
        }
        return (tokens, labels);
    }
}
