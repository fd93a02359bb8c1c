using CsvHelper.Configuration.Attributes;
using Zoo.Core.Numerics;

namespace Zoo.Studies.ShortTermMemory;

/// <summary>One point of a critical-learning-rate curve: at delay <see cref="DelayMs"/>, the boundary sits at <see cref="Lr"/>.</summary>
public sealed record CriticalPoint
{
    /// <summary><c>half_seeds</c> (per delay), <c>paper_fit</c> (per learning rate, the authors' local curve fit) or
    /// <c>grid_fit</c> (per learning rate, the same curves fitted by global search).</summary>
    [Name("method")] public string Method { get; init; } = "";
    /// <summary>What the boundary separates (see <see cref="CriticalLearningRate"/>).</summary>
    [Name("category")] public string Category { get; init; } = "";
    [Name("delay_ms")] public double DelayMs { get; init; }
    [Name("lr")] public double Lr { get; init; }
}

/// <summary>A log-log fit log η = slope · log T + intercept over the points of one method and category.</summary>
public sealed record CriticalFit
{
    [Name("method")] public string Method { get; init; } = "";
    [Name("category")] public string Category { get; init; } = "";
    [Name("slope")] public double Slope { get; init; }
    /// <summary>Standard error of the slope (NaN with fewer than 3 points).</summary>
    [Name("slope_se")] public double SlopeSe { get; init; }
    [Name("intercept")] public double Intercept { get; init; }
    [Name("points")] public int Points { get; init; }
    /// <summary>Which learning rates the fit uses: <c>all</c>, or <c>lr &gt; X</c> (the authors' slow-point exclusion).</summary>
    [Name("rates")] public string Rates { get; init; } = "all";
    /// <summary>What the paper reports for the same boundary, for comparison.</summary>
    [Name("paper")] public string Paper { get; init; } = "";
}

/// <summary>
/// Critical learning rate against delay (Kurtkaya et al.). Two definitions:
/// <list type="bullet">
/// <item><c>half_seeds</c>: for each delay T and category c (<c>trained</c>: any mechanism; <c>sp</c>, <c>lc</c>: trained
/// with that FFT-test mechanism), the largest learning rate at which at least half of the seeds end in c. A delay
/// where no rate or already the largest rate tried qualifies has its boundary outside the grid and gives no point.</item>
/// <item><c>paper_fit</c>, the authors' (their <c>plot_nopost.py</c>): for each learning rate, the fraction of seeds
/// in a category as a function of T (in ms) is fitted, and the transition delay T_c read off: <c>no_solution</c>
/// (failed, unstable or diverged) with 0 before x₀ and 1 − e^{−a(T − x₀)} after, T_c = x₀ (the onset);
/// <c>sp</c> with a logistic 1/(1 + e^{−k(T − x₀)}), T_c = x₀ (the midpoint). Learning rates whose fraction never
/// reaches 0.1 are skipped, as in the paper. The fit is the authors' estimator: scipy's <c>curve_fit</c> (MINPACK's
/// Levenberg–Marquardt, <see cref="LevenbergMarquardt"/>) from (x₀, a) = (0.1 ms, 0.1/ms), unbounded; a fit that does not
/// converge gives no point (scipy raises there).</item>
/// <item><c>grid_fit</c>: the same curves and models, fitted by a global grid search. On smooth curves (the authors'
/// 100 seeds) both give the same transition; on the noisy curves of a few seeds they do not: the global optimum is
/// often a late, steep step, where the local fit from the authors' start stays on the early, gradual onset. Reported so
/// that the estimator's share of a difference is visible.</item>
/// </list>
/// Each curve is then fitted as log η = slope · log T + intercept over points with T &gt; 0. The paper reports slopes
/// −2.72 ± 0.07 for the no-solution boundary and −4.05 ± 0.10 for the slow-point onset (theory: −3 and −5).
/// </summary>
public static class CriticalLearningRate
{
    /// <summary>
    /// What the authors' 30 points give for a (category, all rates?): the published slopes, and −4.78 ± 0.17 for the
    /// slow-point boundary when all 30 rates are fitted (the published −4.05 leaves out lr ≤ 0.0037).
    /// </summary>
    public static string PaperSlope(string category, bool allRates = true) => (category, allRates) switch
    {
        ("no_solution", _) => "-2.72 ± 0.07 (theory -3)",
        ("sp", false) => "-4.05 ± 0.10 (theory -5)",
        ("sp", true) => "-4.78 ± 0.17 (authors' points, all 30 rates; published -4.05 leaves out lr <= 0.0037)",
        _ => "",
    };

