namespace Zoo.Core.Tasks;

/// <summary>A metric accumulated over batches as a sum and a count, so the mean over a test set is exact.</summary>
public readonly record struct MetricTally(double Sum, double Count)
{
    /// <summary>Sum / Count (NaN when empty).</summary>
    public double Mean => Count == 0 ? double.NaN : Sum / Count;

    /// <summary>Adds two tallies.</summary>
    public static MetricTally operator +(MetricTally a, MetricTally b) => new(a.Sum + b.Sum, a.Count + b.Count);
}
