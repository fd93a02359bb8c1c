using Zoo.Core.Numerics;
using Zoo.Core.Tasks;

namespace Zoo.Tasks.Replay;

/// <summary>
/// Statistics of decoded replay trajectories (docs/architecture.md, 'Task sources'; arXiv 2602.18401): speed, exploration, coverage, distance to
/// the training distribution, time to a target region, path length and diffusion exponent. Positions are [T][2].
/// </summary>
public static class ReplayMetrics
{
    /// <summary>Mean step length ‖p_{t+1} − p_t‖ (replay speed per step).</summary>
    public static double MeanStepLength(IReadOnlyList<double[]> p) =>
        Enumerable.Range(0, p.Count - 1).Average(t => Distance(p[t], p[t + 1]));

    /// <summary>Total path length.</summary>
    public static double PathLength(IReadOnlyList<double[]> p) =>
        Enumerable.Range(0, p.Count - 1).Sum(t => Distance(p[t], p[t + 1]));

    /// <summary>Fraction of steps longer than <paramref name="threshold"/> (decoded leaps rather than movement).</summary>
    public static double JumpFraction(IReadOnlyList<double[]> p, double threshold) =>
        Enumerable.Range(0, p.Count - 1).Count(t => Distance(p[t], p[t + 1]) > threshold) / (double)(p.Count - 1);

    /// <summary>Trace of the covariance of the positions (exploration).</summary>
    public static double Exploration(IReadOnlyList<double[]> p)
    {
        double mx = p.Average(q => q[0]), my = p.Average(q => q[1]);
        return p.Sum(q => (q[0] - mx) * (q[0] - mx) + (q[1] - my) * (q[1] - my)) / (p.Count - 1);
    }

    /// <summary>Fraction of the cells of a <paramref name="bins"/>×<paramref name="bins"/> grid over <paramref name="box"/> that are visited.</summary>
    public static double Coverage(IEnumerable<double[]> p, Bounds box, int bins = 20)
    {
        var visited = new HashSet<(int, int)>();
        foreach (var q in p) visited.Add(box.Cell(q[0], q[1], bins));
        return visited.Count / (double)(bins * bins);
    }

    /// <summary>
    /// Sliced Wasserstein-1 distance between two 2-D point sets: the mean over <paramref name="projections"/> evenly spaced
    /// directions of the 1-D W1 distance between the projected samples (computed on matched quantiles).
    /// </summary>
    public static double SlicedWasserstein(IReadOnlyList<double[]> a, IReadOnlyList<double[]> b, int projections = 64, int quantiles = 256)
    {
        double total = 0;
        for (int k = 0; k < projections; k++)
        {
            double angle = Math.PI * k / projections;
            double c = Math.Cos(angle), s = Math.Sin(angle);
            var pa = a.Select(q => q[0] * c + q[1] * s).Order().ToArray();
            var pb = b.Select(q => q[0] * c + q[1] * s).Order().ToArray();
            double w = 0;
            for (int i = 0; i < quantiles; i++)
            {
                double u = (i + 0.5) / quantiles;
                w += Math.Abs(Stats.Quantile(pa, u) - Stats.Quantile(pb, u));
            }
            total += w / quantiles;
        }
        return total / projections;
    }

    /// <summary>
    /// Zoo's grid KL(P ‖ Q) between Gaussian kernel density estimates of two point sets (fixed bandwidth
    /// <paramref name="bandwidth"/> m, normalised on a <paramref name="grid"/>² grid over the box). Not the
    /// predecessor's measure (that is <see cref="KdeKlMonteCarlo"/>): direction, bandwidth and support differ, and its
    /// values run 3–5× larger.
    /// </summary>
    public static double KdeKl(IReadOnlyList<double[]> p, IReadOnlyList<double[]> q, Bounds box, double bandwidth = 0.1, int grid = 40)
    {
        var dp = Density(p, box, bandwidth, grid);
        var dq = Density(q, box, bandwidth, grid);
        double kl = 0;
        for (int i = 0; i < dp.Length; i++) kl += dp[i] * Math.Log((dp[i] + 1e-12) / (dq[i] + 1e-12));
        return kl;
    }

    /// <summary>
    /// The predecessor's replay measure (Krishna et al. 2024, RNNReactivation): KL(P ‖ Q) between scipy-style Gaussian
    /// KDEs (<see cref="ScottKde"/>), estimated by Monte Carlo as the mean of log p̂(x) − log q̂(x) over
    /// <paramref name="samples"/> draws x ~ p̂. There P is the decoded replay and Q the decoded outputs of the network
    /// driven by real inputs. Deterministic from <paramref name="seed"/>.
    /// </summary>
    public static double KdeKlMonteCarlo(IReadOnlyList<double[]> p, IReadOnlyList<double[]> q, int samples = 2000, ulong seed = 1)
    {
        var (kp, kq) = (new ScottKde(p), new ScottKde(q));
        var rng = new SplitMix64(seed);
        double sum = 0;
        for (int i = 0; i < samples; i++)
        {
            var x = kp.Sample(rng);
            sum += kp.LogDensity(x) - kq.LogDensity(x);
        }
        return sum / samples;
    }

