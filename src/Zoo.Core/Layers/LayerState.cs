using TorchSharp;
using static TorchSharp.torch;

namespace Zoo.Core.Layers;

/// <summary>
/// The recurrent state a <see cref="SequenceLayer"/> carries between steps or segments.
/// Its parts are layer-specific (h and c for an LSTM, the KV cache for attention); only the layer
/// that made a state reads it.
/// </summary>
public sealed class LayerState : IDisposable
{
    private readonly Tensor[] _parts;

    /// <summary>Wraps the given tensors; the state owns them from now on.</summary>
    public LayerState(params Tensor[] parts) => _parts = parts;

    /// <summary>The i-th part, in the order the layer created them.</summary>
    public Tensor this[int i] => _parts[i];

    /// <summary>All parts.</summary>
    public IReadOnlyList<Tensor> Parts => _parts;

    /// <summary>A copy whose tensors are cut from the autograd graph (truncated BPTT, evaluation).</summary>
    public LayerState Detach() => new(_parts.Select(p => p.detach()).ToArray());

    /// <summary>Moves every part out of the current dispose scope so it survives the scope's end.</summary>
    public LayerState MoveToOuterDisposeScope()
    {
        foreach (var p in _parts) p.MoveToOuterDisposeScope();
        return this;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var p in _parts) p.Dispose();
    }
}
