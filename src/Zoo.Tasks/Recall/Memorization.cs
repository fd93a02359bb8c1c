using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Tasks.Recall;

/// <summary>
/// Options of <see cref="Memorization"/>; defaults are MAD's (docs/architecture.md, 'Task sources'). Difficulty ladder (MAD's
/// <c>configs/tasks/memorization.yml</c>): vocab {512, 1024, 2048, 4096, 8192}.
/// </summary>
public sealed record MemorizationOptions : IValidatableOptions, IDifficultyLadder
{
    /// <summary>Vocabulary size: keys, values and the insert token V − 1.</summary>
    [Option("vocabulary size (keys, values, insert token = V − 1)", Min = 4)]
    public int Vocab { get; init; } = 256;

    /// <summary>Sequence length (even): L/2 (key, insert) pairs.</summary>
    [Option("sequence length (even): key, insert, key, insert, …", Min = 2)]
    public int Length { get; init; } = 32;

    /// <summary>Seed of the fixed key→value map shared by every example and split.</summary>
    [Option("seed of the fixed key → value map")]
    public long MapSeed { get; init; } = 12345;

    /// <summary>Training set size (MAD: 256).</summary>
    [Option("training examples (0 = fresh examples every step)", Min = 0)]
    public int TrainExamples { get; init; } = 256;

    /// <summary>Test set size.</summary>
    [Option("test examples", Min = 1)]
    public int TestExamples { get; init; } = 1_280;

    /// <inheritdoc />
    public IReadOnlyList<DifficultyChange> DifficultyChanges() => DifficultyChange.Each("vocab", 512, 1024, 2048, 4096, 8192).ToList();

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (Length % 2 != 0) yield return ("length", $"{Length} is odd; allowed: an even length");
    }
}

/// <summary>
/// MAD's memorization (<c>generate_memorization_instance</c>): one fixed key → value map (keys from the lower half of
/// the non-special vocabulary, values from the upper half, paired by two shuffles from a fixed seed) shared by all
/// examples; each example is a sequence of (key, insert token) and the model must emit the key's value at the insert
/// token. The map must be stored in the weights: there is nothing to recall in context.
/// </summary>
[ZooTask("memorization", typeof(MemorizationOptions), Summary = "MAD memorization: a fixed key → value map learned into the weights")]
public sealed class Memorization : TokenTask, IClassAveragedAccuracy, IChanceLevel
{
    private readonly MemorizationOptions _o;

    /// <summary>One of the map's values, one per key: keys are uniform over the lower half of the non-special vocabulary.</summary>
    public double Chance => 1.0 / ((_o.Vocab - 1) / 2);
    private readonly long[] _keys;
    private readonly Dictionary<long, long> _map;

    /// <summary>Builds the task and its fixed map.</summary>
    public Memorization(MemorizationOptions options)
    {
        _o = options;
        int special = options.Vocab - 1, half = special / 2;
        var rng = new SplitMix64((ulong)options.MapSeed);
        var keys = rng.Distinct(0, half, half);
        var values = rng.Distinct(half, special, special - half);
        _keys = keys.Select(k => (long)k).ToArray();
        _map = keys.Zip(values).ToDictionary(p => (long)p.First, p => (long)p.Second);
    }

    /// <inheritdoc />
    public override TaskSignature Signature => new(_o.Vocab, 0, _o.Vocab, _o.Length);

    /// <inheritdoc />
    public override int TestExamples => _o.TestExamples;

    /// <summary>The value bound to <paramref name="key"/> in the fixed map.</summary>
    public long ValueOf(long key) => _map[key];

    /// <inheritdoc />
    public override (long[] Tokens, long[] Labels) Example(long seed, Split split, long index)
    {
        var rng = ExampleStream(seed, split, index, _o.TrainExamples);
        var tokens = new long[_o.Length];
        var labels = TokenExamples.Unscored(_o.Length);
        for (int t = 0; t < _o.Length; t += 2)
        {
            var k = _keys[rng.NextInt(_keys.Length)];
            tokens[t] = k;
            tokens[t + 1] = _o.Vocab - 1;
            labels[t + 1] = _map[k];
        }
        return (tokens, labels);
    }
}
