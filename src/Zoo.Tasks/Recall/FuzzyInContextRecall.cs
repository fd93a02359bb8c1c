using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Tasks.Recall;

/// <summary>
/// Options of <see cref="FuzzyInContextRecall"/>; defaults are MAD's fuzzy in-context recall baseline
/// (<c>configs/tasks/fuzzy-in-context-recall.yml</c>: vocab 16, L 128, multi-query, motifs up to 3 tokens, 12,800 train /
/// 1,280 test). Difficulty ladder as in-context recall: vocab {32, 64, 128}, length {256, 512, 1024}, train_examples
/// {6400, 3200, 1600, 800}.
/// </summary>
public sealed record FuzzyInContextRecallOptions : IValidatableOptions, IDifficultyLadder
{
    /// <summary>Vocabulary size: keys, values, noise, the pad token (V − 1, or V − 2 with single query) and the copy prefix.</summary>
    [Option("vocabulary size (keys, values, noise tokens, pad token, copy prefix)", Min = 4)]
    public int Vocab { get; init; } = 16;

    /// <summary>Sequence length the model sees (MAD's seq_len; the stream is padded at the front to L + 1 before the shift).</summary>
    [Option("sequence length the model sees", Min = 8)]
    public int Length { get; init; } = 128;

    /// <summary>Longest key motif; training keys have 1 … this many tokens, test keys exactly this many.</summary>
    [Option("longest key motif (training keys 1 … k tokens, test keys exactly k)", Min = 1, Max = 8)]
    public int KeyMotif { get; init; } = 3;

    /// <summary>Longest value motif; values have 1 … this many tokens in both splits.</summary>
    [Option("longest value motif (values have 1 … v tokens)", Min = 1, Max = 8)]
    public int ValueMotif { get; init; } = 3;

    /// <summary>Probe every repeated key (true) or only a final key after a copy prefix (false).</summary>
    [Option("score every repeated key's value (true) or one final probe after a copy prefix (false)")]
    public bool MultiQuery { get; init; } = true;

    /// <summary>Tokens reserved as noise.</summary>
    [Option("noise vocabulary size", Min = 0)]
    public int NoiseVocab { get; init; }

    /// <summary>Fraction of key-value slots replaced by noise motifs.</summary>
    [Option("fraction of key-value slots that are noise", Min = 0, Max = 1, MaxExclusive = true)]
    public double NoiseFraction { get; init; }

    /// <summary>Training set size (MAD: 12,800).</summary>
    [Option("training examples (0 = fresh examples every step)", Min = 0)]
    public int TrainExamples { get; init; } = 12_800;

    /// <summary>Test set size (MAD: 1,280).</summary>
    [Option("test examples", Min = 1)]
    public int TestExamples { get; init; } = 1_280;

    /// <summary>Tokens left for keys and values (the rest are noise, pad and copy prefix).</summary>
    public int KeyValueVocab => Vocab - (MultiQuery ? 1 : 2) - NoiseVocab;

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
        int half = KeyValueVocab / 2;
        if (half < KeyMotif)
            yield return ("vocab", $"{Vocab} leaves {half} key tokens, fewer than key_motif {KeyMotif} (key motifs use distinct tokens); allowed: vocab ≥ {2 * KeyMotif + (MultiQuery ? 1 : 2) + NoiseVocab}");
        else if (KeyValueVocab - half < ValueMotif)
            yield return ("vocab", $"{Vocab} leaves {KeyValueVocab - half} value tokens, fewer than value_motif {ValueMotif}");
        if (Length < 4 * (KeyMotif + ValueMotif))
            yield return ("length", $"{Length} is too short for motifs of {KeyMotif} + {ValueMotif} tokens; allowed: ≥ {4 * (KeyMotif + ValueMotif)}");
        if (NoiseFraction > 0 && NoiseVocab == 0) yield return ("noise_vocab", "0 with noise_fraction > 0; allowed: ≥ 1");
    }
}

/// <summary>
/// MAD's fuzzy in-context recall (Poli et al. 2024, "Mechanistic Design and Scaling of Hybrid Architectures", §3;
/// <c>generate_fuzzy_in_context_recall_instance</c>): keys and values are motifs of several adjacent tokens — keys are
/// ordered tuples of distinct tokens from the lower half of the key-value vocabulary, values from the upper half —
/// concatenated into a stream; each key is bound to one value per sequence. Training keys have 1 … k tokens, test keys
/// exactly k (the "fuzzy" shift), values 1 … v tokens in both. One probe pair is placed in the stream and repeated at
/// the end. The stream is padded at the front; training predicts every next token, test scores the value tokens of
/// keys seen before (multi-query) or only the final probe's value after a copy prefix. Chance on scored positions is
/// 1 / (value tokens).
/// <para>
/// One deliberate difference from MAD: MAD draws the probe's position and can end the stream before reaching it, so
/// a few percent of its sequences end with a probe that never appeared (unanswerable, yet scored). Here the probe is
/// inserted at the latest slot that still fits, so the final query always has an answer in context. MAD's
/// permutation tables are replaced by drawing the same uniform motifs directly.
/// </para>
/// </summary>
[ZooTask("fuzzy-in-context-recall", typeof(FuzzyInContextRecallOptions), Summary = "MAD fuzzy in-context recall: multi-token key and value motifs, values of repeated keys scored")]
public sealed class FuzzyInContextRecall : TokenTask, IClassAveragedAccuracy, IChanceLevel
{
    private readonly FuzzyInContextRecallOptions _o;

