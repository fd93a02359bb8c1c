using Zoo.Core.Tasks;

namespace Zoo.Tasks.Replay;

/// <summary>
/// A population of place cells with Gaussian tuning (σ = 0.2 m, 512 cells in the predecessor's set-up): the target code
/// is softmax_i(−‖x − c_i‖² / 2σ²), and a position is decoded as the mean centre of the 3 most active cells.
/// </summary>
public sealed class PlaceCells
{
    private readonly double[][] _centres;
    private readonly double _sigma;

    /// <summary><paramref name="count"/> centres drawn uniformly over <paramref name="arena"/>, from <paramref name="rng"/>.</summary>
    public PlaceCells(IArena arena, int count, double sigma, SplitMix64 rng)
    {
        _sigma = sigma;
        _centres = Enumerable.Range(0, count).Select(_ => arena.SamplePoint(rng)).ToArray();
    }

    /// <summary>Cell centres [N][2].</summary>
    public IReadOnlyList<double[]> Centres => _centres;

    /// <summary>Number of cells.</summary>
    public int Count => _centres.Length;

    /// <summary>The softmax-normalised population code of position (x, y).</summary>
    public double[] Encode(double x, double y)
    {
        var logits = _centres.Select(c => -((x - c[0]) * (x - c[0]) + (y - c[1]) * (y - c[1])) / (2 * _sigma * _sigma)).ToArray();
        double max = logits.Max();
        var e = logits.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    /// <summary>Mean centre of the <paramref name="top"/> most active cells of <paramref name="activity"/>.</summary>
    public double[] Decode(IReadOnlyList<double> activity, int top = 3)
    {
        var best = Enumerable.Range(0, activity.Count).OrderByDescending(i => activity[i]).Take(top).ToList();
        return new[] { best.Average(i => _centres[i][0]), best.Average(i => _centres[i][1]) };
    }
}
