namespace Zoo.Tasks.ShortTermMemory;

/// <summary>How one network's training on the delayed cue task ended.</summary>
public enum TrainingOutcome
{
    /// <summary>Trained (accuracy and reliability criteria met, stably).</summary>
    Trained,
    /// <summary>Never learned the task (the authors' class 0, "no learn").</summary>
    Failed,
    /// <summary>Learned, then kept falling back below 0.6 (the authors' class 3, "unstable learning").</summary>
    Unstable,
    /// <summary>Loss or gradient became NaN/Inf; the network was frozen there.</summary>
    Diverged,
}

/// <summary>
/// The "trained" criterion of Kurtkaya et al., from the authors' <c>sort_data.py</c>, applied to per-epoch accuracy
/// and reliability histories: (1) mean accuracy and mean reliability over the last 10% of epochs both above 0.8;
/// (2) stable: from the first epoch where accuracy and reliability are both above 0.8, the count of (accuracy,
/// reliability) values below 0.6 is less than a tenth of the count above 0.6 (a network that never reaches 0.8 counts
/// as stable, so it is "failed", not "unstable").
/// </summary>
public static class TrainingVerdict
{
    /// <summary>Criterion threshold on the late averages and on the first "learned" epoch.</summary>
    public const double Learned = 0.8;

    /// <summary>Values below this after learning count as dips.</summary>
    public const double Dip = 0.6;

    /// <summary>The verdict, plus the late mean accuracy and reliability (last 10% of epochs).</summary>
    public static (TrainingOutcome Outcome, double Accuracy, double Reliability) Judge(IReadOnlyList<double> accuracy, IReadOnlyList<double> reliability)
    {
        int n = accuracy.Count;
        if (n == 0 || reliability.Count != n) throw new ArgumentException("accuracy and reliability need the same, non-zero length");
        int first = Enumerable.Range(0, n).FirstOrDefault(e => accuracy[e] > Learned && reliability[e] > Learned, -1);
        bool stable = true;
        if (first >= 0)
        {
            double below = 0, above = 0;
            for (int e = first; e < n; e++)
            {
                below += (accuracy[e] < Dip ? 1 : 0) + (reliability[e] < Dip ? 1 : 0);
                above += (accuracy[e] > Dip ? 1 : 0) + (reliability[e] > Dip ? 1 : 0);
            }
            stable = below / above < 0.1;
        }
        int late = (int)(n * 0.9);  // the authors' int(len * 0.9)
        double acc = accuracy.Skip(late).Average(), rel = reliability.Skip(late).Average();
        var outcome = acc > Learned && rel > Learned && stable ? TrainingOutcome.Trained
            : stable ? TrainingOutcome.Failed : TrainingOutcome.Unstable;
        return (outcome, acc, rel);
    }

    /// <summary>Short name used in result rows.</summary>
    public static string Code(TrainingOutcome o) => o.ToString().ToLowerInvariant();
}
