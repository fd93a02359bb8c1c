namespace Zoo.Core.Tasks;

/// <summary>
/// A task trained as a curriculum (docs/architecture.md, 'Task sources'; the N-parity / N-DMS curricula of Khajehabdollahi et al. 2024,
/// arXiv 2309.12927): training starts at this task's <see cref="Level"/>; after each evaluation the trainer asks
/// <see cref="Passed"/> and, when it passes, goes on with <see cref="Next"/>, keeping the model and the optimizer. Every
/// level has the same <see cref="ISequenceTask.Signature"/>, so one model fits them all. The run's result is the highest
/// level passed within the step budget, reported as <see cref="LevelMetric"/>.
/// </summary>
public interface ICurriculumTask : ISequenceTask
{
    /// <summary>The level this instance trains (e.g. N).</summary>
    int Level { get; }

    /// <summary>Name of the result metric: the highest level passed (e.g. <c>max_n</c>); <see cref="Level"/> − 1 of the first level when none was.</summary>
    string LevelMetric { get; }

    /// <summary>Whether the test metrics of this level (every metric the task reports, as means) pass it.</summary>
    bool Passed(IReadOnlyDictionary<string, double> testMetrics);

    /// <summary>The next level, or null when this is the last.</summary>
    ICurriculumTask? Next();
}
