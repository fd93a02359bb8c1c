using Zoo.Core.Numerics;
using Zoo.Runner.Results;

namespace Zoo.Runner.Bench;

/// <summary>Log-log plot of time against sequence length per layer, with the fitted scaling exponent in the legend.</summary>
public static class ScalingPlot
{
    /// <summary>Least-squares slope of log(time) against log(length): ≈ 1 for linear-time layers, ≈ 2 for attention.</summary>
    public static double Slope(IReadOnlyList<(double Length, double Ms)> points)
    {
        var p = points.Where(x => x.Length > 0 && x.Ms > 0 && double.IsFinite(x.Ms)).ToList();
        return Stats.Slope(p.Select(x => Math.Log(x.Length)).ToList(), p.Select(x => Math.Log(x.Ms)).ToList());
    }

    /// <summary>Writes one PNG per mode into <paramref name="folder"/> (<c>scaling-MODE.png</c>); returns the files.</summary>
    public static IReadOnlyList<string> Write(IEnumerable<ThroughputRow> rows, string folder, string device)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        foreach (var mode in rows.Where(r => r.Status == "ok").GroupBy(r => r.Mode))
        {
            var plt = new ScottPlot.Plot();
            var palette = new ScottPlot.Palettes.Category20();
            int i = 0;
            foreach (var layer in mode.GroupBy(r => r.Layer).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                // The latest measurement per length wins (the CSV keeps history).
                var pts = layer.GroupBy(r => r.Length).Select(g => g.Last()).OrderBy(r => r.Length).ToList();
                if (pts.Count == 0) continue;
                var slope = Slope(pts.Select(r => ((double)r.Length, r.MedianMs)).ToList());
                var line = plt.Add.Scatter(pts.Select(r => Math.Log10(r.Length)).ToArray(), pts.Select(r => Math.Log10(r.MedianMs)).ToArray());
                line.Color = palette.GetColor(i++);
                line.LineWidth = 2;
                line.LegendText = $"{layer.Key} (slope {slope:F2})";
            }
            var ticks = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => $"{Math.Pow(10, v):G4}" };
            plt.Axes.Bottom.TickGenerator = ticks;
            plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => $"{Math.Pow(10, v):G4}" };
            plt.Title($"{mode.Key} time vs sequence length ({device}, log-log)");
            plt.XLabel("sequence length L");
            plt.YLabel("median time per call (ms)");
            plt.ShowLegend(ScottPlot.Edge.Right); // beside the plot: many layers would cover the lines
            var file = Path.Combine(folder, $"scaling-{mode.Key}.png");
            AtomicFile.Write(file, tmp => plt.SavePng(tmp, 1200, 650));
            files.Add(file);
        }
        return files;
    }
}
