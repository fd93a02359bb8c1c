using Zoo.Core.Tasks;

namespace Zoo.Tasks.Replay;

/// <summary>One simulated run: positions (T + 1 points, the start first) and the velocity inputs between them.</summary>
/// <param name="Positions">x, y in metres, [T + 1][2].</param>
/// <param name="Velocities">vx, vy in metres per second, [T][2]; Positions[t + 1] = Positions[t] + dt · Velocities[t].</param>
/// <param name="NearWall">Whether step t was slowed or shortened by a wall.</param>
public sealed record Trajectory(double[][] Positions, double[][] Velocities, bool[] NearWall);

/// <summary>
/// The open-box random walk of the hippocampal path-integration models (Sorscher et al. 2019's generator, used by
/// Krishna et al. 2024; docs/architecture.md, 'Task sources'): a square box of side 2.2 m; forward speed ~ Rayleigh(0.26π m/s); heading turning
/// at N(0, 11.52²) rad/s; near a wall (closer than 0.03 m and heading into it) the animal turns away and slows ×0.25;
/// dt = 0.02 s. Deterministic from its generator.
/// </summary>
public sealed record OpenBox(double Side = 2.2, double Dt = 0.02, double SpeedScale = 0.26 * Math.PI, double TurnStd = 11.52,
    double Border = 0.03, double WallSlowdown = 0.25) : IArena
{
    /// <inheritdoc />
    public Bounds Bounds => Bounds.Square(Side);

    /// <inheritdoc />
    public double[] SamplePoint(SplitMix64 rng) => new[] { (rng.NextDouble() - 0.5) * Side, (rng.NextDouble() - 0.5) * Side };

    /// <summary>Near the lower-left corner.</summary>
    public double[] ReplayStart => new[] { -0.4 * Side, -0.4 * Side };

    /// <summary>The upper-right quarter of the box (the far corner from <see cref="ReplayStart"/>).</summary>
    public bool InTarget(double x, double y) => x > Side / 4 && y > Side / 4;

    /// <summary>A trajectory of <paramref name="steps"/> steps from a uniform start position and heading.</summary>
    public Trajectory Sample(SplitMix64 rng, int steps)
    {
        double half = Side / 2;
        var pos = new double[steps + 1][];
        var vel = new double[steps][];
        var near = new bool[steps];
        double x = (rng.NextDouble() * 2 - 1) * half, y = (rng.NextDouble() * 2 - 1) * half;
        double heading = rng.NextDouble() * 2 * Math.PI;
        pos[0] = new[] { x, y };
        for (int t = 0; t < steps; t++)
        {
            double speed = SpeedScale * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble()));   // Rayleigh(σ = SpeedScale)
            double turn = Dt * TurnStd * rng.NextGaussian();
            var (isNear, away) = AvoidWall(x, y, heading);
            if (isNear)
            {
                speed *= WallSlowdown;
                turn += away;
            }
            double vx = speed * Math.Cos(heading), vy = speed * Math.Sin(heading);
            // Sorscher et al.'s generator lets a fast step taken just outside the 3 cm border cross the wall (by up to
            // ~5 cm); here such a step is shortened to end at the wall, and the velocity input says so.
            double scale = Math.Min(Reach(x, vx, half), Reach(y, vy, half));
            if (scale < 1) (vx, vy, isNear) = (vx * scale, vy * scale, true);
            near[t] = isNear;
            vel[t] = new[] { vx, vy };
            x += Dt * vx;
            y += Dt * vy;
            pos[t + 1] = new[] { x, y };
            heading += turn;
        }
        return new Trajectory(pos, vel, near);
    }

    // Fraction of a step of velocity v from coordinate c that stays within [−half, half].
    private double Reach(double c, double v, double half)
    {
        double next = c + Dt * v;
        if (next > half) return (half - c) / (Dt * v);
        if (next < -half) return (-half - c) / (Dt * v);
        return 1;
    }

    // The nearest wall, and the turn that points the heading along it, when the animal is close and heading into it.
    private (bool Near, double Turn) AvoidWall(double x, double y, double heading)
    {
        double half = Side / 2;
        var dists = new[] { half - x, half - y, half + x, half + y };      // walls at angles 0, π/2, π, 3π/2
        int wall = Array.IndexOf(dists, dists.Min());
        double a = heading - wall * Math.PI / 2;
        a = ((a + Math.PI) % (2 * Math.PI) + 2 * Math.PI) % (2 * Math.PI) - Math.PI;
        bool near = dists[wall] < Border && Math.Abs(a) < Math.PI / 2;
        return (near, near ? Math.Sign(a) * (Math.PI / 2 - Math.Abs(a)) : 0);
    }
}
