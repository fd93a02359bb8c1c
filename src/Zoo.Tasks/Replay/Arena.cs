using Zoo.Core.Tasks;

namespace Zoo.Tasks.Replay;

/// <summary>Axis-aligned bounding box of an arena, in metres.</summary>
public readonly record struct Bounds(double MinX, double MaxX, double MinY, double MaxY)
{
    /// <summary>The square of side <paramref name="side"/> centred on the origin.</summary>
    public static Bounds Square(double side) => new(-side / 2, side / 2, -side / 2, side / 2);

    /// <summary>Grid cell (i, j) of a <paramref name="bins"/>×<paramref name="bins"/> grid over the box holding (x, y).</summary>
    public (int I, int J) Cell(double x, double y, int bins) =>
        (Math.Clamp((int)((x - MinX) / (MaxX - MinX) * bins), 0, bins - 1),
         Math.Clamp((int)((y - MinY) / (MaxY - MinY) * bins), 0, bins - 1));

    /// <summary>Centre of grid cell (i, j).</summary>
    public (double X, double Y) CellCentre(int i, int j, int bins) =>
        (MinX + (i + 0.5) / bins * (MaxX - MinX), MinY + (j + 0.5) / bins * (MaxY - MinY));
}

/// <summary>
/// An environment a simulated animal moves in: trajectories for path integration, where place-cell centres may lie,
/// and the fixed start and target region of the replay reach-time measure.
/// </summary>
public interface IArena
{
    /// <summary>Time step in seconds (velocities are in m/s; position[t + 1] = position[t] + Dt · velocity[t]).</summary>
    double Dt { get; }

    /// <summary>Bounding box (grid for coverage and KDEs).</summary>
    Bounds Bounds { get; }

    /// <summary>A trajectory of <paramref name="steps"/> steps from a random start.</summary>
    Trajectory Sample(SplitMix64 rng, int steps);

    /// <summary>A point drawn uniformly over the places the animal can be (place-cell centres).</summary>
    double[] SamplePoint(SplitMix64 rng);

    /// <summary>Fixed replay start for the reach-time measure.</summary>
    double[] ReplayStart { get; }

    /// <summary>Whether (x, y) is in the target region of the reach-time measure (e.g. the other T-maze arm).</summary>
    bool InTarget(double x, double y);
}

/// <summary>
/// A track made of straight segments: the animal runs along it with Rayleigh-distributed speed per step, keeps its
/// direction, turns back at a dead end and picks a random branch at a junction. Positions are exact points of the
/// track; velocities are position differences / dt, so integrating them recovers the path exactly.
/// </summary>
public abstract record Track(double Dt, double SpeedScale) : IArena
{
    private IReadOnlyList<(double[] A, double[] B)>? _segments;

    /// <summary>Segments as (from, to) points; a node is a point shared by segment ends.</summary>
    protected abstract IReadOnlyList<(double[] A, double[] B)> Layout();

    private IReadOnlyList<(double[] A, double[] B)> Segments => _segments ??= Layout();

    /// <inheritdoc />
    public abstract Bounds Bounds { get; }

    /// <inheritdoc />
    public abstract double[] ReplayStart { get; }

    /// <inheritdoc />
    public abstract bool InTarget(double x, double y);

    /// <inheritdoc />
    public double[] SamplePoint(SplitMix64 rng)
    {
        var (seg, d) = RandomPlace(rng);
        return PointAt(seg, d);
    }

