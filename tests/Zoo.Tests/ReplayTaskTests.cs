using Zoo.Core.Tasks;
using Zoo.Tasks.Replay;

namespace Zoo.Tests;

/// <summary>The open-box generator, the place-cell code and the replay metrics on inputs with known answers.</summary>
public sealed class ReplayTaskTests
{
    private static readonly OpenBox Box = new();

    private static List<Trajectory> Sample(int count, int steps = 100, ulong seed = 1)
    {
        var rng = new SplitMix64(seed);
        return Enumerable.Range(0, count).Select(_ => Box.Sample(rng, steps)).ToList();
    }

    [Fact]
    public void Trajectories_stay_in_the_box_and_integrate_their_velocities()
    {
        var runs = Sample(500);
        double worst = runs.SelectMany(r => r.Positions).Max(p => Math.Max(Math.Abs(p[0]), Math.Abs(p[1])));
        Assert.True(worst <= Box.Side / 2 + 1e-12, $"left the box by {worst - Box.Side / 2:F4} m");
        Assert.True(worst > Box.Side / 2 - 0.03, "500 runs never came near a wall");
        var r0 = runs[0];
        for (int t = 0; t < 100; t++)
        {
            Assert.Equal(r0.Positions[t][0] + Box.Dt * r0.Velocities[t][0], r0.Positions[t + 1][0], 12);
            Assert.Equal(r0.Positions[t][1] + Box.Dt * r0.Velocities[t][1], r0.Positions[t + 1][1], 12);
        }
    }

    [Fact]
    public void Free_running_speed_follows_the_rayleigh_distribution()
    {
        var speeds = Sample(400).SelectMany(r => r.Velocities.Zip(r.NearWall).Where(z => !z.Second)
            .Select(z => Math.Sqrt(z.First[0] * z.First[0] + z.First[1] * z.First[1]))).ToList();
        double mean = speeds.Average(), meanSquare = speeds.Average(s => s * s);
        double sigma = Box.SpeedScale;
        Assert.Equal(sigma * Math.Sqrt(Math.PI / 2), mean, 0.02);        // Rayleigh mean σ√(π/2) ≈ 1.024 m/s
        Assert.Equal(2 * sigma * sigma, meanSquare, 0.05);               // Rayleigh E[s²] = 2σ²
        double slowed = Sample(400).SelectMany(r => r.NearWall).Count(b => b) / 40000.0;
        Assert.InRange(slowed, 0.005, 0.2);                              // the wall rule does fire, but rarely
    }

    [Fact]
    public void Place_code_decodes_back_to_position()
    {
        var cells = new PlaceCells(Box, 512, 0.2, new SplitMix64(3));
        var rng = new SplitMix64(4);
        var errors = Enumerable.Range(0, 300).Select(_ =>
        {
            double x = (rng.NextDouble() - 0.5) * 2.0, y = (rng.NextDouble() - 0.5) * 2.0;
            var code = cells.Encode(x, y);
            Assert.Equal(1.0, code.Sum(), 9);
            var d = cells.Decode(code);
            return Math.Sqrt((d[0] - x) * (d[0] - x) + (d[1] - y) * (d[1] - y));
        }).ToList();
        Assert.True(errors.Average() < 0.06, $"mean decoding error {errors.Average():F3} m");
    }

    [Fact]
    public void Diffusion_exponent_is_two_for_a_straight_line_and_one_for_brownian_motion()
    {
        var line = Enumerable.Range(0, 200).Select(t => new[] { 0.01 * t, 0.005 * t }).ToArray();
        Assert.Equal(2.0, ReplayMetrics.DiffusionExponent(new[] { line }, 20), 6);
        var rng = new SplitMix64(5);
        var walks = Enumerable.Range(0, 200).Select(_ =>
        {
            var p = new double[300][];
            p[0] = new[] { 0.0, 0.0 };
            for (int t = 1; t < 300; t++) p[t] = new[] { p[t - 1][0] + rng.NextGaussian(), p[t - 1][1] + rng.NextGaussian() };
            return (IReadOnlyList<double[]>)p;
        }).ToArray();
        Assert.Equal(1.0, ReplayMetrics.DiffusionExponent(walks, 20), 0.05);
    }

    // n points of N(mean, I) drawn with a fixed generator.
    private static List<double[]> Gaussian(int n, double mx, double my, ulong seed)
    {
        var rng = new Zoo.Core.Tasks.SplitMix64(seed);
        return Enumerable.Range(0, n).Select(_ => new[] { mx + rng.NextGaussian(), my + rng.NextGaussian() }).ToList();
    }

