using Zoo.Runner.Results;

namespace Zoo.Studies.ShortTermMemory;

/// <summary>
/// Critical learning rate against delay on log-log axes (Kurtkaya et al., Fig. 4): one marker series per (method,
/// category) and its fitted power law, the slope in the legend.
/// </summary>
public static class StmPlot
{
    /// <summary>Writes the plot to <paramref name="path"/> (PNG, atomically).</summary>
    public static void Write(IReadOnlyList<CriticalPoint> points, IReadOnlyList<CriticalFit> fits, string path, string title)
    {
        var plt = new ScottPlot.Plot();
        // Colour says which boundary, marker and line say which method, so a boundary's estimates read as one family.
        var palette = new ScottPlot.Palettes.Category10();
        var categories = points.Select(p => p.Category).Distinct().OrderBy(c => c switch { "no_solution" => 0, "sp" => 1, _ => 2 }).ThenBy(c => c).ToList();
        int Order(string method) => method switch { "authors" => 0, "paper_fit" => 1, "grid_fit" => 2, _ => 3 };
        foreach (var g in points.Where(p => p.DelayMs > 0 && p.Lr > 0).GroupBy(p => (p.Method, p.Category))
                     .OrderBy(g => categories.IndexOf(g.Key.Category)).ThenBy(g => Order(g.Key.Method)))
        {
            var color = palette.GetColor(categories.IndexOf(g.Key.Category));
            var pts = g.OrderBy(p => p.DelayMs).ToList();
            var marks = plt.Add.ScatterPoints(pts.Select(p => Math.Log10(p.DelayMs)).ToArray(), pts.Select(p => Math.Log10(p.Lr)).ToArray());
            marks.Color = color;
            (marks.MarkerShape, marks.MarkerSize) = g.Key.Method switch
            {
                "authors" => (ScottPlot.MarkerShape.FilledSquare, 6f),
                "paper_fit" => (ScottPlot.MarkerShape.FilledCircle, 9f),
                "grid_fit" => (ScottPlot.MarkerShape.OpenCircle, 9f),
                _ => (ScottPlot.MarkerShape.FilledTriangleUp, 9f),
            };
            // One legend entry per series showing its marker and, for a fitted one, its line.
            var entry = new ScottPlot.LegendItem
            {
                LabelText = $"{g.Key.Method}: {g.Key.Category}", MarkerShape = marks.MarkerShape, MarkerSize = marks.MarkerSize,
                MarkerFillColor = color, MarkerLineColor = color, LineWidth = 0,
            };
            plt.Legend.ManualItems.Add(entry);
            var fit = fits.FirstOrDefault(f => f.Method == g.Key.Method && f.Category == g.Key.Category);
            if (fit is null) continue;
            double x0 = Math.Log(pts[0].DelayMs), x1 = Math.Log(pts[^1].DelayMs);
            var xs = new[] { x0, x1 };
            var line = plt.Add.Scatter(xs.Select(v => v / Math.Log(10)).ToArray(), xs.Select(v => (fit.Intercept + fit.Slope * v) / Math.Log(10)).ToArray());
            line.Color = color;
            line.LineWidth = 2;
            line.MarkerSize = 0;
            line.LinePattern = g.Key.Method switch
            {
                "paper_fit" => ScottPlot.LinePattern.Solid,
                "grid_fit" => ScottPlot.LinePattern.Dotted,
                _ => ScottPlot.LinePattern.Dashed,
            };
            var se = double.IsFinite(fit.SlopeSe) ? $" ± {fit.SlopeSe:F2}" : "";
            entry.LabelText += $", slope {fit.Slope:F2}{se}" + (fit.Paper.Length > 0 ? $" (paper {fit.Paper.Split(' ')[0]})" : "");
            (entry.LineColor, entry.LineWidth, entry.LinePattern) = (color, 2, line.LinePattern);
        }
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => $"{Math.Pow(10, v):G3}" };
        Save(plt, path, title, "critical learning rate", 1200, 650);
    }

    // Learning rate on a log10 axis against delay in ms, legend on the right, written atomically.
    internal static void Save(ScottPlot.Plot plt, string path, string title, string yLabel, int width, int height)
    {
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => $"{Math.Pow(10, v):G3}" };
        plt.Title(title);
        plt.XLabel("delay T (ms)");
        plt.YLabel(yLabel);
        plt.ShowLegend(ScottPlot.Edge.Right);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.Write(path, tmp => plt.SavePng(tmp, width, height));
    }
}
