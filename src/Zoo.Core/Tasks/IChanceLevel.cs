namespace Zoo.Core.Tasks;

/// <summary>
/// A task whose primary metric is an accuracy with a known chance level: what an uninformed (constant) predictor scores,
/// with 1 the best. Learning speed (steps to a fraction of the range above chance) is reported only for such tasks.
/// </summary>
public interface IChanceLevel
{
    /// <summary>The primary metric of an uninformed predictor, in [0, 1).</summary>
    double Chance { get; }
}
