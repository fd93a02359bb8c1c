namespace Zoo.Runner.Training;

/// <summary>
/// Where a run stood after one of its evaluations: with the model's weights and the optimizer's state saved beside it
/// (<see cref="ResumeStore"/>), everything the trainer needs to go on from step <see cref="Step"/> exactly as if it
/// had not stopped. Training batches are a function of (seed, step) and torch's global generator is used only to
/// initialise parameters, so no random state is kept.
/// </summary>
/// <param name="Step">Steps done; training goes on with this step index.</param>
/// <param name="Curve">The learning curve so far.</param>
/// <param name="Best">Best primary metric so far (NaN before the first evaluation).</param>
/// <param name="BestStep">Step of <paramref name="Best"/>.</param>
/// <param name="SinceBest">Evaluations since the best one (the patience counter).</param>
/// <param name="SmoothedLoss">The progress report's running mean of the training loss.</param>
/// <param name="Tokens">Training tokens processed.</param>
/// <param name="SecondaryAtBest">Secondary metrics at the best evaluation.</param>
/// <param name="SecondaryFinal">Secondary metrics at the last evaluation.</param>
/// <param name="PassedLevel">A curriculum's highest level passed.</param>
/// <param name="PassedStep">Step it was passed at (−1: none yet).</param>
/// <param name="PassedMetric">Primary metric it was passed with.</param>
/// <param name="Level">The curriculum level being trained (null: not a curriculum).</param>
/// <param name="TrainSeconds">Seconds spent in training steps so far (for throughput).</param>
/// <param name="WallSeconds">Wall seconds of the run so far, over every process that worked on it.</param>
public sealed record TrainingSnapshot(
    int Step,
    IReadOnlyList<CurvePoint> Curve,
    double Best,
    int BestStep,
    int SinceBest,
    double SmoothedLoss,
    long Tokens,
    double[] SecondaryAtBest,
    double[] SecondaryFinal,
    int PassedLevel,
    int PassedStep,
    double PassedMetric,
    int? Level,
    double TrainSeconds,
    double WallSeconds);
