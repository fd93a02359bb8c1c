using Zoo.Core.Tasks;
using Zoo.Tasks.Recall;
using static TorchSharp.torch;

namespace Zoo.Tests;

public sealed class MqarTests
{
    private static readonly MqarOptions Small = new() { Vocab = 64, Length = 32, Pairs = 4, TrainExamples = 0, TestExamples = 50 };

    [Fact]
    public void Every_label_is_the_value_bound_to_its_query_key_in_the_context()
    {
        var task = new Mqar(Small);
        for (int i = 0; i < 200; i++)
        {
            var (tokens, labels) = task.Example(seed: 3, Split.Train, i);
            var context = new Dictionary<long, long>();
            for (int p = 0; p < Small.Pairs; p++)
            {
                Assert.InRange(tokens[2 * p], 1, Small.Vocab / 2 - 1);         // keys from [1, V/2)
                Assert.InRange(tokens[2 * p + 1], Small.Vocab / 2, Small.Vocab - 1); // values from [V/2, V)
                context[tokens[2 * p]] = tokens[2 * p + 1];
            }
            Assert.Equal(Small.Pairs, context.Count);                           // keys are distinct
            var scored = Enumerable.Range(0, Small.Length).Where(t => labels[t] != -100).ToList();
            Assert.Equal(Small.Pairs, scored.Count);                            // each key queried exactly once
            Assert.All(scored, t =>
            {
                Assert.True(t >= 2 * Small.Pairs && t % 2 == 0, $"query at {t} is not an even position after the context");
                Assert.Equal(context[tokens[t]], labels[t]);
            });
            Assert.Equal(context.Keys.Order(), scored.Select(t => tokens[t]).Order());
        }
    }

    [Fact]
    public void Hand_built_batch_scores_only_masked_positions()
    {
        // Two sequences of length 3, vocabulary 4; only positions (0,1), (1,0), (1,2) are scored.
        var targets = tensor(new long[] { 0, 2, 0, 1, 0, 3 }, new long[] { 2, 3 });
        var mask = tensor(new[] { false, true, false, true, false, true }, new long[] { 2, 3 });
        var batch = new TaskBatch(zeros(2, 3, dtype: ScalarType.Int64), targets, mask);
        var logits = full(new long[] { 2, 3, 4 }, -10.0f);
        logits[0, 1, 2] = 10f; // right
        logits[1, 0, 0] = 10f; // wrong (target 1)
        logits[1, 2, 3] = 10f; // right
        logits[0, 0, 1] = 10f; // unscored position: must not count
        var acc = TokenClassification.Accuracy(logits, batch);
        Assert.Equal(new MetricTally(2, 3), acc);
        var manual = -(nn.functional.log_softmax(logits[1, 0], 0)[1]).item<float>() / 3
                     - (nn.functional.log_softmax(logits[0, 1], 0)[2]).item<float>() / 3
                     - (nn.functional.log_softmax(logits[1, 2], 0)[3]).item<float>() / 3;
        Assert.Equal(manual, TokenClassification.Loss(logits, batch).item<float>(), 4);
    }

    [Fact]
    public void Batches_are_a_pure_function_of_seed_split_and_index()
    {
        var task = new Mqar(Small);
        using var a = task.Batch(Split.Train, 5, 10, 4);
        using var b = task.Batch(Split.Train, 5, 10, 4);
        using var c = task.Batch(Split.Train, 5, 12, 2); // examples 12, 13 again, from a different batch layout
        Assert.True(a.Inputs.eq(b.Inputs).all().item<bool>());
        Assert.True(a.Inputs[2..].eq(c.Inputs).all().item<bool>());
        using var test = task.Batch(Split.Test, 5, 10, 4);
        using var otherSeed = task.Batch(Split.Train, 6, 10, 4);
        Assert.False(a.Inputs.eq(test.Inputs).all().item<bool>());
        Assert.False(a.Inputs.eq(otherSeed.Inputs).all().item<bool>());
    }

    [Fact]
    public void Train_and_test_never_share_an_example_seed()
    {
        foreach (var seed in new long[] { 0, 1, 42 })
        {
            var train = Enumerable.Range(0, 100_000).Select(i => SeedStream.ExampleSeed(seed, Split.Train, i)).ToHashSet();
            Assert.Equal(100_000, train.Count);
            Assert.DoesNotContain(Enumerable.Range(0, 100_000).Select(i => SeedStream.ExampleSeed(seed, Split.Test, i)), train.Contains);
        }
    }

    [Fact]
    public void Training_set_size_makes_the_stream_cycle()
    {
        var task = new Mqar(Small with { TrainExamples = 10 });
        Assert.Equal(task.Example(1, Split.Train, 3).Tokens, task.Example(1, Split.Train, 13).Tokens);
        Assert.NotEqual(task.Example(1, Split.Train, 3).Tokens, task.Example(1, Split.Train, 4).Tokens);
    }

    [Fact]
    public void Query_gaps_favour_short_distances()
    {
        var task = new Mqar(new MqarOptions { Vocab = 512, Length = 256, Pairs = 8, TrainExamples = 0 });
        var gaps = Enumerable.Range(0, 300).SelectMany(i =>
        {
            var (_, labels) = task.Example(0, Split.Train, i);
            return Enumerable.Range(0, 256).Where(t => labels[t] != -100).Select(t => (t - 16) / 2);
        }).ToList();
        Assert.True(gaps.Count(g => g < 30) > gaps.Count(g => g >= 90), "power law a = 0.01 should put more queries near the context");
    }

    [Theory]
    [InlineData("{\"length\": 63}", "length")]
    [InlineData("{\"length\": 64, \"vocab\": 64}", "vocab")]
    [InlineData("{\"length\": 32, \"pairs\": 9}", "pairs")]
    public void Impossible_sizes_are_rejected(string json, string field)
    {
        var e = Assert.Throws<Zoo.Core.Options.ZooConfigException>(() =>
            Zoo.Core.Options.OptionsBinder.Bind<MqarOptions>(System.Text.Json.JsonDocument.Parse(json).RootElement));
        Assert.Equal("options." + field, e.Field);
    }
}
