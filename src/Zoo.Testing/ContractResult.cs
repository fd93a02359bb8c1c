namespace Zoo.Testing;

/// <summary>The outcome of one contract check on one layer configuration, with a one-line reason.</summary>
/// <param name="Case">The layer configuration checked.</param>
/// <param name="Check">Which check (one of <see cref="LayerContract.CheckNames"/>, or <c>build</c> when the layer could not be built).</param>
/// <param name="Passed">Whether the layer met it.</param>
/// <param name="Reason">What was measured, or what went wrong.</param>
public sealed record ContractResult(ContractCase Case, string Check, bool Passed, string Reason)
{
    /// <summary>One line: <c>pass|FAIL  layer [options]  check: reason</c>.</summary>
    public override string ToString() => $"{(Passed ? "pass" : "FAIL")}  {Case}  {Check}: {Reason}";
}
