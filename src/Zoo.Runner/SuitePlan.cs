using Zoo.Runner.Suites;

namespace Zoo.Runner;

/// <summary>One run of a shard and whether it is still to do.</summary>
/// <param name="Run">The expanded run.</param>
/// <param name="Pending">No ok/diverged row for its config hash yet (or <see cref="RunSettings.Force"/>).</param>
public sealed record PlannedRun(RunSpec Run, bool Pending);

/// <summary>
/// What <c>zoo run</c> would do, without training: the suite's runs in this shard, which are pending, and where their
/// rows go (<see cref="SuiteRunner.Schedule"/>).
/// </summary>
/// <param name="Suite">The loaded suite.</param>
/// <param name="ResultsPath">The results file rows are appended to (the shard's own for a shard).</param>
/// <param name="TotalRuns">Runs the suite expands to, over all shards.</param>
/// <param name="InShard">This shard's runs (all runs without a shard), in run order.</param>
/// <param name="PendingCount">Distinct configurations among them still to train.</param>
/// <param name="Shard">The shard, or null.</param>
public sealed record SuitePlan(SuiteFile Suite, string ResultsPath, int TotalRuns, IReadOnlyList<PlannedRun> InShard, int PendingCount, Shard? Shard);
