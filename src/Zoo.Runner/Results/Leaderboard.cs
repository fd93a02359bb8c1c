using System.Globalization;
using System.Text;

namespace Zoo.Runner.Results;

/// <summary>One leaderboard line: a layer's best configuration on one task setting, summarised over seeds.</summary>
/// <param name="Suite">Suite name.</param>
/// <param name="Task">Task name.</param>
/// <param name="TaskOptions">The task setting's options (JSON).</param>
/// <param name="Layer">Layer name (or label).</param>
/// <param name="Metric">The metric summarised.</param>
/// <param name="HigherIsBetter">Direction of <paramref name="Metric"/>.</param>
/// <param name="Mean">Mean over seeds of each run's best value.</param>
/// <param name="Spread">Standard deviation over seeds.</param>
/// <param name="Seeds">Seeds (finished runs) averaged.</param>
/// <param name="Diverged">How many of them diverged.</param>
/// <param name="Lr">The configuration's learning rate.</param>
/// <param name="DModel">Its width.</param>
/// <param name="Params">Trainable parameters.</param>
/// <param name="StateSize">Recurrent state per sequence at the task's length.</param>
/// <param name="TokensPerSecond">Mean training tokens/s over the seeds.</param>
/// <param name="LayerOptions">The configuration's layer options (JSON).</param>
/// <param name="Primary">Whether <paramref name="Metric"/> is the runs' primary metric (figures draw only those).</param>
/// <param name="Ends">How the seeds' runs ended (the result rows' <c>end</c> column), e.g. <c>target 2, cap 1</c>; empty for older files.</param>
/// <param name="StillImproving">Seeds whose run stopped while still improving: <c>end</c> = <c>cap</c> (an <c>until</c> run
/// that met neither target nor patience), or a fixed budget whose best evaluation was its last one. Their value is a lower
/// bound on what the layer reaches, so their rank against converged rows is provisional.</param>
/// <param name="StepsToNineTenths">Median over the seeds that got there of the first step at 0.9 of the range above chance; null when none did.</param>
/// <param name="ReachedNineTenths">How many seeds reached 0.9 of the range above chance.</param>
/// <param name="SeedValues">Each seed's value, in row order (the bar chart draws them: with two or three seeds a
/// standard deviation says little, and mean ± SD can leave the metric's range).</param>
public sealed record LeaderboardEntry(
    string Suite, string Task, string TaskOptions, string Layer, string Metric, bool HigherIsBetter,
    double Mean, double Spread, int Seeds, int Diverged, double Lr, int DModel, long Params, long StateSize, double TokensPerSecond, string LayerOptions,
    bool Primary = true, string Ends = "", int StillImproving = 0, double? StepsToNineTenths = null, int ReachedNineTenths = 0,
    IReadOnlyList<double>? SeedValues = null);

/// <summary>
/// Turns result rows into a leaderboard: for each (task setting, layer — or labelled variant, see
/// <see cref="ResultRow.Label"/>), configurations that differ only in seed are
/// averaged (ok and diverged rows; a diverged seed counts with its best metric before divergence), and the best
/// configuration over the swept values (learning rate, width, options) is reported as mean ± standard deviation over
/// seeds — the protocol of the recall literature, where recurrent models only work in a narrow lr window. A config hash
/// that appears several times (a forced re-run) counts once, with its latest row.
/// </summary>
public static class Leaderboard
{
    /// <summary>Whether a larger value of <paramref name="metric"/> is better (losses, errors and distances are not).</summary>
    public static bool HigherIsBetter(string metric)
    {
        var m = metric.ToLowerInvariant();
        return !new[] { "loss", "mse", "error", "distance", "wasserstein", "kl", "perplexity" }.Any(m.Contains);
    }

