using Zoo.Core.Numerics;

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
    /// KL(P ‖ Q) between Gaussian kernel density estimates of two point sets (bandwidth <paramref name="bandwidth"/> m)
    /// on a grid over the box, the predecessor's replay measure.
    /// </summary>
    public static double KdeKl(IReadOnlyList<double[]> p, IReadOnlyList<double[]> q, Bounds box, double bandwidth = 0.1, int grid = 40)
    {
        var dp = Density(p, box, bandwidth, grid);
        var dq = Density(q, box, bandwidth, grid);
        double kl = 0;
        for (int i = 0; i < dp.Length; i++) kl += dp[i] * Math.Log((dp[i] + 1e-12) / (dq[i] + 1e-12));
        return kl;
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
