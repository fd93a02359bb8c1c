using TorchSharp;
using static TorchSharp.torch;

namespace Zoo.Core.Tasks;

/// <summary>
/// A trained model a task can drive itself after training (DESIGN §2: replay runs the trained RNN with zero input).
/// </summary>
public interface IDrivableModel
{
    /// <summary>
    /// Runs the model in evaluation mode on <paramref name="inputs"/> <c>[B, T, I]</c> from the initial condition
    /// <paramref name="context"/> <c>[B, C]</c> (or the layer's initial state when null), with the recurrent layer's
    /// noise set to <paramref name="noise"/> drawn from <paramref name="generator"/>; returns the readout <c>[B, T, O]</c>.
    /// </summary>
    Tensor Drive(Tensor inputs, Tensor? context, double noise, Generator? generator);
}

/// <summary>One trajectory a post-training evaluation produced, kept for plots.</summary>
/// <param name="Kind">What it is (e.g. <c>replay</c>, <c>training</c>).</param>
/// <param name="Index">Which one of its kind.</param>
/// <param name="Points">Points <c>[T][2]</c>.</param>
public sealed record TrajectorySample(string Kind, int Index, IReadOnlyList<double[]> Points);

/// <summary>Metrics and trajectories of a post-training evaluation.</summary>
/// <param name="Metrics">Metric name → value; each becomes a result row beside the primary metric's.</param>
/// <param name="Trajectories">Trajectories to save for plots.</param>
public sealed record PostTrainingResult(IReadOnlyDictionary<string, double> Metrics, IReadOnlyList<TrajectorySample> Trajectories);

/// <summary>A task with an evaluation that drives the trained model itself (replay after path integration).</summary>
public interface IPostTrainingEvaluation
{
    /// <summary>Evaluates <paramref name="model"/>, trained with data seed <paramref name="seed"/>.</summary>
    PostTrainingResult EvaluateAfterTraining(IDrivableModel model, long seed);
}