    /// <summary>One value token of the upper half of the key-value vocabulary (every scored position is a value token).</summary>
    public double Chance => 1.0 / (_o.KeyValueVocab - _o.KeyValueVocab / 2);

    /// <summary>Builds the task.</summary>
    public FuzzyInContextRecall(FuzzyInContextRecallOptions options) => _o = options;

    /// <inheritdoc />
    public override TaskSignature Signature => new(_o.Vocab, 0, _o.Vocab, _o.Length);

    /// <inheritdoc />
    public override int TestExamples => _o.TestExamples;

    /// <summary>The padding token placed before the stream.</summary>
    public long Pad => _o.MultiQuery ? _o.Vocab - 1 : _o.Vocab - 2;

    /// <summary>The copy prefix before the final probe (single query only).</summary>
    public long CopyPrefix => _o.Vocab - 1;

    /// <summary>Training labels are the next tokens; test labels are only the values of repeated keys (or the final probe's).</summary>
    public override (long[] Tokens, long[] Labels) Example(long seed, Split split, long index)
    {
        var rng = ExampleStream(seed, split, index, _o.TrainExamples);
        bool train = split == Split.Train;
        int kv = _o.KeyValueVocab, half = kv / 2, maxPair = _o.KeyMotif + _o.ValueMotif;
        int KeySize() => train ? 1 + rng.NextInt(_o.KeyMotif) : _o.KeyMotif;
        int ValueSize() => 1 + rng.NextInt(_o.ValueMotif);
        long[] Motif(int lo, int hi, int size) => rng.Distinct(lo, hi, size).Select(t => (long)t).ToArray();

        var probeKey = Motif(0, half, KeySize());
        var probeValue = Motif(half, kv, ValueSize());
        int probeSize = probeKey.Length + probeValue.Length;
        int probeAt = rng.NextInt(_o.Length - 2 * probeSize);
        // Stop while the final probe still fits in L + 1 tokens (MAD's bound).
        int end = _o.Length - probeSize - maxPair;

        var inputs = new List<long>();
        var labels = new List<long>();
        var bound = new Dictionary<string, long[]>();     // key motif → value motif, one binding per sequence
        var presented = new HashSet<string>();
        bool probeAdded = false;
        string probeName = Name(probeKey);
        void Add(IEnumerable<long> tokens, IEnumerable<long> scored) { inputs.AddRange(tokens); labels.AddRange(scored); }
        static IEnumerable<long> Unscored(int n) => Enumerable.Repeat(TokenExamples.Ignore, n);

        while (inputs.Count < end)
        {
            int keySize = KeySize(), valueSize = ValueSize();
            // Place the probe once the drawn position is reached, or at the last slot before the stream may end.
            if (!probeAdded && (inputs.Count >= probeAt || inputs.Count + maxPair >= end))
            {
                Add(probeKey.Concat(probeValue), Unscored(probeSize));
                bound[probeName] = probeValue;
                presented.Add(probeName);
                probeAdded = true;
                continue;
            }
            if (_o.NoiseFraction > 0 && rng.NextDouble() < _o.NoiseFraction)
            {
                var noise = Enumerable.Range(0, keySize + valueSize).Select(_ => (long)(kv + rng.NextInt(_o.NoiseVocab)));
                Add(noise, Unscored(keySize + valueSize));
                continue;
            }
            var key = Motif(0, half, keySize);
            var name = Name(key);
            long[] value;
            if (name == probeName)
            {
                value = probeValue;
                probeAdded = true;
            }
            else if (!bound.TryGetValue(name, out value!))
            {
                value = Motif(half, kv, valueSize);
                bound[name] = value;
            }
            bool repeated = presented.Contains(name);
            Add(key, Unscored(key.Length));
            Add(value, _o.MultiQuery && repeated ? value : Unscored(value.Length));
            presented.Add(name);
        }

        if (!_o.MultiQuery) Add(new[] { CopyPrefix }, Unscored(1));
        Add(probeKey, Unscored(probeKey.Length));
        Add(probeValue, probeValue);

        // Pad at the front to L + 1 tokens, then the autoregressive shift: the model sees tokens[..L] and predicts t + 1.
        int pad = _o.Length + 1 - inputs.Count;
        var tokens = Enumerable.Repeat(Pad, pad).Concat(inputs).ToArray();
        var targets = Unscored(pad).Concat(labels).ToArray();
        return (tokens[..^1], train ? tokens[1..] : targets[1..]);
    }

    private static string Name(long[] motif) => string.Join(",", motif);
}
