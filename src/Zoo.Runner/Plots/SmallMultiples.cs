using ScottPlot;
using Zoo.Runner.Results;

namespace Zoo.Runner.Plots;

/// <summary>
/// Figures as a grid of small panels (one per task setting) instead of one wide strip or one crowded panel, and the
/// pieces every Zoo figure shares: a chance line, and line styles that stay distinguishable where series overlap.
/// </summary>
public static class SmallMultiples
{
    private static readonly ScottPlot.LinePattern[] Patterns =
        [ScottPlot.LinePattern.Solid, ScottPlot.LinePattern.Dashed, ScottPlot.LinePattern.Dotted, ScottPlot.LinePattern.DenselyDashed];

    private static readonly ScottPlot.MarkerShape[] Markers =
    [
        ScottPlot.MarkerShape.FilledCircle, ScottPlot.MarkerShape.OpenSquare, ScottPlot.MarkerShape.FilledTriangleUp,
        ScottPlot.MarkerShape.OpenDiamond, ScottPlot.MarkerShape.Cross, ScottPlot.MarkerShape.FilledSquare,
        ScottPlot.MarkerShape.OpenTriangleDown, ScottPlot.MarkerShape.Eks, ScottPlot.MarkerShape.OpenCircle,
        ScottPlot.MarkerShape.FilledDiamond,
    ];

    private static readonly ScottPlot.Palettes.Category10 Palette = new();

    /// <summary>
    /// The look of series <paramref name="index"/>: colour, line pattern and marker all vary, so that series drawn on top
    /// of each other (several layers at chance) still show as distinct lines.
    /// </summary>
    public static (ScottPlot.Color Color, ScottPlot.LinePattern Pattern, ScottPlot.MarkerShape Marker) Style(int index) =>
        // The marker shifts by one each time the colours wrap, so series i and i + 10 differ in marker as well as pattern
        // (unique (colour, marker) pairs for the first 100 series).
        (Palette.GetColor(index), Patterns[index % Patterns.Length], Markers[(index + index / Palette.Colors.Length) % Markers.Length]);

    /// <summary>
    /// The legend beside the panel, outside the data, in a font small enough that about twenty series fit in one column
    /// (in two columns at the default size the second was cut at the figure's edge).
    /// </summary>
    public static void LegendBeside(ScottPlot.Plot plot)
    {
        plot.ShowLegend(ScottPlot.Edge.Right);
        plot.Legend.FontSize = 10;
        plot.Legend.SymbolWidth = 14;
    }

    /// <summary>
    /// A dashed grey horizontal line at the task's chance level when it declares one, named in the y-axis label (a label
    /// on the line itself would sit on the tick labels).
    /// </summary>
    public static void ChanceLine(ScottPlot.Plot plot, double? chance, string yLabel)
    {
        plot.YLabel(chance is null ? yLabel : $"{yLabel} (dashed: chance)");
        if (chance is not { } c) return;
        var line = plot.Add.HorizontalLine(c);
        line.Color = ScottPlot.Colors.Gray;
        line.LinePattern = ScottPlot.LinePattern.Dashed;
        line.LineWidth = 1.5f;
    }

    /// <summary>
    /// A panel title small enough for a panel of a grid: a title wider than <paramref name="panelWidth"/> pixels breaks
    /// after a comma into lines that fit (a long setting title was cut at both panel edges). Returns the number of lines.
    /// </summary>
    public static int PanelTitle(ScottPlot.Plot plot, string title, int panelWidth)
    {
        const float fontSize = 13, charWidth = 0.66f * fontSize;            // bold serif, a little above that measured on the figures' titles
        int fit = Math.Max(20, (int)((panelWidth - 20) / charWidth));
        var lines = new List<string>();
        foreach (var part in title.Split(", "))
        {
            if (lines.Count > 0 && lines[^1].Length + 2 + part.Length <= fit) lines[^1] += ", " + part;
            else lines.Add(part);
        }
        plot.Title(string.Join(",\n", lines));
        plot.Axes.Title.Label.FontSize = fontSize;
        return lines.Count;
    }

    /// <summary>
    /// Ticks for an axis drawn in log10 of values from <paramref name="min"/> to <paramref name="max"/>: labels at round
    /// values (1, 2, 5 × 10^k over up to three decades, powers of ten beyond), minor ticks at each integer multiple
    /// (automatic ticks on the log values read 1,585 / 2,512 / 3,981).
    /// </summary>
    public static ScottPlot.Tick[] LogTicks(double min, double max)
    {
        int lo = (int)Math.Floor(Math.Log10(min)) - 1, hi = (int)Math.Ceiling(Math.Log10(max)) + 1;  // beyond the data: margins
        int[] labelled = Math.Log10(max / min) <= 3 ? [1, 2, 5] : [1];
        var ticks = new List<ScottPlot.Tick>();
        for (int k = lo; k <= hi; k++)
            for (int m = 1; m <= 9; m++)
            {
                double v = m * Math.Pow(10, k);
                ticks.Add(labelled.Contains(m) ? ScottPlot.Tick.Major(Math.Log10(v), v >= 1 ? $"{v:N0}" : $"{v:G3}")
                                               : ScottPlot.Tick.Minor(Math.Log10(v)));
            }
        return ticks.ToArray();
    }

