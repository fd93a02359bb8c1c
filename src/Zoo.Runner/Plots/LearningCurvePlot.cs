using Zoo.Runner.Results;

namespace Zoo.Runner.Plots;

/// <summary>Test metric against training step, one line per (layer, seed), one PNG per task.</summary>
public static class LearningCurvePlot
{
    /// <summary>Where the plot of <paramref name="task"/> goes.</summary>
    public static string PathFor(string folder, string task) => Path.Combine(folder, $"curves-{task}.png");

    /// <summary>Writes <c>curves-TASK.png</c> under <paramref name="folder"/> for each task in <paramref name="curves"/>; returns the files.</summary>
    public static IReadOnlyList<string> Write(IEnumerable<CurveRow> curves, string folder, string suite)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        foreach (var task in curves.GroupBy(c => c.Task))
        {
            var plt = new ScottPlot.Plot();
            var palette = new ScottPlot.Palettes.Category10();
            int i = 0;
            foreach (var layer in task.GroupBy(c => c.Layer).OrderBy(g => g.Key))
            {
                var color = palette.GetColor(i++);
                bool first = true;
                foreach (var run in layer.GroupBy(c => c.ConfigHash))
                {
                    // A forced re-run appends a second curve for the same hash: the latest point per step wins.
                    var pts = run.GroupBy(c => c.Step).Select(g => g.Last()).OrderBy(c => c.Step).ToArray();
                    var line = plt.Add.Scatter(pts.Select(p => (double)p.Step).ToArray(), pts.Select(p => p.Value).ToArray());
                    line.Color = color;
                    line.LineWidth = 2;
                    line.MarkerSize = 4;
                    if (first) line.LegendText = layer.Key;
                    first = false;
                }
            }
            var metric = task.First().Metric;
            plt.Title($"{suite}: {task.Key}");
            plt.XLabel("training step");
            plt.YLabel($"test {metric}");
            plt.ShowLegend(ScottPlot.Alignment.UpperLeft);
            var file = PathFor(folder, task.Key);
            AtomicFile.Write(file, tmp => plt.SavePng(tmp, 800, 500));
            files.Add(file);
        }
        return files;
    }
}