    /// <summary>The <c>half_seeds</c> points: per delay and category, the largest learning rate where ≥ half the seeds are in it.</summary>
    public static IReadOnlyList<CriticalPoint> PerDelay(IReadOnlyList<StmRow> rows)
    {
        var points = new List<CriticalPoint>();
        var categories = new (string Name, Func<StmRow, bool> In)[]
        {
            ("trained", r => r.Trained == "yes"),
            ("sp", Outcomes.Sp),
            ("lc", Outcomes.Lc),
        };
        foreach (var delay in rows.GroupBy(r => r.DelayMs).OrderBy(g => g.Key))
            foreach (var (name, inCategory) in categories)
            {
                var best = delay.GroupBy(r => r.Lr)
                    .Where(g => g.Count(inCategory) * 2 >= g.Count())
                    .Select(g => g.Key).DefaultIfEmpty(double.NaN).Max();
                // None passing, or the largest rate tried passing, leaves the boundary outside the grid: no point.
                if (!double.IsNaN(best) && best < delay.Max(r => r.Lr))
                    points.Add(new CriticalPoint { Method = "half_seeds", Category = name, DelayMs = delay.Key, Lr = best });
            }
        return points;
    }

    /// <summary>A learning rate whose fraction never reaches this is skipped by the curve fits, as in the paper.</summary>
    internal const double MinFraction = 0.1;

    /// <summary>The curves fitted per learning rate: which networks count, the model, and its global fit.</summary>
    internal static readonly (string Category, Func<StmRow, bool> In, Func<double, double, double, double> Model,
        Func<double[], double[], (double X0, double Rate, double Sse)> Global)[] Curves =
    {
        ("no_solution", Outcomes.NoSolution, Onset, FitOnset),
        ("sp", Outcomes.Sp, Logistic, FitLogistic),
    };

    /// <summary>The <c>paper_fit</c> and <c>grid_fit</c> points: per learning rate, the fitted transition delay of each category.</summary>
    public static IReadOnlyList<CriticalPoint> PerLearningRate(IReadOnlyList<StmRow> rows)
    {
        var points = new List<CriticalPoint>();
        foreach (var lr in rows.GroupBy(r => r.Lr).OrderByDescending(g => g.Key))
        {
            var byDelay = lr.GroupBy(r => r.DelayMs).OrderBy(g => g.Key).ToList();
            if (byDelay.Count < 3) continue;  // two parameters need more than two delays
            var x = byDelay.Select(g => g.Key).ToArray();
            foreach (var (category, inCategory, model, global) in Curves)
            {
                var y = byDelay.Select(g => g.Count(inCategory) / (double)g.Count()).ToArray();
                if (y.Max() < MinFraction) continue;
                if (AuthorsFit(x, y, model) is { } local)
                    points.Add(new CriticalPoint { Method = "paper_fit", Category = category, DelayMs = local.X0, Lr = lr.Key });
                points.Add(new CriticalPoint { Method = "grid_fit", Category = category, DelayMs = global(x, y).X0, Lr = lr.Key });
            }
        }
        return points;
    }

    /// <summary>
    /// Log-log least-squares fits, one per (method, category) with at least two points at positive delay (positive
    /// x₀: an onset fitted at or before 0 ms says the boundary lies below the delays tried). With
    /// <paramref name="spMinLr"/> &gt; 0 the slow-point curve of the authors' method is fitted a second time over the
    /// learning rates above it, as the authors do (for both curve-fit methods).
    /// </summary>
    public static IReadOnlyList<CriticalFit> Fits(IReadOnlyList<CriticalPoint> points, double spMinLr = 0)
    {
        var usable = points.Where(p => p.DelayMs > 0 && p.Lr > 0).ToList();
        var groups = usable.GroupBy(p => (p.Method, p.Category)).Select(g => (g.Key, Rates: "all", Points: g.ToList())).ToList();
        if (spMinLr > 0)
            foreach (var method in new[] { "paper_fit", "grid_fit" })
            {
                var kept = usable.Where(p => p.Method == method && p.Category == "sp" && p.Lr > spMinLr).ToList();
                if (kept.Count > 0) groups.Add(((method, "sp"), $"lr > {spMinLr:G3}", kept));
            }
        return groups.Select(g =>
            {
                var (slope, se, intercept) = LogLog(g.Points.Select(p => p.DelayMs).ToArray(), g.Points.Select(p => p.Lr).ToArray());
                return new CriticalFit
                {
                    Method = g.Key.Method, Category = g.Key.Category, Slope = slope, SlopeSe = se, Intercept = intercept,
                    Points = g.Points.Count, Rates = g.Rates, Paper = PaperSlope(g.Key.Category, g.Rates == "all"),
                };
            })
            .Where(f => double.IsFinite(f.Slope))
            .ToList();
    }