    [Fact]
    public void Scott_kde_has_scipys_bandwidth_and_a_normalised_density()
    {
        // Four corners of a square: covariance diag(4/3, 4/3) (unbiased), Scott's factor² = 4^(−1/3).
        var square = new List<double[]> { new[] { -1.0, -1.0 }, new[] { 1.0, -1.0 }, new[] { -1.0, 1.0 }, new[] { 1.0, 1.0 } };
        var kde = new ScottKde(square);
        var (xx, xy, yy) = kde.Covariance;
        double expected = 4.0 / 3 * Math.Pow(4, -1.0 / 3) + ScottKde.VarianceFloor;
        Assert.Equal(expected, xx, 12);
        Assert.Equal(0, xy, 12);
        Assert.Equal(expected, yy, 12);
        // At the centre every kernel is at squared distance 2: p(0) = exp(−2 / (2σ²)) / (2πσ²).
        Assert.Equal(Math.Exp(-1 / expected) / (2 * Math.PI * expected), Math.Exp(kde.LogDensity(new[] { 0.0, 0.0 })), 12);
        // The density integrates to 1 (midpoint rule over ±8).
        double h = 0.05, total = 0;
        for (double x = -8; x < 8; x += h)
        for (double y = -8; y < 8; y += h)
            total += Math.Exp(kde.LogDensity(new[] { x + h / 2, y + h / 2 })) * h * h;
        Assert.Equal(1.0, total, 3);
    }

    [Fact]
    public void Monte_carlo_kde_kl_matches_the_gaussian_closed_form()
    {
        // Two large samples of N(0, I) and N((1, 0), I): each KDE is close to N(μ, (1 + n^(−1/3)) I), so
        // KL ≈ ‖Δμ‖² / (2 (1 + n^(−1/3))) ≈ 0.463 for n = 2,000; the same set against itself gives 0.
        var p = Gaussian(2000, 0, 0, 1);
        var q = Gaussian(2000, 1, 0, 2);
        double closedForm = 1 / (2 * (1 + Math.Pow(2000, -1.0 / 3)));
        // Two finite samples of one distribution already differ a little (the KDEs' bumps): that is the estimate's floor.
        double floor = ReplayMetrics.KdeKlMonteCarlo(p, Gaussian(2000, 0, 0, 5), samples: 4000, seed: 3);
        double kl = ReplayMetrics.KdeKlMonteCarlo(p, q, samples: 4000, seed: 3);
        Assert.InRange(floor, 0, 0.15);
        Assert.InRange(kl - floor, closedForm - 0.06, closedForm + 0.06);
        Assert.Equal(0, ReplayMetrics.KdeKlMonteCarlo(p, p, samples: 500, seed: 3), 12);
        Assert.True(ReplayMetrics.KdeKlMonteCarlo(p, Gaussian(2000, 2, 0, 4), samples: 4000, seed: 3) > 3 * kl, "KL grows with the squared shift");
        // A collapsed set (every point equal) still has a finite, large KL against a spread one.
        var collapsed = Enumerable.Repeat(new[] { 0.5, 0.5 }, 100).ToList();
        Assert.True(double.IsFinite(ReplayMetrics.KdeKlMonteCarlo(collapsed, p, samples: 200)) && ReplayMetrics.KdeKlMonteCarlo(collapsed, p, samples: 200) > 0.5);
    }

    [Fact]
    public void Sliced_wasserstein_is_zero_for_identical_sets_and_measures_a_shift()
    {
        var rng = new SplitMix64(6);
        var a = Enumerable.Range(0, 2000).Select(_ => new[] { rng.NextGaussian() * 0.3, rng.NextGaussian() * 0.3 }).ToArray();
        Assert.Equal(0.0, ReplayMetrics.SlicedWasserstein(a, a), 12);
        var shifted = a.Select(p => new[] { p[0] + 0.5, p[1] }).ToArray();
        // A shift d along x moves every projection by d|cos θ|; its mean over θ is 2d/π.
        Assert.Equal(0.5 * 2 / Math.PI, ReplayMetrics.SlicedWasserstein(a, shifted, projections: 256), 0.005);
        Assert.True(ReplayMetrics.KdeKl(a, a, Bounds.Square(2.2)) < 1e-9);
        Assert.True(ReplayMetrics.KdeKl(a, shifted, Bounds.Square(2.2)) > 0.5);
    }

    [Fact]
    public void Speed_exploration_coverage_and_time_to_target_on_a_known_path()
    {
        var path = Enumerable.Range(0, 11).Select(t => new[] { -1.0 + 0.2 * t, 0.0 }).ToArray();  // across the box along y = 0
        Assert.Equal(0.2, ReplayMetrics.MeanStepLength(path), 12);
        Assert.Equal(2.0, ReplayMetrics.PathLength(path), 12);
        Assert.Equal(path.Select(p => p[0]).Select(x => x * x).Sum() / 10, ReplayMetrics.Exploration(path), 12); // mean x is 0
        Assert.Equal(11 / 400.0, ReplayMetrics.Coverage(path, Bounds.Square(2.2)), 12);
        Assert.Equal(1.0, ReplayMetrics.JumpFraction(path, 0.1));
        Assert.Equal(0.0, ReplayMetrics.JumpFraction(path, 0.3));
        var leap = path.Take(5).Append(new[] { 0.9, 0.9 }).ToArray();                       // 4 steps of 0.2, then one of ≈ 1.1
        Assert.Equal(1 / 5.0, ReplayMetrics.JumpFraction(leap, 0.5), 12);
        Assert.Equal(8, ReplayMetrics.TimeToReach(path, (x, _) => x > 0.5));
        Assert.Null(ReplayMetrics.TimeToReach(path, (_, y) => y > 0.5));
    }
}
