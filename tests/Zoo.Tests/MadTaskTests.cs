using Zoo.Core.Tasks;
using Zoo.Tasks.Recall;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>MAD's fuzzy in-context recall and compression: labels against the definition, determinism, chance level.</summary>
public sealed class MadTaskTests
{
    /// <summary>A stream split into runs: key tokens [0, half), value tokens [half, kv), anything else (pad, noise, copy prefix) alone.</summary>
    private static List<(int Start, long[] Tokens, char Kind)> Runs(long[] stream, int half, int kv)
    {
        char KindOf(long t) => t < half ? 'k' : t < kv ? 'v' : 'o';
        var runs = new List<(int, long[], char)>();
        for (int s = 0; s < stream.Length;)
        {
            int e = s + 1;
            while (e < stream.Length && KindOf(stream[e]) == KindOf(stream[s]) && KindOf(stream[s]) != 'o') e++;
            runs.Add((s, stream[s..e], KindOf(stream[s])));
            s = e;
        }
        return runs;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Fuzzy_test_labels_are_the_value_motifs_of_repeated_keys(bool multiQuery)
    {
        var o = new FuzzyInContextRecallOptions { MultiQuery = multiQuery, Length = 64 };
        var task = new FuzzyInContextRecall(o);
        int kv = o.KeyValueVocab, half = kv / 2;
        int scoredRepeats = 0;
        for (int i = 0; i < 300; i++)
        {
            var (x, y) = task.Example(4, Split.Test, i);
            Assert.Equal(64, x.Length);
            Assert.Equal(64, y.Length);
            Assert.Equal(task.Pad, x[0]);                                   // padded at the front
            var stream = x.Append(y[^1]).ToArray();                          // the last token is the final probe's last value token
            var runs = Runs(stream.SkipWhile(t => t == task.Pad).ToArray(), half, kv);
            int offset = stream.Length - runs.Sum(r => r.Tokens.Length);
            var expected = Enumerable.Repeat(TokenExamples.Ignore, 64).ToArray();
            var bound = new Dictionary<string, long[]>();
            for (int r = 0; r < runs.Count; r++)
            {
                var (start, tokens, kind) = runs[r];
                if (kind == 'o') { Assert.True(!multiQuery && r == runs.Count - 3 && tokens[0] == task.CopyPrefix, "only the copy prefix is special"); continue; }
                if (kind != 'k') continue;
                Assert.Equal(3, tokens.Length);                              // test keys always have the longest motif
                Assert.Equal(3, tokens.Distinct().Count());
                var (vStart, value, vKind) = runs[r + 1];
                Assert.Equal('v', vKind);
                Assert.InRange(value.Length, 1, 3);
                var name = string.Join(",", tokens);
                bool last = r + 2 == runs.Count;
                if (bound.TryGetValue(name, out var before))
                {
                    Assert.Equal(before, value);                             // one value per key
                    if (multiQuery || last)
                        for (int j = 0; j < value.Length; j++) { expected[offset + vStart + j - 1] = value[j]; scoredRepeats++; }
                }
                else Assert.False(last, "the final probe's key appears earlier in the context");
                bound[name] = value;
            }
            Assert.Equal(expected, y);
        }
        Assert.True(scoredRepeats > 300, "every example scores at least its final probe");
    }

    [Fact]
    public void Fuzzy_training_targets_are_next_tokens_with_keys_of_every_motif_size()
    {
        var o = new FuzzyInContextRecallOptions();
        var task = new FuzzyInContextRecall(o);
        var keySizes = new HashSet<int>();
        for (int i = 0; i < 100; i++)
        {
            var (x, y) = task.Example(1, Split.Train, i);
            Assert.Equal(x.Skip(1), y.Take(y.Length - 1));
            foreach (var run in Runs(x.SkipWhile(t => t == task.Pad).ToArray(), o.KeyValueVocab / 2, o.KeyValueVocab).Skip(1).SkipLast(1))
                if (run.Kind == 'k') keySizes.Add(run.Tokens.Length);
        }
        Assert.Equal(new[] { 1, 2, 3 }, keySizes.Order());
        Assert.Equal(task.Example(1, Split.Train, 5).Labels, task.Example(1, Split.Train, 5 + 12_800).Labels);   // 12,800 training examples, cycled
        Assert.NotEqual(task.Example(1, Split.Train, 5).Tokens, task.Example(2, Split.Train, 5).Tokens);
        Assert.NotEqual(task.Example(1, Split.Train, 5).Tokens, task.Example(1, Split.Test, 5).Tokens);
    }

    [Fact]
    public void Fuzzy_noise_motifs_are_never_scored()
    {
        var o = new FuzzyInContextRecallOptions { Vocab = 32, NoiseVocab = 16, NoiseFraction = 0.4 };
        var task = new FuzzyInContextRecall(o);
        int noise = 0, total = 0;
        for (int i = 0; i < 100; i++)
        {
            var (x, y) = task.Example(0, Split.Test, i);
            for (int t = 0; t + 1 < x.Length; t++)
                if (x[t + 1] >= o.KeyValueVocab && x[t + 1] < o.KeyValueVocab + 16) { noise++; Assert.Equal(TokenExamples.Ignore, y[t]); }
            total += x.Count(t => t != task.Pad);
        }
        Assert.InRange(noise / (double)total, 0.25, 0.5);
    }

    [Fact]
    public void Compression_labels_replay_the_sequence_after_the_compression_token()
    {
        var task = new Compression(new CompressionOptions { Vocab = 8, Length = 10 });
        Assert.Equal(18, task.Signature.Length);
        for (int i = 0; i < 50; i++)
        {
            var (x, y) = task.Example(3, Split.Train, i);
            Assert.All(x.Take(9), t => Assert.InRange(t, 0, 6));
            Assert.All(x.Skip(9), t => Assert.Equal(7, t));                // compression token, then answer steps
            Assert.All(y.Take(9), t => Assert.Equal(TokenExamples.Ignore, t));
            Assert.Equal(x.Take(9), y.Skip(9));                             // at position L − 1 + i: data token i
        }
        Assert.Equal(task.Example(3, Split.Test, 7).Tokens, task.Example(3, Split.Test, 7).Tokens);
        Assert.NotEqual(task.Example(3, Split.Test, 7).Tokens, task.Example(3, Split.Train, 7).Tokens);
    }

    public static TheoryData<string, double> ChanceCases => new()
    {
        { "fuzzy", 1.0 / 8 },         // value tokens uniform over the 8 upper tokens of the 15 key-value tokens
        { "compression", 1.0 / 15 },  // data tokens uniform over V − 1
        { "noisy-fuzzy", 1.0 / 8 },
    };

    [Theory]
    [MemberData(nameof(ChanceCases))]
    public void A_constant_predictor_scores_chance(string name, double chance)
    {
        (TokenTask task, int constant) = name switch
        {
            "fuzzy" => ((TokenTask)new FuzzyInContextRecall(new FuzzyInContextRecallOptions { Length = 64 }), 9),
            "noisy-fuzzy" => (new FuzzyInContextRecall(new FuzzyInContextRecallOptions { Vocab = 32, NoiseVocab = 16, NoiseFraction = 0.2 }), 12),
            _ => (new Compression(new CompressionOptions()), 4),
        };
        Assert.Equal(chance, ((IChanceLevel)task).Chance, 12);                           // the level the figures draw
        using var scope = NewDisposeScope();
        var total = new MetricTally(0, 0);
        for (int first = 0; first < 4000; first += 500)
        {
            using var batch = task.Batch(Split.Test, 0, first, 500);
            var logits = zeros(500, task.Signature.Length, task.Signature.OutputDim);
            logits[.., .., constant] = 1f;
            total += task.Metrics(logits, batch)["accuracy"];
        }
        double tolerance = 4 * Math.Sqrt(chance * (1 - chance) / total.Count);
        Assert.True(Math.Abs(total.Mean - chance) < tolerance, $"{name}: constant predictor scored {total.Mean:F4}, chance {chance:F4} ± {tolerance:F4}");
    }

    public static TheoryData<string> MadTasks() => new() { "in-context-recall", "noisy-in-context-recall", "fuzzy-in-context-recall", "memorization", "compression" };

    private static TokenTask MadTask(string name) => name switch
    {
        "in-context-recall" => new InContextRecall(new InContextRecallOptions()),
        "noisy-in-context-recall" => new InContextRecall(new InContextRecallOptions { Vocab = 32, NoiseVocab = 16, NoiseFraction = 0.2 }),
        "fuzzy-in-context-recall" => new FuzzyInContextRecall(new FuzzyInContextRecallOptions()),
        "memorization" => new Memorization(new MemorizationOptions { Vocab = 64 }),
        _ => new Compression(new CompressionOptions()),
    };

    /// <summary>
    /// The chance level drawn in the figures and used for steps-to-0.9 is what a constant guess scores: the scored
    /// labels take exactly 1 / chance values, none of them much more often than the others.
    /// </summary>
    [Theory]
    [MemberData(nameof(MadTasks))]
    public void Chance_is_one_over_the_scored_label_values_and_they_are_near_uniform(string name)
    {
        var task = MadTask(name);
        var labels = Enumerable.Range(0, 400).SelectMany(i => task.Example(1, Split.Test, i).Labels).Where(y => y != TokenExamples.Ignore).ToList();
        var counts = labels.GroupBy(y => y).Select(g => g.Count()).ToList();
        double chance = ((IChanceLevel)task).Chance;
        Assert.Equal(1 / chance, counts.Count, 6);
        Assert.InRange(counts.Max() / (double)labels.Count, chance / 2, chance * 1.5);   // the best constant guess scores ≈ chance
    }
}
