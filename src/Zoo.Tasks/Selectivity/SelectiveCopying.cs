using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Tasks.Selectivity;

/// <summary>
/// Options of <see cref="SelectiveCopying"/>; defaults follow MAD's selective copying (docs/architecture.md, 'Task sources'). Difficulty ladder
/// (MAD's <c>configs/tasks/selective-copying.yml</c>): vocab {32, 64, 128}, length {512, 1024}, train_examples
/// {6400, 3200, 1600, 800}, copies {32, 64, 96}.
/// </summary>
public sealed record SelectiveCopyingOptions : IValidatableOptions, IDifficultyLadder
{
    /// <summary>Vocabulary size: data tokens [0, V − 2), blank V − 2, copy token V − 1.</summary>
    [Option("vocabulary size: data tokens [0, V − 2), blank = V − 2, copy = V − 1", Min = 3)]
    public int Vocab { get; init; } = 16;

    /// <summary>Sequence length: the scattered region, one copy token and the output positions.</summary>
    [Option("sequence length: data region + copy token + one output position per copied token", Min = 4)]
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
    public IReadOnlyList<DifficultyChange> DifficultyChanges() =>
        DifficultyChange.Each("vocab", 32, 64, 128)
            .Concat(DifficultyChange.Each("length", 512, 1024))
            .Concat(DifficultyChange.Each("train_examples", 6400, 3200, 1600, 800))
            .Concat(DifficultyChange.Each("copies", 32, 64, 96))
            .ToList();

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (2 * Copies + 1 >= Length) yield return ("copies", $"{Copies} copies need length > {2 * Copies + 1}; allowed: 1 … {(Length - 2) / 2}");
    }
}

/// <summary>
/// Selective copying (Gu and Dao 2023, Mamba §3.1; MAD's <c>generate_selective_copying_instance</c>): K data tokens are
/// scattered, in order, among blank tokens in the first L − K − 1 positions; a copy token follows, then K blank positions
/// at which the model must emit the data tokens in order. Only those K positions are scored; chance is 1 / (V − 2).
/// Data positions are a uniformly random subset of the region (MAD inserts blanks at random indices, which is close to,
/// but not exactly, uniform over placements).
/// </summary>
[ZooTask("selective-copying", typeof(SelectiveCopyingOptions), Summary = "selective copying: emit the scattered data tokens in order, ignoring blanks")]
public sealed class SelectiveCopying : TokenTask, IChanceLevel
{
    /// <summary>Accuracy of an uninformed predictor: data tokens are uniform over V − 2.</summary>
    public double Chance => 1.0 / (_o.Vocab - 2);

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
        var rng = ExampleStream(seed, split, index, _o.TrainExamples);
        int l = _o.Length, k = _o.Copies, region = l - k - 1;
        var tokens = Enumerable.Repeat(Blank, l).ToArray();
        var places = rng.Distinct(0, region, k).Order().ToArray();
        var data = Enumerable.Range(0, k).Select(_ => (long)rng.NextInt(_o.Vocab - 2)).ToArray();
        var labels = TokenExamples.Unscored(l);
        tokens[region] = Copy;
        for (int i = 0; i < k; i++)
        {
            tokens[places[i]] = data[i];
            labels[region + 1 + i] = data[i];
        }
        return (tokens, labels);
    }
}