    /// <inheritdoc />
    public Trajectory Sample(SplitMix64 rng, int steps)
    {
        var (seg, d) = RandomPlace(rng);
        int dir = rng.NextDouble() < 0.5 ? 1 : -1;               // +1 runs from A to B
        var pos = new double[steps + 1][];
        var vel = new double[steps][];
        pos[0] = PointAt(seg, d);
        for (int t = 0; t < steps; t++)
        {
            double left = Dt * SpeedScale * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble()));   // Rayleigh step length
            while (left > 0)
            {
                double len = Length(seg), room = dir > 0 ? len - d : d;
                if (left <= room) { d += dir * left; break; }
                left -= room;
                var node = dir > 0 ? Segments[seg].B : Segments[seg].A;
                var next = Leaving(node, seg);
                if (next.Count == 0) { d = dir > 0 ? len : 0; dir = -dir; continue; }   // dead end: turn back
                var (s2, atA) = next[rng.NextInt(next.Count)];
                (seg, d, dir) = (s2, atA ? 0 : Length(s2), atA ? 1 : -1);
            }
            pos[t + 1] = PointAt(seg, d);
            vel[t] = new[] { (pos[t + 1][0] - pos[t][0]) / Dt, (pos[t + 1][1] - pos[t][1]) / Dt };
        }
        return new Trajectory(pos, vel, new bool[steps]);
    }

    private (int Segment, double Distance) RandomPlace(SplitMix64 rng)
    {
        double total = Enumerable.Range(0, Segments.Count).Sum(Length), u = rng.NextDouble() * total;
        for (int s = 0; s < Segments.Count; s++)
        {
            if (u <= Length(s)) return (s, u);
            u -= Length(s);
        }
        return (Segments.Count - 1, Length(Segments.Count - 1));
    }

    // Segments other than `from` with an end at `node`, and whether that end is their A end.
    private List<(int Segment, bool AtA)> Leaving(double[] node, int from)
    {
        var list = new List<(int, bool)>();
        for (int s = 0; s < Segments.Count; s++)
        {
            if (s == from) continue;
            if (Same(Segments[s].A, node)) list.Add((s, true));
            else if (Same(Segments[s].B, node)) list.Add((s, false));
        }
        return list;
    }

    private static bool Same(double[] p, double[] q) => Math.Abs(p[0] - q[0]) < 1e-9 && Math.Abs(p[1] - q[1]) < 1e-9;

    private double Length(int s)
    {
        var (a, b) = Segments[s];
        return Math.Sqrt((b[0] - a[0]) * (b[0] - a[0]) + (b[1] - a[1]) * (b[1] - a[1]));
    }

    private double[] PointAt(int s, double d)
    {
        var (a, b) = Segments[s];
        double f = d / Length(s);
        return new[] { a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]) };
    }
}

/// <summary>
/// The triangular track of arXiv 2602.18401's 2-D experiments, as Zoo reads it: the three sides of an equilateral
/// triangle (circumradius <paramref name="Radius"/> m, a vertex at the top); corners are junctions where the run goes on
/// round the triangle. Reach target: within 0.25 m of the lower-right vertex, starting from the top vertex.
/// </summary>
public sealed record Triangle(double Radius = 1.0, double Dt = 0.02, double SpeedScale = 0.26 * Math.PI) : Track(Dt, SpeedScale)
{
    private double[] Vertex(int k) => new[] { Radius * Math.Cos(Math.PI / 2 + 2 * Math.PI * k / 3), Radius * Math.Sin(Math.PI / 2 + 2 * Math.PI * k / 3) };

    /// <inheritdoc />
    protected override IReadOnlyList<(double[] A, double[] B)> Layout() =>
        new[] { (Vertex(0), Vertex(1)), (Vertex(1), Vertex(2)), (Vertex(2), Vertex(0)) };

    /// <inheritdoc />
    public override Bounds Bounds => new(-Radius, Radius, -Radius, Radius);

    /// <inheritdoc />
    public override double[] ReplayStart => Vertex(0);

    /// <inheritdoc />
    public override bool InTarget(double x, double y)
    {
        var v = Vertex(2);
        return (x - v[0]) * (x - v[0]) + (y - v[1]) * (y - v[1]) < 0.25 * 0.25;
    }
}

/// <summary>
/// A T-maze track (arXiv 2602.18401's 2-D experiments): a stem of length <paramref name="Arm"/> m from the bottom to the
/// junction and two arms of that length to the left and right; the animal turns back at arm ends and picks an arm or the
/// stem at random at the junction. Reach target: the right arm's outer half, starting from the left arm's end.
/// </summary>
public sealed record TMaze(double Arm = 1.0, double Dt = 0.02, double SpeedScale = 0.26 * Math.PI) : Track(Dt, SpeedScale)
{
    private static readonly double[] Junction = { 0, 0 };

    /// <inheritdoc />
    protected override IReadOnlyList<(double[] A, double[] B)> Layout() =>
        new[] { (Junction, new[] { 0.0, -Arm }), (Junction, new[] { -Arm, 0.0 }), (Junction, new[] { Arm, 0.0 }) };

    /// <inheritdoc />
    public override Bounds Bounds => new(-Arm, Arm, -Arm, Arm);

    /// <inheritdoc />
    public override double[] ReplayStart => new[] { -Arm, 0.0 };

    /// <inheritdoc />
    public override bool InTarget(double x, double y) => x > Arm / 2 && Math.Abs(y) < Arm / 4;
}
