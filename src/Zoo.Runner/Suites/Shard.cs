using System.Globalization;
using Zoo.Core.Options;

namespace Zoo.Runner.Suites;

/// <summary>
/// One of <see cref="Count"/> disjoint slices of a suite's expanded runs (round-robin over the stable run order), for
/// cluster array jobs: <c>--shard $SLURM_ARRAY_TASK_ID/N</c>. Every run belongs to exactly one shard.
/// </summary>
public sealed record Shard(int Index, int Count)
{
    /// <summary>Parses <c>i/n</c> with 0 ≤ i &lt; n.</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n >= 1 && i < n)
            return new Shard(i, n);
        throw new ZooConfigException(null, "--shard", $"'{text}' is not a shard; allowed: i/n with 0 ≤ i < n, e.g. 0/4 (SLURM_ARRAY_TASK_ID/N)");
    }

    /// <summary>Whether the run at position <paramref name="runIndex"/> of the expanded suite is in this shard.</summary>
    public bool Contains(int runIndex) => runIndex % Count == Index;

    /// <summary>File-name suffix, e.g. <c>.shard-0-of-4</c>.</summary>
    public string FileSuffix => $".shard-{Index}-of-{Count}";
}
