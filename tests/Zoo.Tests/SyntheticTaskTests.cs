using Zoo.Core.Tasks;
using Zoo.Tasks.Recall;
using Zoo.Tasks.Selectivity;
using Zoo.Tasks.Timescales;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>Labels on generated examples checked against the task's definition, determinism, and chance level.</summary>
public sealed class SyntheticTaskTests
{
    [Fact]
    public void Induction_heads_label_is_the_token_after_the_first_trigger()
    {
        var task = new InductionHeads(new InductionHeadsOptions { Vocab = 8, Length = 20 });
        for (int i = 0; i < 300; i++)
        {
            var (x, y) = task.Example(1, Split.Train, i);
            var triggers = Enumerable.Range(0, 20).Where(t => x[t] == task.Trigger).ToList();
            Assert.Equal(2, triggers.Count);
            Assert.Equal(19, triggers[1]);
            Assert.Equal(x[triggers[0] + 1], y[19]);
            Assert.Single(y, v => v != TokenExamples.Ignore);
        }
    }

    [Fact]
    public void Selective_copying_labels_are_the_data_tokens_in_order()
    {
        var task = new SelectiveCopying(new SelectiveCopyingOptions { Vocab = 10, Length = 30, Copies = 5 });
        for (int i = 0; i < 200; i++)
        {
            var (x, y) = task.Example(2, Split.Test, i);
            var data = x.Take(24).Where(t => t != task.Blank).ToArray();  // region = 30 − 5 − 1
            Assert.Equal(5, data.Length);
            Assert.Equal(task.Copy, x[24]);
            Assert.All(x.Skip(25), t => Assert.Equal(task.Blank, t));
            Assert.Equal(data, y.Skip(25));
            Assert.All(y.Take(25), v => Assert.Equal(TokenExamples.Ignore, v));
        }
    }

    [Fact]
    public void Hand_built_streams_give_the_parity_and_match_labels()
    {
        // Recompute from the bits: parity of the last 3, and match with 2 steps back.
        var parity = new BinaryTimescales(new BinaryTimescalesOptions { Rule = TimescaleRule.Parity, N = 3, Length = 12 });
        var (bits, labels) = parity.Example(0, Split.Train, 7);
        Assert.Equal(new long[] { -100, -100 }, labels.Take(2));
        for (int t = 2; t < 12; t++) Assert.Equal((bits[t - 2] + bits[t - 1] + bits[t]) % 2, labels[t]);
        var dms = new BinaryTimescales(new BinaryTimescalesOptions { Rule = TimescaleRule.DelayedMatch, N = 2, Length = 12 });
        var (b2, l2) = dms.Example(0, Split.Train, 7);
        for (int t = 2; t < 12; t++) Assert.Equal(b2[t - 2] == b2[t] ? 1 : 0, l2[t]);
    }

    public static TheoryData<string, double> ChanceCases => new()
    {
        { "induction", 1.0 / 15 },   // targets uniform over the 15 non-trigger tokens
        { "copying", 1.0 / 14 },     // data tokens uniform over V − 2 = 14
        { "parity", 0.5 },
        { "dms", 0.5 },
        { "mqar", 1.0 / 128 },       // values uniform over [V/2, V)
    };

    [Theory]
    [MemberData(nameof(ChanceCases))]
    public void A_constant_predictor_scores_chance(string name, double chance)
    {
        (TokenTask task, int constant) = name switch
        {
            "induction" => ((TokenTask)new InductionHeads(new InductionHeadsOptions()), 3),
            "copying" => (new SelectiveCopying(new SelectiveCopyingOptions { Length = 64, Copies = 8 }), 5),
            "parity" => (new BinaryTimescales(new BinaryTimescalesOptions { N = 3 }), 1),
            "dms" => (new BinaryTimescales(new BinaryTimescalesOptions { Rule = TimescaleRule.DelayedMatch, N = 5 }), 0),
            _ => (new Mqar(new MqarOptions { Vocab = 256, Length = 64, Pairs = 8 }), 200),
        };
        Assert.Equal(chance, ((IChanceLevel)task).Chance, 12);                // the level learning speed is measured from
        using var scope = NewDisposeScope();
        var total = new MetricTally(0, 0);
        for (int first = 0; first < 4000; first += 500)
        {
            using var batch = task.Batch(Split.Test, 0, first, 500);
            var logits = zeros(500, task.Signature.Length, task.Signature.OutputDim);
            logits[.., .., constant] = 1f;                                   // always the same class
            total += task.Metrics(logits, batch)["accuracy"];
        }
        double tolerance = 4 * Math.Sqrt(chance * (1 - chance) / total.Count);
        Assert.True(Math.Abs(total.Mean - chance) < tolerance, $"{name}: constant predictor scored {total.Mean:F4}, chance {chance:F4} ± {tolerance:F4}");
    }
}

