using Zoo.Core.Tasks;

namespace Zoo.Tests;

/// <summary>The task generators' random source: draws that data (and so config hashes' meaning) depend on.</summary>
public sealed class SplitMix64Tests
{
    // The readable form: a partial Fisher–Yates over a full array of the pool.
    private static int[] DistinctReference(SplitMix64 rng, int lo, int hi, int k)
    {
        var pool = Enumerable.Range(lo, hi - lo).ToArray();
        for (int i = 0; i < k; i++)
        {
            int j = i + rng.NextInt(hi - lo - i);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        return pool[..k];
    }

    [Theory]
    [InlineData(0, 1, 1)]
    [InlineData(0, 10, 10)]      // the whole pool: a permutation
    [InlineData(5, 37, 7)]
    [InlineData(1, 4097, 64)]    // MQAR at V 8,192: 64 keys from 4,096
    [InlineData(-20, 20, 39)]
    public void Distinct_draws_exactly_what_a_fisher_yates_over_the_full_pool_draws(int lo, int hi, int k)
    {
        for (ulong seed = 0; seed < 50; seed++)
        {
            var fast = new SplitMix64(seed).Distinct(lo, hi, k);
            Assert.Equal(DistinctReference(new SplitMix64(seed), lo, hi, k), fast);
            Assert.Equal(k, fast.Distinct().Count());
            Assert.All(fast, v => Assert.InRange(v, lo, hi - 1));
        }
    }

    [Fact]
    public void Distinct_refuses_more_values_than_the_pool_holds() =>
        Assert.Throws<ArgumentException>(() => new SplitMix64(1).Distinct(0, 3, 4));
}
