namespace Zoo.Core.Tasks;

/// <summary>
/// Derives per-example random streams from (run seed, split, example index). Deterministic across platforms and
/// .NET versions (SplitMix64), and the split enters the key so train and test streams are distinct.
/// </summary>
public static class SeedStream
{
    private const ulong TrainTag = 0x7452_4149_4E00_0001UL;
    private const ulong TestTag = 0x5445_5354_0000_0002UL;

    /// <summary>The 64-bit seed of example <paramref name="index"/> of <paramref name="split"/> for run seed <paramref name="seed"/>.</summary>
    public static ulong ExampleSeed(long seed, Split split, long index)
    {
        ulong key = SplitMix64.Mix((ulong)seed ^ (split == Split.Train ? TrainTag : TestTag));
        return SplitMix64.Mix(key + SplitMix64.Mix((ulong)index + 0x9E37_79B9_7F4A_7C15UL));
    }

    /// <summary>A generator for example <paramref name="index"/>.</summary>
    public static SplitMix64 ForExample(long seed, Split split, long index) => new(ExampleSeed(seed, split, index));
}
