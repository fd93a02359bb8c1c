using System.Globalization;
using CsvHelper.Configuration.Attributes;

namespace Zoo.Studies.ShortTermMemory;

/// <summary>
/// Kurtkaya et al.'s class fractions (no-post study, 100 seeds per cell): for each of their 30 learning rates and 21
/// delays 0, 20, …, 400 ms, the share of networks with no solution, a limit cycle and slow points. Read from the vector
/// paths of their figure <c>Figures/Figure4/code/nopost/different_strategies.pdf</c> (the plot of these arrays); every
/// value comes out a multiple of 0.01 to within 4e-7, and the authors' fit of them reproduces their 30 critical points.
/// File: <c>lr,category,T0,T20,…,T400</c> with categories <c>no_solution</c>, <c>lc</c>, <c>sp</c>.
/// </summary>
public sealed class AuthorsFractions
{
    /// <summary>The authors' seeds per cell.</summary>
    public const int Seeds = 100;

    private readonly Dictionary<(double Lr, string Category), double[]> _byDelay;

    private AuthorsFractions(Dictionary<(double, string), double[]> byDelay) => _byDelay = byDelay;

    /// <summary>The authors' delays (ms).</summary>
    public static IReadOnlyList<double> Delays { get; } = Enumerable.Range(0, 21).Select(i => 20.0 * i).ToArray();

    /// <summary>The learning rates in the file, largest first.</summary>
    public IReadOnlyList<double> LearningRates => _byDelay.Keys.Select(k => k.Lr).Distinct().OrderByDescending(v => v).ToList();

    /// <summary>Reads the file; a malformed line is reported with its path and line number.</summary>
    public static AuthorsFractions Load(string path)
    {
        var lines = File.ReadAllLines(path);
        var byDelay = new Dictionary<(double, string), double[]>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            var f = lines[i].Split(',');
            if (f.Length != 2 + Delays.Count)
                throw new InvalidDataException($"{path}:{i + 1}: {f.Length} fields, expected lr, category and {Delays.Count} fractions");
            var values = f.Skip(2).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            byDelay[(double.Parse(f[0], CultureInfo.InvariantCulture), f[1])] = values;
        }
        return new AuthorsFractions(byDelay);
    }

    /// <summary>
    /// The authors' fraction of <paramref name="category"/> at (<paramref name="lr"/>, <paramref name="delayMs"/>), or
    /// null where their grid has no such cell (rates are matched to 6 significant digits, their file's precision).
    /// </summary>
    public double? At(double lr, string category, double delayMs)
    {
        int d = (int)Math.Round(delayMs / 20);
        if (Math.Abs(delayMs - 20 * d) > 1e-9 || d < 0 || d >= Delays.Count) return null;
        foreach (var ((rate, c), values) in _byDelay)
            if (c == category && Math.Abs(rate - lr) <= 1e-5 * lr) return values[d];
        return null;
    }
}

/// <summary>Zoo's share of one outcome at one (learning rate, delay) cell against the authors' share.</summary>
public sealed record FractionComparison
{
    [Name("lr")] public double Lr { get; init; }
    [Name("delay_ms")] public double DelayMs { get; init; }
    /// <summary><c>no_solution</c>, <c>lc</c> or <c>sp</c>.</summary>
    [Name("category")] public string Category { get; init; } = "";
    [Name("seeds")] public int Seeds { get; init; }
    [Name("zoo_count")] public int ZooCount { get; init; }
    [Name("authors_fraction")] public double AuthorsFraction { get; init; }
    /// <summary>Zoo's count minus the count expected from the authors' fraction, in binomial standard deviations (NaN at fraction 0 or 1).</summary>
    [Name("z")] public double Z { get; init; }

    /// <summary>One comparison per category at every cell of <paramref name="rows"/> that the authors' grid holds.</summary>
    public static IReadOnlyList<FractionComparison> Compare(IReadOnlyList<StmRow> rows, AuthorsFractions authors)
    {
        var list = new List<FractionComparison>();
        foreach (var cell in rows.GroupBy(r => (r.Lr, r.DelayMs)).OrderByDescending(g => g.Key.Lr).ThenBy(g => g.Key.DelayMs))
            foreach (var (category, count) in Outcomes.Count(cell.ToList()))
            {
                if (authors.At(cell.Key.Lr, category, cell.Key.DelayMs) is not { } p) continue;
                int n = cell.Count();
                double sd = Math.Sqrt(n * p * (1 - p));
                list.Add(new FractionComparison
                {
                    Lr = cell.Key.Lr, DelayMs = cell.Key.DelayMs, Category = category, Seeds = n, ZooCount = count, AuthorsFraction = p,
                    Z = sd > 0 ? (count - n * p) / sd : double.NaN,
                });
            }
        return list;
    }
}
