using Zoo.Core.Options;

namespace Zoo.Runner.Training;

/// <summary>The <c>train</c> object of a suite file. Budgets count steps, never wall time, so runs reproduce on a loaded machine.</summary>
public sealed record TrainSpec
{
    /// <summary>Optimizer steps.</summary>
    [Option("optimizer steps", Min = 1)]
    public int Steps { get; init; } = 2000;

    /// <summary>Sequences per step.</summary>
    [Option("sequences per step", Min = 1)]
    public int Batch { get; init; } = 64;

    /// <summary>Peak learning rate (AdamW).</summary>
    [Option("peak learning rate (AdamW)", Min = 0, MinExclusive = true)]
    public double Lr { get; init; } = 1e-3;

    /// <summary>Decoupled weight decay.</summary>
    [Option("AdamW decoupled weight decay", Min = 0)]
    public double WeightDecay { get; init; } = 0.1;

    /// <summary>
    /// Which parameters the weight decay applies to: <see cref="WeightDecayScope.All"/> (every parameter, as
    /// <c>torch.optim.AdamW(model.parameters())</c>), or <see cref="WeightDecayScope.Fla"/>: all but the parameters fla
    /// and Mamba mark <c>_no_weight_decay</c> (<see cref="WeightDecayGroups.FlaExempt"/>). Added later: its default
    /// leaves committed hashes unchanged.
    /// </summary>
    [Option("parameters under weight decay: all, or fla (all but A_log, dt_bias, D, which fla and Mamba exempt)", AddedLater = true)]
    public WeightDecayScope WeightDecayScope { get; init; } = WeightDecayScope.All;

    /// <summary>Linear warm-up steps, then cosine decay to min_lr_ratio · lr.</summary>
    [Option("linear warm-up steps before the cosine decay", Min = 0)]
    public int Warmup { get; init; } = 100;

    /// <summary>Final learning rate as a fraction of the peak.</summary>
    [Option("final lr / peak lr at the end of the cosine", Min = 0, Max = 1)]
    public double MinLrRatio { get; init; } = 0.1;

    /// <summary>Evaluate on the test split every this many steps (and at the end).</summary>
    [Option("evaluate every this many steps (and at the end)", Min = 1)]
    public int EvalEvery { get; init; } = 200;

    /// <summary>Cap on test examples scored per evaluation (0 = the task's whole test split).</summary>
    [Option("max test examples per evaluation (0 = all)", Min = 0)]
    public int EvalExamples { get; init; }

    /// <summary>Global gradient-norm clip (0 = off).</summary>
    [Option("clip the global gradient norm to this (0 = off)", Min = 0)]
    public double GradClip { get; init; } = 1.0;

    /// <summary>
    /// Ends the run early at a target or a plateau of the primary test metric, within a step cap (null = a fixed budget
    /// of <see cref="Steps"/>). Left out of the hashed configuration when null, so fixed-budget runs keep their hashes.
    /// </summary>
    [Option("end early at a target or plateau of the primary test metric: an object: target, patience, max_steps (null = fixed steps)")]
    public UntilSpec? Until { get; init; }

    /// <summary>
    /// The canonical form of an <c>until</c> run: <see cref="Steps"/> and <c>until.max_steps</c> both hold the cap, so the
    /// two spellings of one cap hash alike. A <c>max_steps</c> that differs from a <c>steps</c> the suite gave is a contradiction.
    /// </summary>
    /// <param name="stepsGiven">Whether the run's merged <c>train</c> object names <c>steps</c>.</param>
    /// <param name="file">Suite file, for the message.</param>
    /// <param name="path">JSON path of the <c>train</c> object, for the message.</param>
    public TrainSpec WithUntilCap(bool stepsGiven, string? file, string path)
    {
        if (Until is null) return this;
        if (Until.MaxSteps is not { } cap) return this with { Until = Until with { MaxSteps = Steps } };
        if (stepsGiven && cap != Steps)
            throw new ZooConfigException(file, path + ".until.max_steps",
                $"{cap} contradicts steps {Steps}; with until, steps is the cap: give one of them, or both equal");
        return this with { Steps = cap };
    }
}
