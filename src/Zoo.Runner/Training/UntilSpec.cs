using Zoo.Core.Options;

namespace Zoo.Runner.Training;

/// <summary>
/// The <c>train.until</c> object: end a run early when its primary test metric reaches <see cref="Target"/> or has not
/// improved for <see cref="Patience"/> evaluations, within a cap of <see cref="MaxSteps"/> steps.
/// </summary>
public sealed record UntilSpec : IValidatableOptions
{
    /// <summary>Stop once the primary test metric reaches this (≥ when higher is better, ≤ otherwise); null = no target.</summary>
    [Option("stop once the primary test metric reaches this (null = no target)")]
    public double? Target { get; init; }

    /// <summary>Stop after this many evaluations without a new best; null = never.</summary>
    [Option("stop after this many evaluations without a new best (null = never)", Min = 1)]
    public int? Patience { get; init; }

    /// <summary>Step cap; null takes <c>train.steps</c>. The learning-rate schedule spans the cap.</summary>
    [Option("step cap (null = train.steps); the lr schedule spans it", Min = 1)]
    public int? MaxSteps { get; init; }

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (Target is null && Patience is null)
            yield return ("target", "until needs target, patience or both; for a fixed budget give train.steps and no until");
    }
}