    /// <summary>
    /// Saves <paramref name="panels"/> as one PNG, laid out in a grid at most <paramref name="maxColumns"/> wide, each panel
    /// <paramref name="panelWidth"/> × <paramref name="panelHeight"/> pixels; a single panel is saved as a plain plot.
    /// </summary>
    public static void Save(IReadOnlyList<ScottPlot.Plot> panels, string pngPath, int panelWidth, int panelHeight, int maxColumns = 3)
    {
        if (panels.Count == 0) throw new ArgumentException("nothing to plot", nameof(panels));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(pngPath))!);
        if (panels.Count == 1)
        {
            AtomicFile.Write(pngPath, tmp => panels[0].SavePng(tmp, panelWidth, panelHeight));
            return;
        }
        int columns = Math.Min(maxColumns, panels.Count);
        int rows = (panels.Count + columns - 1) / columns;
        var figure = new ScottPlot.Multiplot(panels[0]);  // (a Multiplot made empty starts with a blank plot of its own)
        foreach (var p in panels.Skip(1)) figure.AddPlot(p);
        figure.Layout = new RowMajorGrid(columns);
        AtomicFile.Write(pngPath, tmp => figure.SavePng(tmp, columns * panelWidth, rows * panelHeight));
    }

    /// <summary>
    /// A short panel title for a task setting: the task and the values of the options that differ between the
    /// settings shown together (up to three, more where fewer would leave two panels with one title; length, pairs and
    /// vocab when there is one setting).
    /// </summary>
    public static string SettingTitle(string task, string taskOptions, IEnumerable<string> allOptions)
    {
        var mine = Parse(taskOptions);
        var others = allOptions.Select(Parse).ToList();
        bool Same(Dictionary<string, string> o, KeyValuePair<string, string> kv) => o.TryGetValue(kv.Key, out var v) && v == kv.Value;
        var differing = mine.Where(kv => others.Any(o => !Same(o, kv))).ToList();
        // Up to three differing options, and more, the most telling first, until no other setting shares every value
        // shown; an option only the others set is shown as "none" (SelectivBench's T2 against T4's test_gap_lengths).
        var rivals = others.Where(o => o.Count != mine.Count || mine.Any(kv => !Same(o, kv))).ToList();
        var chosen = new List<KeyValuePair<string, string>>();
        var left = differing.ToList();
        while (left.Count > 0 && (rivals.Count > 0 || chosen.Count < 3))
        {
            // Each pick rules out as many of the remaining look-alikes as it can (ties: the options' own order).
            var kv = left.OrderBy(c => rivals.Count(o => Same(o, c))).First();
            chosen.Add(kv);
            left.Remove(kv);
            rivals = rivals.Where(o => Same(o, kv)).ToList();
        }
        var shown = mine.Where(chosen.Contains).Select(kv => kv.Value.Length == 0 ? new(kv.Key, "none") : kv).ToList();   // in the options' own order
        var absent = rivals.SelectMany(o => o.Keys).FirstOrDefault(k => !mine.ContainsKey(k));
        if (absent is not null) shown.Add(new(absent, "none"));
        if (differing.Count == 0 && absent is null) shown = mine.Where(kv => kv.Key is "length" or "pairs" or "vocab").ToList();
        var text = string.Join(", ", shown.Select(kv => $"{kv.Key} {kv.Value}"));
        return text.Length == 0 ? task : $"{task}: {text}";
    }

    private static Dictionary<string, string> Parse(string json)
    {
        try
        {
            return System.Text.Json.Nodes.JsonNode.Parse(json)?.AsObject()
                .ToDictionary(kv => kv.Key, kv => kv.Value?.ToJsonString().Trim('"') ?? "null") ?? new();
        }
        catch (System.Text.Json.JsonException)
        {
            return new();
        }
    }

    // ScottPlot's own Grid layout throws for some counts (a fraction computed ≥ 1): cells of equal size, row by row.
    private sealed class RowMajorGrid(int columns) : IMultiplotLayout
    {
        public PixelRect[] GetSubplotRectangles(SubplotCollection subplots, PixelRect figure)
        {
            int rows = (subplots.Count + columns - 1) / columns;
            float w = figure.Width / columns, h = figure.Height / rows;
            return Enumerable.Range(0, subplots.Count).Select(i =>
            {
                float left = figure.Left + i % columns * w, top = figure.Top + i / columns * h;
                return new PixelRect(left, left + w, top + h, top);
            }).ToArray();
        }
    }
}
