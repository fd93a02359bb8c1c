using System.Globalization;
using CsvHelper.Configuration.Attributes;
using Zoo.Core.Tasks;

namespace Zoo.Studies.ShortTermMemory;

/// <summary>
/// Kurtkaya et al.'s class fractions (no-post study, 100 seeds per cell): for each of their 30 learning rates and 21
/// delays 0, 20, …, 400 ms, the share of networks with no solution, a limit cycle and slow points. Read from the vector
/// paths of their figure <c>Figures/Figure4/code/nopost/different_strategies.pdf</c> (the plot of these arrays); every
/// value comes out a multiple of 0.01 to within 4e-7, and the authors' fit of them reproduces their 30 critical points.
/// File: <c>lr,category,T0,T20,…,T400</c> with categories <c>no_solution</c>, <c>lc</c>, <c>sp</c>.
/// </summary>
public sealed class AuthorsFractions
{
    /// <summary>The authors' seeds per cell.</summary>
    public const int Seeds = 100;

    private readonly Dictionary<(double Lr, string Category), double[]> _byDelay;

    private AuthorsFractions(Dictionary<(double, string), double[]> byDelay) => _byDelay = byDelay;

    /// <summary>The authors' delays (ms).</summary>
    public static IReadOnlyList<double> Delays { get; } = Enumerable.Range(0, 21).Select(i => 20.0 * i).ToArray();

    /// <summary>The learning rates in the file, largest first.</summary>
    public IReadOnlyList<double> LearningRates => _byDelay.Keys.Select(k => k.Lr).Distinct().OrderByDescending(v => v).ToList();

    /// <summary>Reads the file; a malformed line is reported with its path and line number.</summary>
    public static AuthorsFractions Load(string path)
    {
        var lines = File.ReadAllLines(path);
        var byDelay = new Dictionary<(double, string), double[]>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            var f = lines[i].Split(',');
            if (f.Length != 2 + Delays.Count)
                throw new InvalidDataException($"{path}:{i + 1}: {f.Length} fields, expected lr, category and {Delays.Count} fractions");
            var values = f.Skip(2).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            byDelay[(double.Parse(f[0], CultureInfo.InvariantCulture), f[1])] = values;
        }
        return new AuthorsFractions(byDelay);
    }

    /// <summary>
    /// The authors' fraction of <paramref name="category"/> at (<paramref name="lr"/>, <paramref name="delayMs"/>), or
    /// null where their grid has no such cell (rates are matched to 6 significant digits, their file's precision).
    /// </summary>
    public double? At(double lr, string category, double delayMs)
    {
        int d = (int)Math.Round(delayMs / 20);
        if (Math.Abs(delayMs - 20 * d) > 1e-9 || d < 0 || d >= Delays.Count) return null;
        foreach (var ((rate, c), values) in _byDelay)
            if (c == category && Math.Abs(rate - lr) <= 1e-5 * lr) return values[d];
        return null;
    }
}

/// <summary>Zoo's share of one outcome at one (learning rate, delay) cell against the authors' share.</summary>
public sealed record FractionComparison
{
    [Name("lr")] public double Lr { get; init; }
    [Name("delay_ms")] public double DelayMs { get; init; }
    /// <summary><c>no_solution</c>, <c>lc</c> or <c>sp</c>.</summary>
    [Name("category")] public string Category { get; init; } = "";
    [Name("seeds")] public int Seeds { get; init; }
    [Name("zoo_count")] public int ZooCount { get; init; }
    [Name("authors_fraction")] public double AuthorsFraction { get; init; }
    /// <summary>Zoo's count minus the count expected from the authors' fraction, in binomial standard deviations (NaN at fraction 0 or 1).</summary>
    [Name("z")] public double Z { get; init; }

    /// <summary>One comparison per category at every cell of <paramref name="rows"/> that the authors' grid holds.</summary>
    public static IReadOnlyList<FractionComparison> Compare(IReadOnlyList<StmRow> rows, AuthorsFractions authors)
    {
        var list = new List<FractionComparison>();
        foreach (var cell in rows.GroupBy(r => (r.Lr, r.DelayMs)).OrderByDescending(g => g.Key.Lr).ThenBy(g => g.Key.DelayMs))
            foreach (var (category, count) in Outcomes.Count(cell.ToList()))
            {
                if (authors.At(cell.Key.Lr, category, cell.Key.DelayMs) is not { } p) continue;
                int n = cell.Count();
                double sd = Math.Sqrt(n * p * (1 - p));
                list.Add(new FractionComparison
                {
                    Lr = cell.Key.Lr, DelayMs = cell.Key.DelayMs, Category = category, Seeds = n, ZooCount = count, AuthorsFraction = p,
                    Z = sd > 0 ? (count - n * p) / sd : double.NaN,
                });
            }
        return list;
    }
}

/// <summary>The three outcomes the authors count (no solution includes their "unstable" class, as ours does).</summary>
internal static class Outcomes
{
    public static IEnumerable<(string Category, int Count)> Count(IReadOnlyCollection<StmRow> cell) => new[]
    {
        ("no_solution", cell.Count(r => r.Trained != "yes")),
        ("lc", cell.Count(r => r.Trained == "yes" && r.MechanismFft == "lc")),
        ("sp", cell.Count(r => r.Trained == "yes" && r.MechanismFft == "sp")),
    };
}

