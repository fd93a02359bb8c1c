using CsvHelper.Configuration.Attributes;
using Zoo.Core.Numerics;
using Zoo.Core.Tasks;

namespace Zoo.Studies.ShortTermMemory;

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
            var x = ds.ToArray();
            // The authors' fractions at this design's cells, looked up once rather than per replicate.
            var truth = (from lr in rates
                         from c in CriticalLearningRate.Curves
                         select (Lr: lr, c.Category, c.Model, P: x.Select(d => authors.At(lr, c.Category, d)!.Value).ToArray())).ToList();
            var slopes = new Dictionary<(string, string), List<double>>();
            for (int rep = 0; rep < replicates; rep++)
            {
                var points = new List<CriticalPoint>();
                foreach (var (lr, category, model, p) in truth)
                {
                    var y = p.Select(pd => Binomial(rng, n, pd) / (double)n).ToArray();
                    if (y.Max() < CriticalLearningRate.MinFraction) continue;
                    if (CriticalLearningRate.AuthorsFit(x, y, model) is { } fit)
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
                    Replicates = s.Count, Median = Stats.Quantile(s, 0.5), P05 = Stats.Quantile(s, 0.05),
                    P95 = Stats.Quantile(s, 0.95), Observed = mine?.Slope,
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
