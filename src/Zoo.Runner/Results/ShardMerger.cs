namespace Zoo.Runner.Results;

/// <summary>
/// Combines result files (e.g. one per shard) into one, de-duplicated by (config hash, metric): a run with
/// post-training metrics has one row per metric. A finished row (ok or
/// diverged) wins over a failed one (error, oom); two finished rows of the same hash with different values are a
/// conflict: the first is kept and the conflict reported.
/// </summary>
public static class ShardMerger
{
    /// <summary>What a merge did.</summary>
    public sealed record Report(int RowsRead, int RowsWritten, int Duplicates, IReadOnlyList<string> Conflicts);

    /// <summary>
    /// Merges <paramref name="inputs"/> into <paramref name="output"/> (replacing it atomically); <paramref name="note"/>
    /// hears about incomplete last rows skipped in the inputs.
    /// </summary>
    public static Report Merge(IReadOnlyList<string> inputs, string output, Action<string>? note = null)
    {
        var kept = new Dictionary<(string, string), (ResultRow Row, string File)>();
        var order = new List<(string, string)>();
        var conflicts = new List<string>();
        int read = 0, duplicates = 0;
        foreach (var file in inputs)
        {
            if (!File.Exists(file)) throw new Zoo.Core.Options.ZooConfigException(file, null, "results file not found");
            foreach (var row in new CsvTable<ResultRow>(file, note).Read())
            {
                read++;
                var key = (row.ConfigHash, row.Metric);
                if (!kept.TryGetValue(key, out var existing))
                {
                    kept[key] = (row, file);
                    order.Add(key);
                    continue;
                }
                duplicates++;
                bool existingDone = Finished(existing.Row), rowDone = Finished(row);
                if (!existingDone && rowDone) kept[key] = (row, file);
                else if (existingDone && rowDone && !SameResult(existing.Row, row))
                    conflicts.Add($"{row.ConfigHash} ({row.Layer} on {row.Task}, seed {row.Seed}): {row.Metric} {existing.Row.Value} in {existing.File} vs {row.Value} in {file}; kept the first");
            }
        }
        new CsvTable<ResultRow>(output).Write(order.Select(h => kept[h].Row));
        return new Report(read, order.Count, duplicates, conflicts);
    }

    private static bool Finished(ResultRow r) => r.Status is "ok" or "diverged";

    private static bool SameResult(ResultRow a, ResultRow b) =>
        a.Status == b.Status && (a.Value.Equals(b.Value) || (double.IsNaN(a.Value) && double.IsNaN(b.Value)));
}
