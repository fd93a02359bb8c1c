using Zoo.Runner.Results;

namespace Zoo.Runner.Plots;

/// <summary>
/// The leaderboard's figures, one panel per task setting: each layer's best metric as a bar, and best metric against
/// recurrent state size (the axis that explains recall results, Arora et al. 2023). Only primary metrics are drawn.
/// </summary>
public static class LeaderboardPlots
{
    private const int StatePanelWidth = 760;       // the title wraps to the width the panel is saved at

    /// <summary>The chance level of a task setting (task name, task options JSON), or null when the task has none.</summary>
    public delegate double? ChanceOf(string task, string taskOptions);

    /// <summary>
    /// Bar chart per task setting: one bar per layer (the mean over seeds) with each seed's value as a dot on it, a
    /// chance line; ↑ marks a layer with seeds still improving when they stopped. Dots rather than a standard-deviation
    /// bar: with two or three seeds they show what the runs did (one seed solving, one on the plateau), where mean ± SD
    /// would draw a whisker past the metric's range.
    /// </summary>
    public static void Bars(IReadOnlyList<LeaderboardEntry> entries, string pngPath, string title, ChanceOf? chance = null)
    {
        var (settings, layers) = Panels(entries);
        int width = Math.Max(360, 48 * settings.Max(s => s.Count()) + 120);
        var panels = new List<ScottPlot.Plot>();
        foreach (var g in settings)
        {
            var plt = new ScottPlot.Plot();
            var ticks = new List<ScottPlot.Tick>();
            int x = 0;
            foreach (var e in g.OrderBy(e => layers.IndexOf(e.Layer)))
            {
                var seeds = e.SeedValues ?? Array.Empty<double>();
                plt.Add.Bar(new ScottPlot.Bar
                {
                    Position = x, Value = e.Mean, Error = seeds.Count > 0 ? 0 : e.Spread,
                    FillColor = SmallMultiples.Style(layers.IndexOf(e.Layer)).Color,
                });
                if (seeds.Count > 1)
                {
                    var dots = plt.Add.Markers(seeds.Select(_ => (double)x).ToArray(), seeds.ToArray(), ScottPlot.MarkerShape.FilledCircle, 7, ScottPlot.Colors.Black);
                    dots.MarkerStyle.OutlineColor = ScottPlot.Colors.White;
                    dots.MarkerStyle.OutlineWidth = 1;
                }
                ticks.Add(new ScottPlot.Tick(x++, e.StillImproving > 0 ? $"{e.Layer} ↑" : e.Layer));
            }
            var first = g.First();
            SmallMultiples.ChanceLine(plt, chance?.Invoke(first.Task, first.TaskOptions), first.Metric);
            plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
            plt.Axes.Bottom.TickLabelStyle.Rotation = -35;
            plt.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleRight;
            plt.Axes.Margins(bottom: 0);
            int titleLines = SmallMultiples.PanelTitle(plt, Title(title, g.Key, settings.Count, entries), width);
            plt.Layout.Fixed(new ScottPlot.PixelPadding(70, 15, 125, 20 + 20 * titleLines)); // room for the rotated layer names and the title
            panels.Add(plt);
        }
        SmallMultiples.Save(panels, pngPath, width, 460);
    }

    /// <summary>
    /// Best metric against recurrent state size (log x) per task setting, a chance line; each layer a line through its
    /// entries (one per width when built with <c>Leaderboard.Build(rows, perWidth: true)</c>), named in a legend beside the panel.
    /// </summary>
    public static void StateSize(IReadOnlyList<LeaderboardEntry> entries, string pngPath, string title, ChanceOf? chance = null)
    {
        var (settings, layers) = Panels(entries.Where(e => e.StateSize > 0).ToList());
        var legendOrder = entries.Select(e => e.Layer).Distinct().ToList();     // the same in every panel
        var panels = new List<ScottPlot.Plot>();
        foreach (var g in settings)
        {
            var plt = new ScottPlot.Plot();
            foreach (var layer in g.GroupBy(e => e.Layer).OrderBy(l => legendOrder.IndexOf(l.Key)))
            {
                // A layer measured at several widths is one line through its states.
                var points = layer.OrderBy(e => e.StateSize).ToList();
                var (color, pattern, marker) = SmallMultiples.Style(layers.IndexOf(layer.Key));
                var line = plt.Add.Scatter(points.Select(e => Math.Log10(e.StateSize)).ToArray(), points.Select(e => e.Mean).ToArray());
                line.Color = color;
                line.LineWidth = points.Count > 1 ? 2 : 0;
                line.LinePattern = pattern;
                line.MarkerShape = marker;
                line.MarkerSize = 10;
                line.LegendText = layer.Key;
            }
            var first = g.First();
            SmallMultiples.ChanceLine(plt, chance?.Invoke(first.Task, first.TaskOptions), first.Metric);
            plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(SmallMultiples.LogTicks(g.Min(e => e.StateSize), g.Max(e => e.StateSize)));
            plt.Axes.Margins(horizontal: 0.2, vertical: 0.12);
            SmallMultiples.PanelTitle(plt, Title(title, g.Key, settings.Count, entries), StatePanelWidth);
            plt.XLabel("recurrent state per sequence (numbers, log scale)");
            SmallMultiples.LegendBeside(plt);                                        // not on the data: many layers share a point
            panels.Add(plt);
        }
        if (panels.Count == 0) return;
        SmallMultiples.Save(panels, pngPath, StatePanelWidth, 480);
    }

    // Panels: one per (task, setting) of primary-metric entries; layers in a fixed order so a layer keeps its colour
    // across panels.
    private static (List<IGrouping<(string Task, string TaskOptions), LeaderboardEntry>> Settings, List<string> Layers) Panels(IReadOnlyList<LeaderboardEntry> entries)
    {
        var primary = entries.Where(e => e.Primary).ToList();
        var layers = primary.Select(e => e.Layer).Distinct().Order(StringComparer.Ordinal).ToList();
        return (primary.GroupBy(e => (e.Task, e.TaskOptions)).ToList(), layers);
    }

    private static string Title(string title, (string Task, string TaskOptions) setting, int panels, IReadOnlyList<LeaderboardEntry> all) =>
        panels == 1 ? title : SmallMultiples.SettingTitle(setting.Task, setting.TaskOptions,
            all.Where(e => e.Task == setting.Task).Select(e => e.TaskOptions).Distinct());
}
