using Zoo.Core.Tasks;

namespace Zoo.Runner.Training;

/// <summary>How fast a run learned: the first evaluation step at which its test accuracy covered a fraction of the range above chance.</summary>
public static class LearningSpeed
{
    /// <summary>
    /// First step of <paramref name="curve"/> whose metric is at least chance + <paramref name="fraction"/> · (1 − chance);
    /// null when never reached or when <paramref name="task"/> declares no chance level (<see cref="IChanceLevel"/>).
    /// </summary>
    public static int? StepsTo(ISequenceTask task, IReadOnlyList<CurvePoint> curve, double fraction)
    {
        if (task is not IChanceLevel { Chance: var chance }) return null;
        double level = chance + fraction * (1 - chance);
        return curve.FirstOrDefault(p => p.TestMetric >= level)?.Step;
    }
}
