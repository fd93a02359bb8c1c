namespace Zoo.Core.Tasks;

/// <summary>One trajectory a post-training evaluation produced, kept for plots.</summary>
/// <param name="Kind">What it is (e.g. <c>replay</c>, <c>training</c>).</param>
/// <param name="Index">Which one of its kind.</param>
/// <param name="Points">Points <c>[T][2]</c>.</param>
public sealed record TrajectorySample(string Kind, int Index, IReadOnlyList<double[]> Points);