    /// <summary>
    /// Best entry per (suite, task setting, layer), ordered by task then best first; with <paramref name="perWidth"/>,
    /// best per d_model as well (the points of the metric-against-state-size figure, where width is the x axis rather
    /// than a swept value to pick the best of).
    /// </summary>
    public static IReadOnlyList<LeaderboardEntry> Build(IEnumerable<ResultRow> rows, bool perWidth = false)
    {
        // A configuration re-run (e.g. with --force) counts once: its latest finished row.
        var finished = rows.Where(r => r.Status is "ok" or "diverged" && double.IsFinite(r.Value)).ToList();
        var latest = finished.Where(r => r.ConfigHash.Length == 0)
            .Concat(finished.Where(r => r.ConfigHash.Length > 0).GroupBy(r => (r.ConfigHash, r.Metric)).Select(g => g.Last()));
        // A run writes its primary metric's row first, then any post-training metrics (replay statistics).
        var primary = finished.Where(r => r.ConfigHash.Length > 0).GroupBy(r => r.ConfigHash).ToDictionary(g => g.Key, g => g.First().Metric);
        var configs = latest
            .GroupBy(r => (r.Suite, r.Task, r.TaskOptionsHash, r.Metric, Name(r), r.LayerOptionsHash, r.ModelKind, r.DModel, r.NLayers, r.Lr, r.Steps, r.Batch))
            .Select(g =>
            {
                var values = g.Select(r => r.Value).ToArray();
                var (mean, spread) = Zoo.Core.Numerics.Stats.MeanSd(values);
                var first = g.First();
                var reached = g.Where(r => r.StepsToNineTenths is not null).Select(r => (double)r.StepsToNineTenths!.Value).ToArray();
                return new LeaderboardEntry(first.Suite, first.Task, first.TaskOptions, Name(first), first.Metric, HigherIsBetter(first.Metric),
                    mean, spread, values.Length, g.Count(r => r.Status == "diverged"), first.Lr, first.DModel, first.Params, first.StateSize,
                    g.Average(r => r.TrainTokensPerSecond), first.LayerOptions,
                    !primary.TryGetValue(first.ConfigHash, out var p) || p == first.Metric,
                    DescribeEnds(g), g.Count(StoppedImproving), reached.Length > 0 ? Median(reached) : null, reached.Length, values);
            });
        return configs
            .GroupBy(e => (e.Suite, e.Task, e.TaskOptions, e.Metric, e.Layer, perWidth ? e.DModel : 0))
            .Select(g => g.OrderBy(e => e.HigherIsBetter ? -e.Mean : e.Mean).First())
            .OrderBy(e => e.Suite, StringComparer.Ordinal).ThenBy(e => e.Task, StringComparer.Ordinal).ThenBy(e => e.TaskOptions, NaturalOrder.Instance)
            .ThenBy(e => e.Metric, StringComparer.Ordinal).ThenBy(e => e.HigherIsBetter ? -e.Mean : e.Mean)
            .ToList();
    }

    // A labelled suite entry is a named variant (attention with a short conv beside plain attention): its own line.
    private static string Name(ResultRow r) => r.Label.Length > 0 ? r.Label : r.Layer;

    /// <summary>
    /// Whether a finished run stopped while its metric was still improving: an <c>until</c> run that hit its step cap
    /// (neither target nor patience met), or a fixed budget whose best evaluation was the last one.
    /// </summary>
    public static bool StoppedImproving(ResultRow r) =>
        r.Status == "ok" && (r.End == "cap" || (r.End == "steps" && r.Steps > 0 && r.BestStep >= r.Steps));

