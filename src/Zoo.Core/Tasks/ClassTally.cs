namespace Zoo.Core.Tasks;

/// <summary>
/// Per-class counts over the scored positions of a test set: for each class c, how often it was the target, how often
/// it was predicted, and how often both (torchmetrics' multiclass state: tp = correct, fn = targets − correct,
/// fp = predicted − correct). Summed over batches, so the class-averaged accuracy of a whole test set is exact.
/// </summary>
public sealed class ClassTally
{
    /// <summary>Per-class counts, one entry per class: correct, target and predicted.</summary>
    public ClassTally(long[] correct, long[] targets, long[] predicted)
    {
        if (correct.Length != targets.Length || predicted.Length != targets.Length)
            throw new ArgumentException($"class counts differ in length: correct {correct.Length}, targets {targets.Length}, predicted {predicted.Length}");
        (Correct, Targets, Predicted) = (correct, targets, predicted);
    }

    /// <summary>Scored positions whose target is class c and whose prediction is c too (tp).</summary>
    public long[] Correct { get; }

    /// <summary>Scored positions whose target is class c (tp + fn).</summary>
    public long[] Targets { get; }

    /// <summary>Scored positions predicted as class c (tp + fp).</summary>
    public long[] Predicted { get; }

    /// <summary>
    /// Reference form: counts from (prediction, target) pairs of the scored positions, one at a time.
    /// </summary>
    public static ClassTally Of(IEnumerable<(long Predicted, long Target)> scored, int classes)
    {
        var (correct, targets, predicted) = (new long[classes], new long[classes], new long[classes]);
        foreach (var (p, t) in scored)
        {
            targets[t]++;
            predicted[p]++;
            if (p == t) correct[t]++;
        }
        return new ClassTally(correct, targets, predicted);
    }

    /// <summary>Adds two tallies of the same classes.</summary>
    public static ClassTally operator +(ClassTally a, ClassTally b) =>
        new(Add(a.Correct, b.Correct), Add(a.Targets, b.Targets), Add(a.Predicted, b.Predicted));

    private static long[] Add(long[] a, long[] b) =>
        a.Length == b.Length ? a.Zip(b, (x, y) => x + y).ToArray() : throw new ArgumentException($"tallies of {a.Length} and {b.Length} classes");

    /// <summary>
    /// Accuracy averaged per class, torchmetrics' <c>MulticlassAccuracy</c> default (<c>average="macro"</c>, top-1), which
    /// MAD reports: the mean of correct / targets over every class that occurs as a target or as a prediction
    /// (tp + fp + fn &gt; 0); a class that is only ever predicted counts with accuracy 0. NaN when nothing was scored.
    /// </summary>
    public double MacroAccuracy
    {
        get
        {
            var present = Enumerable.Range(0, Targets.Length).Where(c => Targets[c] > 0 || Predicted[c] > 0).ToList();
            return present.Count == 0 ? double.NaN : present.Average(c => Targets[c] == 0 ? 0.0 : (double)Correct[c] / Targets[c]);
        }
    }
}
