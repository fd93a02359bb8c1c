using Zoo.Runner.Results;

namespace Zoo.Runner.Plots;

/// <summary>What a learning-curve figure needs to know about a run beyond its curve.</summary>
/// <param name="TaskOptions">The run's task options (JSON): runs with equal options share a panel.</param>
/// <param name="Configuration">Identifies the run's configuration apart from its seed: seeds of one configuration form one line.</param>
/// <param name="Chance">The task setting's chance level, or null.</param>
/// <param name="Detail">A short name of the configuration (e.g. <c>d_model 128, lr 0.001</c>) for the legend, when a
/// layer's best of several is drawn.</param>
public sealed record CurveRunInfo(string TaskOptions, string Configuration, double? Chance, string Detail = "");

/// <summary>
/// Test metric against training step, one PNG per task, one panel per task setting. Per layer the configuration with the
/// best final metric (mean over seeds) is drawn as its mean over seeds with a min–max band; colour, line pattern and
/// marker all differ between layers so overlapping lines stay distinguishable; the legend sits outside the data. A
/// curriculum's runs are drawn as the level they train at over steps.
/// </summary>
public static class LearningCurvePlot
{
    private const int PanelWidth = 760;            // the title wraps to the width the panel is saved at

    /// <summary>Where the plot of <paramref name="task"/> goes.</summary>
    public static string PathFor(string folder, string task) => Path.Combine(folder, $"curves-{task}.png");

    /// <summary>
    /// Writes <c>curves-TASK.png</c> under <paramref name="folder"/> for each task in <paramref name="curves"/>; returns the
    /// files. Curves of runs missing from <paramref name="runs"/> (e.g. configurations no longer in the suite) are drawn in
    /// one panel per task, each layer's runs as seeds of one line.
    /// </summary>
    public static IReadOnlyList<string> Write(IEnumerable<CurveRow> curves, string folder, string suite,
        IReadOnlyDictionary<string, CurveRunInfo>? runs = null)
    {
        Directory.CreateDirectory(folder);
        runs ??= new Dictionary<string, CurveRunInfo>();
        var files = new List<string>();
        foreach (var task in curves.GroupBy(c => c.Task))
        {
            // A forced re-run appends a second curve for the same hash: the latest point per step wins.
            var byRun = task.GroupBy(c => c.ConfigHash)
                .Select(r => (Hash: r.Key, Layer: r.First().Layer, Info: runs.GetValueOrDefault(r.Key),
                    Points: r.GroupBy(c => c.Step).Select(g => g.Last()).OrderBy(c => c.Step).ToArray()))
                .ToList();
            // A curriculum is drawn as the level it trains at, which is how far it got; its accuracy restarts at each level.
            bool levels = task.All(c => c.Level is not null);
            double Y(CurveRow c) => levels ? c.Level!.Value : c.Value;
            var metric = levels ? "curriculum level N" : task.First().Metric;
            bool higher = levels || Leaderboard.HigherIsBetter(metric);
            var layers = byRun.Select(r => r.Layer).Distinct().Order(StringComparer.Ordinal).ToList();
            var settings = byRun.GroupBy(r => r.Info?.TaskOptions ?? "").OrderBy(g => g.Key, NaturalOrder.Instance).ToList();
            var panels = new List<ScottPlot.Plot>();
            foreach (var setting in settings)
            {
                var plt = new ScottPlot.Plot();
                foreach (var layer in setting.GroupBy(r => r.Layer).OrderBy(g => layers.IndexOf(g.Key)))
                {
                    // Seeds of one configuration form a line; of a layer's configurations (swept lr, width) the best is
                    // drawn, and the legend says which.
                    var configurations = layer.GroupBy(r => r.Info?.Configuration ?? "").ToList();
                    var best = configurations.OrderBy(c => (higher ? -1 : 1) * c.Average(r => Y(r.Points[^1]))).First().ToList();
                    var (color, pattern, marker) = SmallMultiples.Style(layers.IndexOf(layer.Key));
                    var steps = best.SelectMany(r => r.Points.Select(p => p.Step)).Distinct().Order().ToArray();
                    var atStep = steps.Select(s => best.SelectMany(r => r.Points.Where(p => p.Step == s).Select(Y)).ToArray()).ToArray();
                    var xs = steps.Select(s => (double)s).ToArray();
                    if (best.Count > 1)
                    {
                        var band = plt.Add.FillY(xs, atStep.Select(v => v.Min()).ToArray(), atStep.Select(v => v.Max()).ToArray());
                        band.FillColor = color.WithAlpha(0.18);
                        band.LineWidth = 0;
                    }
                    var line = plt.Add.Scatter(xs, atStep.Select(v => v.Average()).ToArray());
                    line.Color = color;
                    line.LineWidth = 2;
                    line.LinePattern = pattern;
                    line.MarkerShape = marker;
                    line.MarkerSize = 6;
                    var notes = new List<string>();
                    if (configurations.Count > 1 && best[0].Info?.Detail is { Length: > 0 } detail) notes.Add($"{detail}, best of {configurations.Count}");
                    if (best.Count > 1) notes.Add($"{best.Count} seeds");
                    line.LegendText = notes.Count > 0 ? $"{layer.Key} ({string.Join(", ", notes)})" : layer.Key;
                }
                SmallMultiples.ChanceLine(plt, levels ? null : setting.First().Info?.Chance, levels ? metric : $"test {metric}");
                SmallMultiples.PanelTitle(plt, settings.Count == 1 ? $"{suite}: {task.Key}"
                    : setting.Key.Length == 0 ? $"{task.Key}: runs not in the suite"
                    : SmallMultiples.SettingTitle(task.Key, setting.Key, settings.Select(s => s.Key).Where(k => k.Length > 0)), PanelWidth);
                plt.XLabel("training step");
                SmallMultiples.LegendBeside(plt);
                panels.Add(plt);
            }
            var file = PathFor(folder, task.Key);
            SmallMultiples.Save(panels, file, PanelWidth, 420, maxColumns: 2);
            files.Add(file);
        }
        return files;
    }
}
