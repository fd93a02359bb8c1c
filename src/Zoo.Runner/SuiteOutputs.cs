using Zoo.Runner.Plots;
using Zoo.Runner.Results;

namespace Zoo.Runner;

/// <summary>
/// Where one <c>zoo run</c> writes: <c>OUT/SUITE.csv</c> (or its shard file), <c>OUT/SUITE/curves.csv</c>,
/// <c>OUT/SUITE/trajectories.csv</c>, the plots in <c>OUT/SUITE/</c> and the checkpoint folder.
/// </summary>
/// <param name="OutDir">The <c>--out</c> folder.</param>
/// <param name="SuiteDir">The suite's folder of curves, trajectories and plots.</param>
/// <param name="Results">The result rows.</param>
/// <param name="Curves">The learning curves.</param>
/// <param name="Trajectories">Trajectories kept by post-training evaluations.</param>
/// <param name="CheckpointDir">The <c>--checkpoints</c> folder, or null.</param>
public sealed record SuiteOutputs(string OutDir, string SuiteDir, CsvTable<ResultRow> Results, CsvTable<CurveRow> Curves,
    CsvTable<TrajectoryRow> Trajectories, string? CheckpointDir)
{
    /// <summary>The outputs of suite <paramref name="suite"/> (a name <see cref="SafeFileName"/> accepted) under <paramref name="settings"/>.</summary>
    public static SuiteOutputs For(RunSettings settings, string suite, Action<string>? note = null)
    {
        var suiteDir = Path.Combine(settings.OutDir, suite);
        var suffix = settings.Shard?.FileSuffix ?? "";
        return new SuiteOutputs(settings.OutDir, suiteDir,
            new CsvTable<ResultRow>(SuiteRunner.ResultsPath(settings.OutDir, suite, settings.Shard), note),
            new CsvTable<CurveRow>(Path.Combine(suiteDir, "curves" + suffix + ".csv"), note),
            new CsvTable<TrajectoryRow>(Path.Combine(suiteDir, "trajectories" + suffix + ".csv"), note),
            settings.CheckpointDir);
    }

    /// <summary>
    /// Checks, before anything trains, that every file the suite will write (with the temporary name it is written
    /// through) can be written, for the plots of <paramref name="tasks"/>; a config error names the first that cannot.
    /// </summary>
    public void CheckWritable(IEnumerable<string> tasks)
    {
        Writable.Folder(OutDir, "--out");
        if (CheckpointDir is not null) Writable.Folder(CheckpointDir, "--checkpoints");
        Writable.File(Results.Path, Results.TemporaryPath, "--out");
        Writable.Folder(SuiteDir, "--out");
        Writable.File(Curves.Path, Curves.TemporaryPath, "--out");
        Writable.File(Trajectories.Path, Trajectories.TemporaryPath, "--out");
        foreach (var png in tasks.Select(t => LearningCurvePlot.PathFor(SuiteDir, t)))
            Writable.File(png, AtomicFile.TemporaryPath(png), "--out");
    }
}
