using Zoo.Runner.Results;
using Zoo.Runner.Suites;
using Zoo.Runner.Training;

namespace Zoo.Runner;

/// <summary>Receives progress from <see cref="SuiteRunner"/> (the CLI prints it).</summary>
public interface IRunReporter
{
    /// <summary>
    /// This process covers <paramref name="total"/> of the suite's runs (those in its shard and its <c>--only</c>
    /// selection), of which <paramref name="pending"/> have no result yet and will run now.
    /// </summary>
    void SuitePlanned(int total, int pending);

    /// <summary>Run <paramref name="index"/> (1-based) of <paramref name="total"/> starts.</summary>
    void RunStarted(int index, int total, RunSpec run);

    /// <summary>A training step finished.</summary>
    void Progress(TrainProgress progress);

    /// <summary>The run ended and its row was written.</summary>
    void RunFinished(ResultRow row);

    /// <summary>Something the user should know that changes nothing trained: a run another process holds, a skipped incomplete row.</summary>
    void Note(string message) { }
}

/// <summary>Discards progress.</summary>
public sealed class SilentReporter : IRunReporter
{
    /// <inheritdoc />
    public void SuitePlanned(int total, int pending) { }

    /// <inheritdoc />
    public void RunStarted(int index, int total, RunSpec run) { }

    /// <inheritdoc />
    public void Progress(TrainProgress progress) { }

    /// <inheritdoc />
    public void RunFinished(ResultRow row) { }
}