public sealed class InContextRecallTests
{
    [Theory]
    [InlineData(true, 0, 0.0)]
    [InlineData(false, 0, 0.0)]
    [InlineData(true, 16, 0.4)]
    public void Test_labels_are_the_values_bound_to_repeated_keys(bool multiQuery, int noiseVocab, double noise)
    {
        var o = new Zoo.Tasks.Recall.InContextRecallOptions { Vocab = noiseVocab > 0 ? 32 : 16, Length = 64, MultiQuery = multiQuery, NoiseVocab = noiseVocab, NoiseFraction = noise };
        var task = new Zoo.Tasks.Recall.InContextRecall(o);
        int half = o.KeyValueVocab / 2;
        for (int i = 0; i < 200; i++)
        {
            var (x, y) = task.Example(3, Split.Test, i);
            Assert.Equal(task.Signature.Length, x.Length);
            var (trainX, trainY) = task.Example(3, Split.Train, i);
            Assert.Equal(trainX.Skip(1), trainY.Take(trainY.Length - 1));     // training targets: the next token
            var seen = new Dictionary<long, long>();
            int scored = 0;
            for (int t = 0; t + 1 < x.Length; t += 2)
            {
                if (x[t] >= half || x[t + 1] < half || x[t + 1] >= o.KeyValueVocab) continue; // noise, or the copy prefix
                long k = x[t], v = x[t + 1];
                if (seen.TryGetValue(k, out var bound)) Assert.Equal(bound, v);              // one value per key
                // the value token at t + 1 is predicted at position t (the key's position)
                if (multiQuery && seen.ContainsKey(k)) { Assert.Equal(v, y[t]); scored++; }
                seen[k] = v;
            }
            Assert.True(y[^1] >= half && y[^1] < o.KeyValueVocab, "the last label is the probe's value");
            if (!multiQuery) Assert.Single(y, v => v != TokenExamples.Ignore);
            else Assert.True(y.Count(v => v != TokenExamples.Ignore) >= scored);
        }
    }
}

public sealed class MemorizationTests
{
    [Fact]
    public void Every_insert_token_is_labelled_with_the_fixed_value_of_the_key_before_it()
    {
        var a = new Zoo.Tasks.Recall.Memorization(new Zoo.Tasks.Recall.MemorizationOptions());
        var b = new Zoo.Tasks.Recall.Memorization(new Zoo.Tasks.Recall.MemorizationOptions());
        var values = new HashSet<long>();
        foreach (var split in new[] { Split.Train, Split.Test })
            for (int i = 0; i < 100; i++)
            {
                var (x, y) = a.Example(7, split, i);
                for (int t = 0; t < x.Length; t += 2)
                {
                    Assert.Equal(255, x[t + 1]);
                    Assert.Equal(TokenExamples.Ignore, y[t]);
                    Assert.Equal(a.ValueOf(x[t]), y[t + 1]);
                    Assert.Equal(b.ValueOf(x[t]), y[t + 1]);   // the same map in every instance of the task
                    Assert.InRange(x[t], 0, 126);
                    Assert.InRange(y[t + 1], 127, 254);
                    values.Add(y[t + 1]);
                }
            }
        Assert.True(values.Count > 100, "the map is a bijection onto many values");
        Assert.Equal(a.Example(7, Split.Train, 3).Tokens, a.Example(7, Split.Train, 259).Tokens); // 256 training examples
    }
}