/// <summary>
/// How far the fitted exponents of a study with few seeds scatter when the truth is the authors' fractions: the study's
/// design (its learning rates on the authors' grid, its delays, its seeds per cell) is redrawn from binomials with the
/// authors' fractions, each draw fitted as the study is (<see cref="CriticalLearningRate"/>'s <c>paper_fit</c>), and the
/// slopes summarised, beside the same for the authors' own design (100 seeds, 21 delays) and for their seed count on
/// the study's delays. A study's slope inside its
/// design's band agrees with the paper as well as its seed count can tell.
/// </summary>
public sealed record SamplingSpread
{
    /// <summary><c>this study</c>, <c>authors' seeds, this study's delays</c> or <c>authors' design</c>.</summary>
    [Name("design")] public string Design { get; init; } = "";
    [Name("seeds")] public int Seeds { get; init; }
    [Name("delays")] public int Delays { get; init; }
    [Name("rates")] public int LearningRates { get; init; }
    [Name("category")] public string Category { get; init; } = "";
    /// <summary>Which learning rates the slope uses (as <see cref="CriticalFit.Rates"/>).</summary>
    [Name("fit_rates")] public string FitRates { get; init; } = "all";
    [Name("replicates")] public int Replicates { get; init; }
    [Name("median")] public double Median { get; init; }
    [Name("p05")] public double P05 { get; init; }
    [Name("p95")] public double P95 { get; init; }
    /// <summary>The study's own slope (empty for the authors' design).</summary>
    [Name("observed")] public double? Observed { get; init; }
    /// <summary>Share of replicates at least as flat (≥) as the observed slope.</summary>
    [Name("share_flatter")] public double? ShareFlatter { get; init; }

    /// <summary>
    /// Draws <paramref name="replicates"/> studies of each design (deterministic in <paramref name="seed"/>) and
    /// summarises their <c>paper_fit</c> slopes per category; <paramref name="observed"/> holds the study's own fits.
    /// </summary>
    public static IReadOnlyList<SamplingSpread> Simulate(IReadOnlyList<StmRow> rows, AuthorsFractions authors, IReadOnlyList<CriticalFit> observed,
        double spMinLr, int replicates = 1000, ulong seed = 19)
    {
        var rates = rows.Select(r => r.Lr).Distinct().Where(lr => authors.At(lr, "no_solution", 0) is not null).OrderByDescending(v => v).ToList();
        var delays = rows.Select(r => r.DelayMs).Distinct().Where(d => authors.At(rates.FirstOrDefault(), "no_solution", d) is not null).OrderBy(v => v).ToList();
        if (rates.Count < 3 || delays.Count < 3) return Array.Empty<SamplingSpread>();
        int seeds = (int)Math.Round(rows.GroupBy(r => (r.Lr, r.DelayMs)).Average(g => g.Count()));
        var list = new List<SamplingSpread>();
        // The third design separates the two departures: the authors' seed count on this study's delays.
        foreach (var (design, n, ds) in new[]
                 {
                     ("this study", seeds, delays), ("authors' seeds, this study's delays", AuthorsFractions.Seeds, delays),
                     ("authors' design", AuthorsFractions.Seeds, AuthorsFractions.Delays.ToList()),
                 })
        {
            var rng = new SplitMix64(seed);
            var slopes = new Dictionary<(string, string), List<double>>();
            for (int rep = 0; rep < replicates; rep++)
            {
                var points = new List<CriticalPoint>();
                foreach (var lr in rates)
                    foreach (var (category, model) in new (string, Func<double, double, double, double>)[] { ("no_solution", CriticalLearningRate.Onset), ("sp", CriticalLearningRate.Logistic) })
                    {
                        var y = ds.Select(d => Binomial(rng, n, authors.At(lr, category, d)!.Value) / (double)n).ToArray();
                        if (y.Max() < 0.1) continue;
                        if (CriticalLearningRate.AuthorsFit(ds.ToArray(), y, model) is { } fit)
                            points.Add(new CriticalPoint { Method = "paper_fit", Category = category, DelayMs = fit.X0, Lr = lr });
                    }
                foreach (var f in CriticalLearningRate.Fits(points, spMinLr))
                {
                    if (!slopes.TryGetValue((f.Category, f.Rates), out var s)) slopes[(f.Category, f.Rates)] = s = new List<double>();
                    s.Add(f.Slope);
                }
            }
            foreach (var ((category, fitRates), s) in slopes.OrderBy(k => k.Key))
            {
                s.Sort();
                var mine = design == "this study" ? observed.FirstOrDefault(f => f.Method == "paper_fit" && f.Category == category && f.Rates == fitRates) : null;
                list.Add(new SamplingSpread
                {
                    Design = design, Seeds = n, Delays = ds.Count, LearningRates = rates.Count, Category = category, FitRates = fitRates,
                    Replicates = s.Count, Median = Zoo.Core.Numerics.Stats.Quantile(s, 0.5), P05 = Zoo.Core.Numerics.Stats.Quantile(s, 0.05),
                    P95 = Zoo.Core.Numerics.Stats.Quantile(s, 0.95), Observed = mine?.Slope,
                    ShareFlatter = mine is null ? null : s.Count(v => v >= mine.Slope) / (double)s.Count,
                });
            }
        }
        return list;
    }

    // Sum of n Bernoulli(p) draws: exact, and n ≤ 100 here.
    private static int Binomial(SplitMix64 rng, int n, double p)
    {
        int k = 0;
        for (int i = 0; i < n; i++) if (rng.NextDouble() < p) k++;
        return k;
    }
}
