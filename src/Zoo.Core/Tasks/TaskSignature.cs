namespace Zoo.Core.Tasks;

/// <summary>
/// What a task feeds the model and what it expects back; the runner builds the model's input and output
/// layers from it.
/// </summary>
/// <param name="InputVocab">Token vocabulary when inputs are ids <c>[B, L]</c>; 0 when inputs are real <c>[B, L, InputDim]</c>.</param>
/// <param name="InputDim">Real input width when <paramref name="InputVocab"/> is 0.</param>
/// <param name="OutputDim">Number of classes (logits) or real outputs per position.</param>
/// <param name="Length">Sequence length L.</param>
/// <param name="ContextDim">Width of a per-sequence initial condition (<see cref="TaskBatch.Context"/>, e.g. the start position a
/// path integrator must know); 0 when the task has none.</param>
public sealed record TaskSignature(int InputVocab, int InputDim, int OutputDim, int Length, int ContextDim = 0)
{
    /// <summary>True when inputs are token ids.</summary>
    public bool TokenInputs => InputVocab > 0;
}