    /// <summary>First step at which the trajectory enters <paramref name="region"/>, or null if it never does.</summary>
    public static int? TimeToReach(IReadOnlyList<double[]> p, Func<double, double, bool> region)
    {
        for (int t = 0; t < p.Count; t++)
            if (region(p[t][0], p[t][1])) return t;
        return null;
    }

    /// <summary>
    /// Exponent a of the mean squared displacement MSD(τ) ∝ τ^a, fitted on log-log over lags 1 … max lag:
    /// ≈ 2 for ballistic motion, ≈ 1 for diffusion, &lt; 1 for confined motion.
    /// </summary>
    public static double DiffusionExponent(IReadOnlyList<IReadOnlyList<double[]>> trajectories, int maxLag)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        for (int lag = 1; lag <= maxLag; lag++)
        {
            double sum = 0;
            long n = 0;
            foreach (var p in trajectories)
                for (int t = 0; t + lag < p.Count; t++, n++)
                    sum += Math.Pow(Distance(p[t], p[t + lag]), 2);
            if (n == 0 || sum <= 0) continue;
            xs.Add(Math.Log(lag));
            ys.Add(Math.Log(sum / n));
        }
        return Stats.Slope(xs, ys);
    }

    private static double Distance(double[] a, double[] b) => Math.Sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]));

    private static double[] Density(IReadOnlyList<double[]> p, Bounds box, double h, int grid)
    {
        var d = new double[grid * grid];
        for (int i = 0; i < grid; i++)
        for (int j = 0; j < grid; j++)
        {
            var (gx, gy) = box.CellCentre(i, j, grid);
            double sum = 0;
            foreach (var q in p) sum += Math.Exp(-((gx - q[0]) * (gx - q[0]) + (gy - q[1]) * (gy - q[1])) / (2 * h * h));
            d[i * grid + j] = sum;
        }
        double total = d.Sum();
        return d.Select(v => v / total).ToArray();
    }
}

/// <summary>
/// A 2-D Gaussian kernel density estimate as scipy's <c>gaussian_kde</c> builds it: the kernel covariance is the data's
/// covariance (unbiased) times Scott's factor squared, n^(−2/(d+4)) = n^(−1/3) for d = 2, plus a floor of
/// <see cref="VarianceFloor"/> per direction.
/// </summary>
public sealed class ScottKde
{
    private readonly IReadOnlyList<double[]> _points;
    private readonly double _a, _b, _c;             // Cholesky factor L = [[a, 0], [b, c]] of the kernel covariance
    private readonly double _logNorm;

    /// <summary>Kernel variance added in each direction (m²), so that a collapsed set still has a density.</summary>
    public const double VarianceFloor = 1e-4;

    /// <summary>The estimate over <paramref name="points"/> [n][2] (n ≥ 2).</summary>
    public ScottKde(IReadOnlyList<double[]> points)
    {
        if (points.Count < 2) throw new ArgumentException("a KDE needs at least two points", nameof(points));
        _points = points;
        int n = points.Count;
        double mx = points.Average(p => p[0]), my = points.Average(p => p[1]);
        double sxx = 0, sxy = 0, syy = 0;
        foreach (var p in points)
        {
            sxx += (p[0] - mx) * (p[0] - mx);
            sxy += (p[0] - mx) * (p[1] - my);
            syy += (p[1] - my) * (p[1] - my);
        }
        double f2 = Math.Pow(n, -1.0 / 3);
        // A replay that collapses onto one decoded position (or a line) has no spread to estimate: scipy raises there;
        // a floor of (1 cm)² on the kernel variance keeps the measure finite and large instead.
        (sxx, sxy, syy) = (sxx / (n - 1) * f2 + VarianceFloor, sxy / (n - 1) * f2, syy / (n - 1) * f2 + VarianceFloor);
        _a = Math.Sqrt(sxx);
        _b = sxy / _a;
        double c2 = syy - _b * _b;
        _c = Math.Sqrt(c2);
        _logNorm = -Math.Log(2 * Math.PI * _a * _c) - Math.Log(n);
    }

    /// <summary>Kernel covariance (xx, xy, yy).</summary>
    public (double Xx, double Xy, double Yy) Covariance => (_a * _a, _a * _b, _b * _b + _c * _c);

    /// <summary>log p̂(x), summed over kernels with log-sum-exp so far-away points do not underflow to −∞.</summary>
    public double LogDensity(double[] x)
    {
        var exponents = new double[_points.Count];
        double max = double.NegativeInfinity;
        for (int i = 0; i < _points.Count; i++)
        {
            // Whitened offset z = L⁻¹ (x − x_i); the kernel is exp(−‖z‖²/2) / (2π |L|).
            double dx = x[0] - _points[i][0], dy = x[1] - _points[i][1];
            double z1 = dx / _a, z2 = (dy - _b * z1) / _c;
            exponents[i] = -0.5 * (z1 * z1 + z2 * z2);
            if (exponents[i] > max) max = exponents[i];
        }
        double sum = 0;
        foreach (var e in exponents) sum += Math.Exp(e - max);
        return _logNorm + max + Math.Log(sum);
    }

    /// <summary>One draw: a data point plus kernel noise.</summary>
    public double[] Sample(SplitMix64 rng)
    {
        var p = _points[rng.NextInt(_points.Count)];
        double g1 = rng.NextGaussian(), g2 = rng.NextGaussian();
        return new[] { p[0] + _a * g1, p[1] + _b * g1 + _c * g2 };
    }
}
