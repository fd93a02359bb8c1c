namespace Zoo.Core.Tasks;

/// <summary>Metrics and trajectories of a post-training evaluation.</summary>
/// <param name="Metrics">Metric name → value; each becomes a result row beside the primary metric's.</param>
/// <param name="Trajectories">Trajectories to save for plots.</param>
public sealed record PostTrainingResult(IReadOnlyDictionary<string, double> Metrics, IReadOnlyList<TrajectorySample> Trajectories);
