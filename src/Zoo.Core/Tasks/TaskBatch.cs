using static TorchSharp.torch;

namespace Zoo.Core.Tasks;

/// <summary>
/// One batch: inputs, targets and the mask of positions that count for loss and metrics.
/// </summary>
/// <param name="Inputs">Token ids <c>[B, L]</c> (int64) or reals <c>[B, L, I]</c>.</param>
/// <param name="Targets">Class ids <c>[B, L]</c> (int64) or reals <c>[B, L, O]</c>; a task with H readouts may use class ids <c>[B, L, H]</c>.</param>
/// <param name="Mask">Bool <c>[B, L]</c> (or <c>[B, L, H]</c> with H readouts): positions scored by loss and metrics.</param>
/// <param name="Context">Per-sequence initial condition <c>[B, ContextDim]</c> the model encodes into its initial state, or null.</param>
/// <param name="Groups">Per-sequence test condition <c>[B]</c> (int64) of a task that scores several conditions of its test
/// split separately (SelectivBench's per-gap-length test), for its metrics only: never fed to the model; null otherwise.</param>
public sealed record TaskBatch(Tensor Inputs, Tensor Targets, Tensor Mask, Tensor? Context = null, Tensor? Groups = null) : IDisposable
{
    /// <summary>Number of sequences.</summary>
    public long Size => Inputs.shape[0];

    /// <summary>The batch on another device.</summary>
    public TaskBatch To(Device device) => new(Inputs.to(device), Targets.to(device), Mask.to(device), Context?.to(device), Groups?.to(device));

    /// <inheritdoc />
    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
        Mask.Dispose();
        Context?.Dispose();
        Groups?.Dispose();
    }
}
