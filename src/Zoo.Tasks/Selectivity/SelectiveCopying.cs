using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Tasks.Selectivity;

/// <summary>Where <see cref="SelectiveCopying"/> puts its data tokens among the blanks.</summary>
public enum SelectiveCopyingPlacement
{
    /// <summary>
    /// MAD's <c>generate_copying_instance(selective=True)</c>: each blank goes, independently and uniformly, before one of
    /// the K data tokens (<c>np.insert</c> at <c>randint(0, K)</c>), never after the last one, so the number of blanks in
    /// front of each data token is multinomial and the last data token always sits right before the copy token.
    /// </summary>
    Mad,
    /// <summary>A uniformly random set of K data positions in the region (Zoo's generator before MAD's was adopted): blanks may also follow the last data token.</summary>
    Uniform,
}

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

    /// <summary>How the data tokens are placed among the blanks.</summary>
    [Option("data placement: mad (each blank before a random data token, never after the last; MAD's generator) or uniform (a uniformly random set of positions)")]
    public SelectiveCopyingPlacement Placement { get; init; } = SelectiveCopyingPlacement.Mad;

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
/// The data tokens are placed as <see cref="SelectiveCopyingOptions.Placement"/> says: MAD's way by default (the
/// last data token right before the copy token), or at a uniformly random set of positions.
/// </summary>
[ZooTask("selective-copying", typeof(SelectiveCopyingOptions), Summary = "selective copying: emit the scattered data tokens in order, ignoring blanks")]
public sealed class SelectiveCopying : TokenTask, IChanceLevel, IClassAveragedAccuracy
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
        // Positions are drawn before the data, as always, so "uniform" still generates the examples it did before "mad" existed.
        var places = _o.Placement == SelectiveCopyingPlacement.Mad ? MadPlaces(rng, k, region - k) : rng.Distinct(0, region, k).Order().ToArray();
        var data = Enumerable.Range(0, k).Select(_ => (long)rng.NextInt(_o.Vocab - 2)).ToArray();
        var tokens = Enumerable.Repeat(Blank, l).ToArray();
        var labels = TokenExamples.Unscored(l);
        tokens[region] = Copy;
        for (int i = 0; i < k; i++)
        {
            tokens[places[i]] = data[i];
            labels[region + 1 + i] = data[i];
        }
        return (tokens, labels);
    }

    /// <summary>
    /// Positions of the K data tokens when each of <paramref name="blanks"/> blanks is inserted before data token
    /// j ~ U{0, …, K − 1} (MAD's <c>np.insert(data, randint(0, K, blanks), blank)</c>): data token i sits after the
    /// blanks drawn for tokens 0 … i and the i tokens before it, and the last one ends the region.
    /// </summary>
    private static int[] MadPlaces(SplitMix64 rng, int k, int blanks)
    {
        var before = new int[k];
        for (int b = 0; b < blanks; b++) before[rng.NextInt(k)]++;
        var places = new int[k];
        for (int i = 0, blanksSoFar = 0; i < k; i++)
        {
            blanksSoFar += before[i];
            places[i] = blanksSoFar + i;
        }
        return places;
    }
}
