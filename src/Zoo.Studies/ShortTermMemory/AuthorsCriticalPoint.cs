using CsvHelper.Configuration.Attributes;

namespace Zoo.Studies.ShortTermMemory;

/// <summary>
/// One of the 30 critical points behind Kurtkaya et al.'s published exponents (no-post study), read from their
/// figures: at learning rate <see cref="Lr"/>, the no-solution onset and the slow-point midpoint in ms. Refitting them
/// gives the published slopes exactly (a test checks), so a study compares with them point by point.
/// </summary>
public sealed record AuthorsCriticalPoint
{
    /// <summary>Learning rate.</summary>
    [Name("lr")] public double Lr { get; init; }
    /// <summary>Onset x₀ of the no-solution fraction (ms).</summary>
    [Name("no_solution_onset_ms")] public double NoSolutionOnsetMs { get; init; }
    /// <summary>Midpoint of the falling slow-point share (ms).</summary>
    [Name("sp_midpoint_ms")] public double SpMidpointMs { get; init; }
    /// <summary><c>yes</c> when the authors' slow-point fit used this rate (they leave out lr ≤ 0.0037).</summary>
    [Name("sp_used_in_fit")] public string SpUsedInFit { get; init; } = "";

    /// <summary>The points as <see cref="CriticalPoint"/>s of method <c>authors</c>.</summary>
    public static IEnumerable<CriticalPoint> AsCriticalPoints(IEnumerable<AuthorsCriticalPoint> points) => points.SelectMany(p => new[]
    {
        new CriticalPoint { Method = "authors", Category = "no_solution", DelayMs = p.NoSolutionOnsetMs, Lr = p.Lr },
        new CriticalPoint { Method = "authors", Category = "sp", DelayMs = p.SpMidpointMs, Lr = p.Lr },
    });
}

/// <summary>Zoo's critical delay against the authors' at one learning rate both grids hold (empty where one has none).</summary>
public sealed record CriticalComparison
{
    /// <summary>Learning rate.</summary>
    [Name("lr")] public double Lr { get; init; }
    /// <summary>Boundary: <c>no_solution</c> (onset) or <c>sp</c> (midpoint).</summary>
    [Name("category")] public string Category { get; init; } = "";
    /// <summary>Zoo's fitted critical delay (ms).</summary>
    [Name("zoo_ms")] public double? ZooMs { get; init; }
    /// <summary>The authors' (ms).</summary>
    [Name("authors_ms")] public double AuthorsMs { get; init; }
    /// <summary>Zoo − authors (ms).</summary>
    [Name("difference_ms")] public double? DifferenceMs { get; init; }

    /// <summary>
    /// Pairs Zoo's <c>paper_fit</c> points with the authors' at the same learning rate (equal to 6 significant digits,
    /// the precision of the authors' file).
    /// </summary>
    public static IReadOnlyList<CriticalComparison> Compare(IReadOnlyList<CriticalPoint> zoo, IReadOnlyList<AuthorsCriticalPoint> authors)
    {
        static bool Same(double a, double b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b);
        var rows = new List<CriticalComparison>();
        foreach (var a in authors.Where(a => zoo.Any(z => Same(z.Lr, a.Lr))).OrderByDescending(a => a.Lr))
            foreach (var (category, theirs) in new[] { ("no_solution", a.NoSolutionOnsetMs), ("sp", a.SpMidpointMs) })
            {
                var mine = zoo.FirstOrDefault(z => z.Method == "paper_fit" && z.Category == category && Same(z.Lr, a.Lr));
                rows.Add(new CriticalComparison
                {
                    Lr = a.Lr, Category = category, ZooMs = mine?.DelayMs, AuthorsMs = theirs, DifferenceMs = mine is null ? null : mine.DelayMs - theirs,
                });
            }
        return rows;
    }
}
