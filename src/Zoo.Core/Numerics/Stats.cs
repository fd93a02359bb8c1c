namespace Zoo.Core.Numerics;

/// <summary>Small statistics shared by metrics and benchmarks.</summary>
public static class Stats
{
    /// <summary>Quantile <paramref name="q"/> ∈ [0, 1] of ascending <paramref name="sorted"/>, interpolating linearly between order statistics.</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 1) return sorted[0];
        double pos = q * (sorted.Count - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    /// <summary>Least-squares slope of <paramref name="ys"/> against <paramref name="xs"/>; NaN with fewer than two distinct x.</summary>
    public static double Slope(IReadOnlyList<double> xs, IReadOnlyList<double> ys)
    {
        if (xs.Count < 2) return double.NaN;
        double mx = xs.Average(), my = ys.Average();
        double sxx = xs.Sum(x => (x - mx) * (x - mx));
        return sxx == 0 ? double.NaN : xs.Zip(ys).Sum(p => (p.First - mx) * (p.Second - my)) / sxx;
    }

    /// <summary>Mean and sample standard deviation (0 for a single value) of <paramref name="values"/>.</summary>
    public static (double Mean, double Sd) MeanSd(IReadOnlyCollection<double> values)
    {
        double mean = values.Average();
        return (mean, values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : 0);
    }
}
