using System.Globalization;
using Zoo.Core.Numerics;
using Zoo.Studies.ShortTermMemory;

namespace Zoo.Tests;

public class LevenbergMarquardtTests
{
    [Fact]
    public void Minimises_rosenbrock_from_the_classic_start()
    {
        // Rosenbrock as residuals (10 (y − x²), 1 − x) from (−1.2, 1), MINPACK's own test problem: minimum at (1, 1).
        var fit = LevenbergMarquardt.Minimize(p => new[] { 10 * (p[1] - p[0] * p[0]), 1 - p[0] }, new[] { -1.2, 1 });
        Assert.True(fit.Converged, fit.Stop.ToString());
        Assert.Equal(1, fit.X[0], 6);
        Assert.Equal(1, fit.X[1], 6);
    }

    [Fact]
    public void Norm_is_minpacks_enorm()
    {
        Assert.Equal(5, LevenbergMarquardt.Norm(new[] { 3.0, 4.0 }), 12);
        Assert.Equal(5, LevenbergMarquardt.Norm(new[] { 3e-200, 4e-200 }) * 1e200, 12);  // no underflow
        Assert.Equal(5, LevenbergMarquardt.Norm(new[] { 3e200, 4e200 }) / 1e200, 12);    // no overflow
        // What steers the step bound after a step into overflow: one infinite residual gives ∞, two give NaN.
        Assert.Equal(double.PositiveInfinity, LevenbergMarquardt.Norm(new[] { 1.0, double.NegativeInfinity }));
        Assert.True(double.IsNaN(LevenbergMarquardt.Norm(new[] { double.NegativeInfinity, double.NegativeInfinity, 1 })));
    }

    [Fact]
    public void Authors_fit_lands_where_scipy_curve_fit_lands()
    {
        // 100 curves fitted by scipy 1.10's curve_fit from (0.1, 0.1), the authors' call (Data/scipy-curve-fit.py):
        // binomial draws (8, 32 and 100 seeds) from the authors' class fractions, where the local fit's path matters
        // (a first step into overflow, then trust-region cuts). A port that differs in any rule ends elsewhere.
        var lines = File.ReadAllLines(Path.Combine(TestSupport.RepoRoot, "tests", "Zoo.Tests", "Data", "scipy-curve-fit.csv")).Skip(1).ToList();
        Assert.Equal(100, lines.Count);
        static double[] Numbers(string s) => s.Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var misses = new List<string>();
        foreach (var line in lines)
        {
            var f = line.Split(',');
            Func<double, double, double, double> model = f[0] == "onset" ? CriticalLearningRate.Onset : CriticalLearningRate.Logistic;
            var fit = CriticalLearningRate.AuthorsFit(Numbers(f[1]), Numbers(f[2]), model);
            Assert.Equal("yes", f[5]);
            double x0 = double.Parse(f[3], CultureInfo.InvariantCulture), rate = double.Parse(f[4], CultureInfo.InvariantCulture);
            if (fit is not { } p || Math.Abs(p.X0 - x0) > 1e-3 * Math.Max(1, Math.Abs(x0)) || Math.Abs(p.Rate - rate) > 1e-3 * Math.Abs(rate))
                misses.Add($"{f[0]} {f[2]}: zoo {fit}, scipy ({x0}, {rate})");
        }
        Assert.True(misses.Count == 0, string.Join("\n", misses));
    }

    [Fact]
    public void Grid_fit_and_authors_fit_agree_on_a_smooth_curve()
    {
        var x = Enumerable.Range(0, 21).Select(i => 20.0 * i).ToArray();
        var y = x.Select(v => CriticalLearningRate.Onset(v, 130, 0.02)).ToArray();
        var local = CriticalLearningRate.AuthorsFit(x, y, CriticalLearningRate.Onset);
        Assert.NotNull(local);
        Assert.Equal(130, local!.Value.X0, 3);
        Assert.Equal(130, CriticalLearningRate.FitOnset(x, y).X0, 0);
    }
}
