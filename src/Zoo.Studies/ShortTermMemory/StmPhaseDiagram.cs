namespace Zoo.Studies.ShortTermMemory;

/// <summary>
/// The phase diagram of Kurtkaya et al. (their Fig. 4 layout): delay (linear, ms) against learning rate (log), one
/// marker per grid cell coloured by what most of its seeds ended as (trained with slow-point memory, trained with
/// limit-cycle memory, not trained), the fitted boundaries as lines, and the authors' critical points overlaid.
/// </summary>
public static class StmPhaseDiagram
{
    /// <summary>Writes the diagram to <paramref name="path"/> (PNG, atomically).</summary>
    public static void Write(IReadOnlyList<StmRow> rows, IReadOnlyList<CriticalFit> fits, IReadOnlyList<CriticalPoint> authors, string path, string title)
    {
        var plt = new ScottPlot.Plot();
        var phases = new (string Label, Func<StmRow, bool> In, ScottPlot.Color Color)[]
        {
            ("trained, slow point", r => r.Trained == "yes" && r.MechanismFft == "sp", ScottPlot.Colors.SteelBlue),
            ("trained, limit cycle", r => r.Trained == "yes" && r.MechanismFft == "lc", ScottPlot.Colors.DarkOrange),
            ("not trained", r => r.Trained != "yes", ScottPlot.Colors.LightGray),
        };
        var cells = rows.GroupBy(r => (r.DelayMs, r.Lr)).ToList();
        foreach (var (label, inPhase, color) in phases)
        {
            var mine = cells.Where(c => phases.OrderByDescending(p => c.Count(p.In)).First().Label == label).ToList();
            if (mine.Count == 0) continue;
            var marks = plt.Add.ScatterPoints(mine.Select(c => c.Key.DelayMs).ToArray(), mine.Select(c => Math.Log10(c.Key.Lr)).ToArray());
            marks.Color = color;
            marks.MarkerShape = ScottPlot.MarkerShape.FilledSquare;
            marks.MarkerSize = 11;
            marks.LegendText = label;
        }
        // The axes hold the grid and the authors' points, so a partial study still shows where it is heading.
        double maxDelay = Math.Max(5, rows.Select(r => r.DelayMs).Concat(authors.Select(p => p.DelayMs)).DefaultIfEmpty(5).Max());
        var lines = new (string Category, string Rates, ScottPlot.Color Color, ScottPlot.LinePattern Pattern)[]
        {
            ("no_solution", "all", ScottPlot.Colors.Black, ScottPlot.LinePattern.Solid),
            ("sp", "all", ScottPlot.Colors.Navy, ScottPlot.LinePattern.Dashed),
        };
        foreach (var (category, rates, color, pattern) in lines.Concat(fits.Where(f => f.Method == "paper_fit" && f.Category == "sp" && f.Rates != "all")
                     .Select(f => (f.Category, f.Rates, ScottPlot.Colors.Purple, ScottPlot.LinePattern.Dotted))))
        {
            var fit = fits.FirstOrDefault(f => f.Method == "paper_fit" && f.Category == category && f.Rates == rates);
            if (fit is null) continue;
            var xs = Enumerable.Range(1, 80).Select(i => maxDelay * i / 80.0).ToArray();
            var line = plt.Add.Scatter(xs, xs.Select(x => (fit.Intercept + fit.Slope * Math.Log(x)) / Math.Log(10)).ToArray());
            line.Color = color;
            line.LineWidth = 2;
            line.MarkerSize = 0;
            line.LinePattern = pattern;
            line.LegendText = $"fit {category} ({rates}): slope {fit.Slope:F2} ± {fit.SlopeSe:F2}";
        }
        foreach (var (category, shape) in new[] { ("no_solution", ScottPlot.MarkerShape.OpenCircle), ("sp", ScottPlot.MarkerShape.Cross) })
        {
            var pts = authors.Where(p => p.Category == category && p.DelayMs > 0 && p.Lr > 0).ToList();
            if (pts.Count == 0) continue;
            var marks = plt.Add.ScatterPoints(pts.Select(p => p.DelayMs).ToArray(), pts.Select(p => Math.Log10(p.Lr)).ToArray());
            marks.Color = ScottPlot.Colors.Black;
            marks.MarkerShape = shape;
            marks.MarkerSize = 8;
            marks.LegendText = $"authors' {category} points";
        }
        var lrs = rows.Select(r => r.Lr).Concat(authors.Select(p => p.Lr)).Where(lr => lr > 0).DefaultIfEmpty(1).ToList();
        plt.Axes.SetLimits(-10, maxDelay + 10, Math.Log10(lrs.Min()) - 0.15, Math.Log10(lrs.Max()) + 0.15);
        StmPlot.Save(plt, path, title, "learning rate", 1300, 700);
    }
}