    /// <summary>Ordinary least squares of log y on log x: slope, its standard error, intercept.</summary>
    public static (double Slope, double SlopeSe, double Intercept) LogLog(double[] x, double[] y)
    {
        var lx = x.Select(v => Math.Log(v)).ToArray();
        var ly = y.Select(v => Math.Log(v)).ToArray();
        int n = lx.Length;
        if (n < 2) return (double.NaN, double.NaN, double.NaN);
        double mx = lx.Average(), my = ly.Average();
        double sxx = lx.Sum(v => (v - mx) * (v - mx));
        if (sxx == 0) return (double.NaN, double.NaN, double.NaN);
        double slope = lx.Zip(ly).Sum(p => (p.First - mx) * (p.Second - my)) / sxx;
        double intercept = my - slope * mx;
        double sse = lx.Zip(ly).Sum(p => Math.Pow(p.Second - intercept - slope * p.First, 2));
        double se = n > 2 ? Math.Sqrt(sse / (n - 2) / sxx) : double.NaN;
        return (slope, se, intercept);
    }

    /// <summary>The onset model: 0 for x &lt; x₀, 1 − e^{−a(x − x₀)} after.</summary>
    public static double Onset(double x, double x0, double a) => x < x0 ? 0 : 1 - Math.Exp(-a * (x - x0));

    /// <summary>The logistic model 1/(1 + e^{−k(x − x₀)}).</summary>
    public static double Logistic(double x, double x0, double k) => 1 / (1 + Math.Exp(-k * (x - x0)));

    /// <summary>
    /// The authors' fit of <paramref name="model"/> (<see cref="Onset"/> or <see cref="Logistic"/>) to (x, y): scipy's
    /// <c>curve_fit</c> from (x₀, rate) = (0.1, 0.1), unbounded. Null where it does not converge.
    /// </summary>
    public static (double X0, double Rate)? AuthorsFit(double[] x, double[] y, Func<double, double, double, double> model)
    {
        var fit = LevenbergMarquardt.Minimize(p => x.Select((v, i) => model(v, p[0], p[1]) - y[i]).ToArray(), new[] { 0.1, 0.1 });
        return fit.Converged ? (fit.X[0], fit.X[1]) : null;
    }

    /// <summary>Global least-squares fit of <see cref="Onset"/> (a &gt; 0) to (x, y): x₀, a and the residual sum of squares.</summary>
    public static (double X0, double Rate, double Sse) FitOnset(double[] x, double[] y) =>
        GridFit(x, y, Onset, rateSigns: new[] { 1.0 });

    /// <summary>Global least-squares fit of <see cref="Logistic"/> (rising or falling) to (x, y): x₀, k and the residual sum of squares.</summary>
    public static (double X0, double Rate, double Sse) FitLogistic(double[] x, double[] y) =>
        GridFit(x, y, Logistic, rateSigns: new[] { 1.0, -1.0 });

    // Two-parameter least squares by grid search (x₀ over three times the data range in 300 steps, |rate| log-spaced
    // over five decades in 60 steps), then a 10× finer grid around the best cell. Deterministic and free of local minima at the
    // grid's resolution, which is all a transition delay read off 21 delays needs.
    private static (double X0, double Rate, double Sse) GridFit(double[] x, double[] y, Func<double, double, double, double> f, double[] rateSigns)
    {
        double lo = x.Min(), hi = x.Max(), span = Math.Max(hi - lo, 1);
        double Sse(double x0, double k) => x.Zip(y).Sum(p => Math.Pow(f(p.First, x0, k) - p.Second, 2));
        double minLog = Math.Log10(0.01 / span), maxLog = Math.Log10(1000 / span);
        var best = (X0: double.NaN, Rate: double.NaN, Sse: double.PositiveInfinity);
        double x0Step = 3 * span / 300, logStep = (maxLog - minLog) / 60;
        foreach (var sign in rateSigns)
            for (int i = 0; i <= 300; i++)
                for (int j = 0; j <= 60; j++)
                {
                    double x0 = lo - span + i * x0Step, k = sign * Math.Pow(10, minLog + j * logStep), s = Sse(x0, k);
                    if (s < best.Sse) best = (x0, k, s);
                }
        // Refine: 41 × 41 around the best cell.
        double cx = best.X0, clog = Math.Log10(Math.Abs(best.Rate)), csign = Math.Sign(best.Rate);
        for (int i = -20; i <= 20; i++)
            for (int j = -20; j <= 20; j++)
            {
                double x0 = cx + i * x0Step / 10, k = csign * Math.Pow(10, clog + j * logStep / 10), s = Sse(x0, k);
                if (s < best.Sse) best = (x0, k, s);
            }
        return best;
    }
}
