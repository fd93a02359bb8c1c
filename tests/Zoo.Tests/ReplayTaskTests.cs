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
        Assert.Equal(8, ReplayMetrics.TimeToReach(path, (x, _) => x > 0.5));
        Assert.Null(ReplayMetrics.TimeToReach(path, (_, y) => y > 0.5));
    }
}
