using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Tasks.Recall;

/// <summary>
/// Options of <see cref="InContextRecall"/>; defaults are MAD's in-context recall baseline (docs/architecture.md, 'Task sources'). MAD's noisy
/// in-context recall is <c>{"vocab": 32, "noise_vocab": 16, "noise_fraction": 0.2}</c>.
/// Difficulty ladder (MAD's <c>configs/tasks/in-context-recall.yml</c> and <c>noisy-in-context-recall.yml</c>): vocab
/// {32, 64, 128} (plus the noise vocabulary), length {256, 512, 1024}, train_examples {6400, 3200, 1600, 800}, and with
/// noise, noise_fraction {0.4, 0.6, 0.8}.
/// </summary>
public sealed record InContextRecallOptions : IValidatableOptions, IDifficultyLadder
{
    /// <summary>Vocabulary size (including the noise vocabulary and, for single-query, the copy prefix).</summary>
    [Option("vocabulary size (keys, values, noise tokens, copy prefix)", Min = 4)]
    public int Vocab { get; init; } = 16;

    /// <summary>Generated length before the autoregressive shift (even); the model sees L − 1 tokens (L with single query).</summary>
    [Option("generated length (even); inputs are this minus one with multi_query", Min = 4)]
    public int Length { get; init; } = 128;

    /// <summary>Probe every repeated key (true) or only a final key after a copy prefix (false).</summary>
    [Option("score every repeated key's value (true) or one final probe after a copy prefix (false)")]
    public bool MultiQuery { get; init; } = true;

    /// <summary>Tokens reserved as noise.</summary>
    [Option("noise vocabulary size", Min = 0)]
    public int NoiseVocab { get; init; }

    /// <summary>Fraction of key-value slots replaced by noise pairs.</summary>
    [Option("fraction of key-value slots that are noise", Min = 0, Max = 1, MaxExclusive = true)]
    public double NoiseFraction { get; init; }

    /// <summary>Training set size.</summary>
    [Option("training examples (0 = fresh examples every step)", Min = 0)]
    public int TrainExamples { get; init; } = 12_800;

    /// <summary>Test set size.</summary>
    [Option("test examples", Min = 1)]
    public int TestExamples { get; init; } = 1_280;

    /// <summary>Vocabulary left for keys and values.</summary>
    public int KeyValueVocab => (MultiQuery ? Vocab : Vocab - 1) - NoiseVocab;

    /// <inheritdoc />
    public IReadOnlyList<DifficultyChange> DifficultyChanges() =>
        DifficultyChange.Each("vocab", 32 + NoiseVocab, 64 + NoiseVocab, 128 + NoiseVocab)
            .Concat(DifficultyChange.Each("length", 256, 512, 1024))
            .Concat(DifficultyChange.Each("train_examples", 6400, 3200, 1600, 800))
            .Concat(NoiseFraction > 0 ? DifficultyChange.Each("noise_fraction", 0.4, 0.6, 0.8) : [])
            .ToList();

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (Length % 2 != 0) yield return ("length", $"{Length} is odd; allowed: an even length");
        if (KeyValueVocab < 2) yield return ("vocab", $"{Vocab} leaves {KeyValueVocab} tokens for keys and values; allowed: at least 2 after noise and the copy prefix");
        if (NoiseFraction > 0 && NoiseVocab == 0) yield return ("noise_vocab", "0 with noise_fraction > 0; allowed: ≥ 1");
    }
}

/// <summary>
/// MAD's in-context recall (Poli et al. 2024, <c>generate_in_context_recall_instance</c>): a stream of key-value pairs
/// (keys from the lower half of the key-value vocabulary, values from the upper half, each key bound to one value per
/// sequence), optionally with noise pairs; training predicts every next token, test scores the values of keys seen
/// before (multi-query) or the value of one final probe key after a copy prefix.
/// </summary>
[ZooTask("in-context-recall", typeof(InContextRecallOptions), Summary = "MAD in-context recall (and noisy recall): key-value stream, values of repeated keys scored")]
public sealed class InContextRecall : TokenTask, IClassAveragedAccuracy, IChanceLevel
{
    private readonly InContextRecallOptions _o;

    /// <summary>One value token of the upper half of the key-value vocabulary, which the scored values are uniform over.</summary>
    public double Chance => 1.0 / (_o.KeyValueVocab - _o.KeyValueVocab / 2);

    /// <summary>Builds the task.</summary>
    public InContextRecall(InContextRecallOptions options) => _o = options;

    /// <inheritdoc />
    public override TaskSignature Signature => new(_o.Vocab, 0, _o.Vocab, _o.MultiQuery ? _o.Length - 1 : _o.Length);

    /// <inheritdoc />
    public override int TestExamples => _o.TestExamples;

    /// <summary>Training labels are the next tokens; test labels are only the probed values.</summary>
    public override (long[] Tokens, long[] Labels) Example(long seed, Split split, long index)
    {
        var rng = ExampleStream(seed, split, index, _o.TrainExamples);
        int kv = _o.KeyValueVocab, half = kv / 2;
        var inputs = new List<long>();
        var targets = new List<long>();
        var bound = new Dictionary<long, long>();
        var presented = new HashSet<long>();
        int pairs = _o.Length / 2;
        int keep = rng.NextInt(pairs);                      // one slot is never noise, so some key is always presented
        for (int i = 0; i < pairs - 1; i++)
        {
            if (_o.NoiseFraction > 0 && i != keep && rng.NextDouble() < _o.NoiseFraction)
            {
                inputs.Add(kv + rng.NextInt(_o.NoiseVocab));
                inputs.Add(kv + rng.NextInt(_o.NoiseVocab));
                targets.Add(TokenExamples.Ignore);
                targets.Add(TokenExamples.Ignore);
                continue;
            }
            long k = rng.NextInt(half);
            if (!bound.TryGetValue(k, out var v)) bound[k] = v = half + rng.NextInt(kv - half);
            inputs.Add(k);
            inputs.Add(v);
            targets.Add(TokenExamples.Ignore);
            targets.Add(_o.MultiQuery && presented.Contains(k) ? v : TokenExamples.Ignore);
            presented.Add(k);
        }
        var probe = presented.Count > 0 ? presented.Order().ElementAt(rng.NextInt(presented.Count)) : rng.NextInt(half);
        if (!bound.TryGetValue(probe, out var probeValue)) bound[probe] = probeValue = half + rng.NextInt(kv - half);
        if (!_o.MultiQuery)
        {
            inputs.Add(_o.Vocab - 1);
            targets.Add(TokenExamples.Ignore);
        }
        inputs.AddRange(new[] { probe, probeValue });
        targets.AddRange(new[] { TokenExamples.Ignore, probeValue });
        // Autoregressive shift: the model sees inputs[..^1] and predicts position t + 1.
        var x = inputs.Take(inputs.Count - 1).ToArray();
        var y = split == Split.Train ? inputs.Skip(1).ToArray() : targets.Skip(1).ToArray();
        return (x, y);
    }
}
