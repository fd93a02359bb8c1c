using ScottPlot;
using System.Text.Json.Nodes;
using Zoo.Runner.Results;

namespace Zoo.Runner.Plots;

/// <summary>
/// Figures of a replay study (arXiv 2602.18401): decoded replay trajectories over the environment, one panel per variant;
/// replay metric bars with seed spread; path-integration error over training. One set per task setting (environment).
/// </summary>
public static class ReplayPlots
{
    /// <summary>Writes <c>replay-SETTING.png</c>, <c>replay-metrics-SETTING.png</c> and <c>pi-error-SETTING.png</c> under
    /// <paramref name="folder"/>; <paramref name="labels"/> maps config hashes to variant names.</summary>
    public static IReadOnlyList<string> Write(IReadOnlyList<ResultRow> results, IReadOnlyList<TrajectoryRow> trajectories,
        IReadOnlyDictionary<string, string> labels, string folder, string suite, IReadOnlyList<CurveRow>? curves = null)
    {
        var files = new List<string>();
        var ok = results.Where(r => r.Status == "ok").GroupBy(r => (r.ConfigHash, r.Metric)).Select(g => g.Last()).ToList();
        string Label(string hash) => labels.TryGetValue(hash, out var l) ? l : hash;
        foreach (var setting in ok.GroupBy(r => r.TaskOptionsHash))
        {
            var name = SettingName(setting.First());
            var order = setting.Select(r => Label(r.ConfigHash)).Distinct().ToList();
            var hashes = setting.Select(r => r.ConfigHash).ToHashSet();
            files.Add(Trajectories(trajectories.Where(t => hashes.Contains(t.ConfigHash)).ToList(), order, Label,
                Path.Combine(folder, $"replay-{name}.png"), $"{suite}: decoded replay, {name}"));
            files.Add(MetricBars(setting.ToList(), order, Label, Path.Combine(folder, $"replay-metrics-{name}.png"), $"{suite}: {name} (mean ± sd over seeds)"));
            if (curves is not null)
                files.Add(Curves(curves.Where(c => hashes.Contains(c.ConfigHash)).ToList(), order, Label,
                    Path.Combine(folder, $"pi-error-{name}.png"), $"{suite}: path-integration error, {name}"));
        }
        return files;
    }

    // The environment's name when the task options have one, else the options hash.
    private static string SettingName(ResultRow row)
    {
        try
        {
            return JsonNode.Parse(row.TaskOptions)?["environment"]?.GetValue<string>() ?? row.TaskOptionsHash;
        }
        catch (System.Text.Json.JsonException)
        {
            return row.TaskOptionsHash;
        }
    }

    private static string Trajectories(IReadOnlyList<TrajectoryRow> rows, IReadOnlyList<string> order, Func<string, string> label, string file, string title)
    {
        var multiplot = new ScottPlot.Multiplot();
        multiplot.AddPlots(order.Count);
        int cols = Math.Min(order.Count, 3), rowsCount = (order.Count + cols - 1) / cols;
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rowsCount, cols);
        var palette = new ScottPlot.Palettes.Category10();
        for (int v = 0; v < order.Count; v++)
        {
            var plt = multiplot.GetPlot(v);
            // The lowest seed of the variant: one network per panel, as in the paper's figures.
            var mine = rows.Where(r => label(r.ConfigHash) == order[v]).ToList();
            if (mine.Count == 0) continue;
            long seed = mine.Min(r => r.Seed);
            foreach (var traj in mine.Where(r => r.Seed == seed).GroupBy(r => (r.Kind, r.Index)).OrderBy(g => g.Key.Kind == "replay"))
            {
                var pts = traj.OrderBy(r => r.T).ToArray();
                var line = plt.Add.ScatterLine(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray());
                line.LineWidth = traj.Key.Kind == "replay" ? 1.5f : 1;
                line.Color = traj.Key.Kind == "replay" ? palette.GetColor(traj.Key.Index) : ScottPlot.Colors.LightGray;
            }
            plt.Title(order[v], size: 13);
            plt.Axes.SquareUnits();
        }
        multiplot.GetPlot(0).Title($"{title}\n{order[0]}", size: 13);
        AtomicFile.Write(file, tmp => multiplot.SavePng(tmp, 420 * cols, 420 * rowsCount));
        return file;
    }

    private static string MetricBars(IReadOnlyList<ResultRow> rows, IReadOnlyList<string> order, Func<string, string> label, string file, string title)
    {
        var metrics = rows.Select(r => r.Metric).Distinct().ToList();
        var multiplot = new ScottPlot.Multiplot();
        multiplot.AddPlots(metrics.Count);
        int cols = Math.Min(metrics.Count, 4), rowsCount = (metrics.Count + cols - 1) / cols;
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rowsCount, cols);
        var palette = new ScottPlot.Palettes.Category10();
        for (int m = 0; m < metrics.Count; m++)
        {
            var plt = multiplot.GetPlot(m);
            var ticks = new List<ScottPlot.Tick>();
            for (int v = 0; v < order.Count; v++)
            {
                var values = rows.Where(r => r.Metric == metrics[m] && label(r.ConfigHash) == order[v]).Select(r => r.Value).Where(double.IsFinite).ToArray();
                if (values.Length == 0) continue;
                double mean = values.Average();
                double sd = values.Length > 1 ? Math.Sqrt(values.Sum(x => (x - mean) * (x - mean)) / (values.Length - 1)) : 0;
                plt.Add.Bar(new ScottPlot.Bar { Position = v, Value = mean, Error = sd, FillColor = palette.GetColor(v) });
                ticks.Add(new ScottPlot.Tick(v, order[v]));
            }
            plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
            plt.Axes.Bottom.TickLabelStyle.Rotation = -30;
            plt.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleRight;
            plt.Axes.Margins(bottom: 0);
            plt.Title(metrics[m], size: 12);
        }
        multiplot.GetPlot(0).Title($"{title}\n{metrics[0]}", size: 12);
        AtomicFile.Write(file, tmp => multiplot.SavePng(tmp, 330 * cols, 330 * rowsCount));
        return file;
    }

    private static string Curves(IReadOnlyList<CurveRow> curves, IReadOnlyList<string> order, Func<string, string> label, string file, string title)
    {
        var plt = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int v = 0; v < order.Count; v++)
        {
            bool first = true;
            foreach (var run in curves.Where(c => label(c.ConfigHash) == order[v]).GroupBy(c => c.ConfigHash))
            {
                var pts = run.GroupBy(c => c.Step).Select(g => g.Last()).OrderBy(c => c.Step).ToArray();
                var line = plt.Add.Scatter(pts.Select(p => (double)p.Step).ToArray(), pts.Select(p => p.Value).ToArray());
                line.Color = palette.GetColor(v);
                line.MarkerSize = 3;
                if (first) line.LegendText = order[v];
                first = false;
            }
        }
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic();
        plt.Title(title);
        plt.XLabel("training step");
        plt.YLabel("test position error (m)");
        plt.ShowLegend(ScottPlot.Alignment.UpperRight);
        AtomicFile.Write(file, tmp => plt.SavePng(tmp, 800, 500));
        return file;
    }
}
