namespace Zoo.Runner.Training;

/// <summary>Why a run that finished without failing stopped (the result row's <c>end</c> column).</summary>
public enum RunEnd
{
    /// <summary>Ran its fixed budget of <c>steps</c> (no <c>until</c>).</summary>
    Steps,
    /// <summary>The primary test metric reached <c>until.target</c>, or a curriculum passed its last level.</summary>
    Target,
    /// <summary>No new best for <c>until.patience</c> evaluations.</summary>
    Plateau,
    /// <summary>An <c>until</c> run reached its step cap without meeting target or patience.</summary>
    Cap,
}