    // "target 2, cap 1": the end reasons over seeds, most frequent first; empty when no row records one (older files).
    private static string DescribeEnds(IEnumerable<ResultRow> seeds) =>
        string.Join(", ", seeds.Where(r => r.End.Length > 0).GroupBy(r => r.End)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"));

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    // Mean over seeds; with two or three seeds each seed's value beside it (a standard deviation of two values, one run
    // solving and one on the plateau, reads as 0.52 ± 0.66), with more the standard deviation.
    private static string FormatValue(LeaderboardEntry e)
    {
        var seeds = e.SeedValues ?? Array.Empty<double>();
        if (e.Seeds <= 1) return string.Create(CultureInfo.InvariantCulture, $"{e.Mean:F4}");
        if (seeds.Count is >= 2 and <= 3)
            return string.Create(CultureInfo.InvariantCulture, $"{e.Mean:F4} ({string.Join(", ", seeds.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)))})");
        return string.Create(CultureInfo.InvariantCulture, $"{e.Mean:F4} ± {e.Spread:F4}");
    }

    /// <summary>
    /// Markdown: one table per (suite, task setting). With <paramref name="perWidth"/> (<see cref="Build"/> with
    /// perWidth), a setting whose runs span several widths also gets a table of each layer's best value per d_model, with
    /// its state size: the numbers behind the metric-against-state-size figure.
    /// </summary>
    public static string Markdown(IReadOnlyList<LeaderboardEntry> entries, string title = "Zoo leaderboard",
        IReadOnlyList<LeaderboardEntry>? perWidth = null)
    {
        var sb = new StringBuilder($"# {title}\n\n");
        sb.Append("Best configuration per layer (over swept learning rates, widths and options; a variant a suite labels is its own line); value = mean over seeds of each run's best test metric, with each seed's value in brackets for two or three seeds and ± the standard deviation for more. ")
            .Append("*end*: how the seeds' runs stopped (`steps`: fixed budget; `target`/`plateau`: converged under `train.until`; `cap`: hit the step cap while still improving). ")
            .Append("*steps to 0.9*: median first step at 0.9 of the range above chance, over the seeds that reached it (count in brackets). ")
            .Append("A rank marked ↑ has seeds that stopped while still improving (`cap`, or a fixed budget whose best evaluation was its last): ")
            .Append("its value is a lower bound and its rank against converged rows provisional. Generated by `zoo leaderboard`.\n");
        foreach (var table in entries.GroupBy(e => (e.Suite, e.Task, e.TaskOptions, e.Metric)))
        {
            var first = table.First();
            sb.Append(CultureInfo.InvariantCulture, $"\n## {first.Suite}: {first.Task}\n\n`{first.TaskOptions}`\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"| rank | layer | {first.Metric} ({(first.HigherIsBetter ? "higher" : "lower")} is better) | seeds | end | steps to 0.9 | lr | d_model | params | state size | train tokens/s |\n");
            sb.Append("|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
            int rank = 1;
            foreach (var e in table)
            {
                var diverged = e.Diverged > 0 ? $" ({e.Diverged} diverged)" : "";
                var value = FormatValue(e);
                var mark = e.StillImproving > 0 ? " ↑" : "";
                var ends = e.Ends.Length == 0 ? "–" : e.Ends;
                var speed = e.StepsToNineTenths is { } s9 ? string.Create(CultureInfo.InvariantCulture, $"{s9:N0} ({e.ReachedNineTenths}/{e.Seeds})") : "–";
                sb.Append(CultureInfo.InvariantCulture,
                    $"| {rank++}{mark} | {e.Layer} | {value} | {e.Seeds}{diverged} | {ends} | {speed} | {e.Lr:G3} | {e.DModel} | {e.Params:N0} | {e.StateSize:N0} | {e.TokensPerSecond:N0} |\n");
            }
            if (perWidth is not null) AppendByWidth(sb, table.ToList(), perWidth.Where(e => e.Suite == first.Suite && e.Task == first.Task
                && e.TaskOptions == first.TaskOptions && e.Metric == first.Metric).ToList());
        }
        return sb.ToString();
    }

    // Rows: the main table's layers in its order; columns: the widths run. A cell is the layer's best value at that width
    // with its state size, ↑ when a seed stopped still improving, – when the layer was not run at that width.
    private static void AppendByWidth(StringBuilder sb, List<LeaderboardEntry> best, List<LeaderboardEntry> widths)
    {
        var dModels = widths.Select(e => e.DModel).Distinct().Order().ToList();
        if (dModels.Count < 2) return;
        var cells = widths.ToDictionary(e => (e.Layer, e.DModel));
        sb.Append("\nBy width (best value per d_model; state size in brackets):\n\n");
        sb.Append("| layer | ").Append(string.Join(" | ", dModels.Select(d => $"d_model {d}"))).Append(" |\n");
        sb.Append("|---|").Append(string.Concat(dModels.Select(_ => "---:|"))).Append('\n');
        foreach (var layer in best.Select(e => e.Layer))
        {
            sb.Append(CultureInfo.InvariantCulture, $"| {layer} |");
            foreach (var d in dModels)
                sb.Append(cells.TryGetValue((layer, d), out var e)
                    ? string.Create(CultureInfo.InvariantCulture, $" {e.Mean:F3}{(e.StillImproving > 0 ? " ↑" : "")} ({e.StateSize:N0}) |")
                    : " – |");
            sb.Append('\n');
        }
    }
}
