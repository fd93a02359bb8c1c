using Zoo.Core.Tasks;
using Zoo.Tasks.Selectivity;

namespace Zoo.Tests;

/// <summary>
/// Selective copying's placements: MAD's (every blank inserted before a uniformly chosen data token, so the blanks in
/// front of the K data tokens are multinomial and the last data token touches the copy token) and the uniform one
/// Zoo used before, kept as an option that still generates the same examples.
/// </summary>
public sealed class SelectiveCopyingPlacementTests
{
    private static SelectiveCopying Task(SelectiveCopyingPlacement placement, int length = 30, int copies = 4) =>
        new(new SelectiveCopyingOptions { Vocab = 10, Length = length, Copies = copies, Placement = placement });

    // Blanks in front of each data token (gap i: between data token i − 1, or the start, and data token i) and after the last.
    private static (int[] Before, int After) Gaps(SelectiveCopying task, long[] tokens)
    {
        int copy = Array.IndexOf(tokens, task.Copy);
        var before = new List<int>();
        int run = 0;
        for (int t = 0; t < copy; t++)
        {
            if (tokens[t] == task.Blank) run++;
            else { before.Add(run); run = 0; }
        }
        return (before.ToArray(), run);
    }

    [Theory]
    [InlineData(30, 4)]
    [InlineData(256, 16)]   // MAD's baseline
    [InlineData(12, 5)]     // a single blank
    public void Mad_placement_puts_the_last_data_token_right_before_the_copy_token(int length, int copies)
    {
        var task = Task(SelectiveCopyingPlacement.Mad, length, copies);
        int region = length - copies - 1;
        foreach (var split in new[] { Split.Train, Split.Test })
        {
            for (int i = 0; i < 500; i++)
            {
                var (x, y) = task.Example(3, split, i);
                Assert.Equal(task.Copy, x[region]);
                Assert.NotEqual(task.Blank, x[region - 1]);                    // the last data token touches the copy token
                var (before, after) = Gaps(task, x);
                Assert.Equal((copies, 0, length - 2 * copies - 1), (before.Length, after, before.Sum()));
                Assert.Equal(x.Take(region).Where(t => t != task.Blank), y.Skip(region + 1));  // labels: the data tokens in order
            }
        }
    }

    [Fact]
    public void Mad_placement_gaps_follow_the_multinomial_law()
    {
        // K = 4 data tokens, N = 21 blanks, each in front of data token j ~ U{0..3}: the blanks in front of token i are
        // Binomial(21, 1/4) (mean 5.25, variance 3.9375) and two gaps covary by −N/K² = −1.3125.
        const int k = 4, n = 21, samples = 20_000;
        var task = Task(SelectiveCopyingPlacement.Mad);
        var gaps = Enumerable.Range(0, samples).Select(i => Gaps(task, task.Example(11, Split.Train, i).Tokens).Before).ToArray();
        double p = 1.0 / k, mean = n * p, variance = n * p * (1 - p), covariance = -n * p * p;
        for (int g = 0; g < k; g++)
        {
            var c = gaps.Select(x => (double)x[g]).ToArray();
            double m = c.Average(), v = c.Sum(x => (x - m) * (x - m)) / (samples - 1);
            Assert.True(Math.Abs(m - mean) < 5 * Math.Sqrt(variance / samples), $"gap {g}: mean {m:F3}, expected {mean}");
            Assert.True(Math.Abs(v - variance) < 0.1 * variance, $"gap {g}: variance {v:F3}, expected {variance}");
            // Histogram against the binomial pmf: total variation well below the 0.59 that separated the old generator.
            var pmf = Enumerable.Range(0, n + 1).Select(j => Binomial(n, j) * Math.Pow(p, j) * Math.Pow(1 - p, n - j)).ToArray();
            double tv = 0.5 * Enumerable.Range(0, n + 1).Sum(j => Math.Abs(c.Count(x => x == j) / (double)samples - pmf[j]));
            Assert.True(tv < 0.03, $"gap {g}: total variation {tv:F4} from Binomial({n}, 1/{k})");
        }
        var g0 = gaps.Select(x => (double)x[0]).ToArray();
        var g3 = gaps.Select(x => (double)x[3]).ToArray();
        double cov = g0.Zip(g3, (a, b) => (a - g0.Average()) * (b - g3.Average())).Sum() / (samples - 1);
        Assert.True(Math.Abs(cov - covariance) < 0.1, $"covariance of gaps 0 and 3: {cov:F3}, expected {covariance}");
    }

    private static double Binomial(int n, int j) => Enumerable.Range(1, j).Aggregate(1.0, (acc, i) => acc * (n - j + i) / i);

    [Fact]
    public void Uniform_placement_generates_the_examples_of_the_generator_before_mad_and_differs_from_mad()
    {
        var uniform = Task(SelectiveCopyingPlacement.Uniform);
        int region = 30 - 4 - 1, trailing = 0;
        for (int i = 0; i < 500; i++)
        {
            // The old generator, written out: a uniform random set of positions, then the data tokens.
            var rng = SeedStream.ForExample(5, Split.Test, i);
            var places = rng.Distinct(0, region, 4).Order().ToArray();
            var data = Enumerable.Range(0, 4).Select(_ => (long)rng.NextInt(8)).ToArray();
            var expected = Enumerable.Repeat(uniform.Blank, 30).ToArray();
            expected[region] = uniform.Copy;
            for (int j = 0; j < 4; j++) expected[places[j]] = data[j];
            var (x, _) = uniform.Example(5, Split.Test, i);
            Assert.Equal(expected, x);
            if (x[region - 1] == uniform.Blank) trailing++;
        }
        // Uniform places the last token before the copy token with probability K / region = 4/25 only.
        Assert.InRange(trailing, 350, 480);
        Assert.Equal(SelectiveCopyingPlacement.Mad, new SelectiveCopyingOptions().Placement);   // MAD's is the default
    }

    [Fact]
    public void Examples_are_a_function_of_seed_split_and_index()
    {
        var task = Task(SelectiveCopyingPlacement.Mad, 64, 8);
        var again = Task(SelectiveCopyingPlacement.Mad, 64, 8);
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(task.Example(7, Split.Train, i), again.Example(7, Split.Train, i), ExampleComparer);
            Assert.Equal(task.Example(7, Split.Test, i), again.Example(7, Split.Test, i), ExampleComparer);
        }
        int differ = Enumerable.Range(0, 50).Count(i => !task.Example(7, Split.Train, i).Tokens.SequenceEqual(task.Example(8, Split.Train, i).Tokens));
        Assert.True(differ >= 48, $"only {differ} of 50 examples change with the seed");
        Assert.NotEqual(task.Example(7, Split.Train, 0).Tokens, task.Example(7, Split.Test, 0).Tokens);
    }

    private static readonly IEqualityComparer<(long[] Tokens, long[] Labels)> ExampleComparer =
        EqualityComparer<(long[] Tokens, long[] Labels)>.Create((a, b) => a.Tokens.SequenceEqual(b.Tokens) && a.Labels.SequenceEqual(b.Labels));
}
