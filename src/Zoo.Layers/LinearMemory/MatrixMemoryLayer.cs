using Zoo.Core.Layers;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// A layer whose whole state is one matrix memory "S" [B, H, K, V] per sequence (RetNet, GLA, HGRN2): the state, its
/// size and the step / parallel plumbing live here, so a subclass writes only <see cref="Run"/>, its form over a segment
/// continuing from a carried state (a step is a segment of one token).
/// </summary>
public abstract class MatrixMemoryLayer : SequenceLayer
{
    /// <inheritdoc />
    protected MatrixMemoryLayer(string name, int dModel) : base(name, dModel) { }

    /// <summary>Heads H, key dim K and value dim V of the memory.</summary>
    protected abstract (int Heads, int KeyDim, int ValueDim) MemoryShape { get; }

    /// <summary>State: the memory "S" [B, H, K, V], zero, and with a short conv its empty cache "conv".</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype)
    {
        var (h, k, v) = MemoryShape;
        var state = new LayerState().With("S", zeros(new long[] { batch, h, k, v }, dtype: dtype, device: device));
        return QkvConv is { } conv ? state.With("conv", conv.EmptyCache(batch, device, dtype)) : state;
    }

    /// <summary>The optional short conv on q, k, v (null: none); its cache is the state's "conv" [B, kernel − 1, channels].</summary>
    protected virtual QkvShortConvolution? QkvConv => null;

    /// <summary>The conv cache to continue from: the state's, a fresh one when <paramref name="state"/> is null, or null without the conv.</summary>
    protected Tensor? ConvCache(LayerState? state, Tensor x) =>
        QkvConv is not { } conv ? null : state?["conv"] ?? conv.EmptyCache(x.shape[0], x.device, x.dtype);

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => Run(x, state);

    /// <summary>One token: <see cref="Run"/> over a segment of length 1 (its ops take the per-token reference form).</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) => AsOneToken(x, t => Run(t, state));

    /// <summary>H·K·V, plus the conv cache when there is one.</summary>
    public override long StateSize(long sequenceLength)
    {
        var (h, k, v) = MemoryShape;
        return (long)h * k * v + (QkvConv is { } conv ? (conv.Size - 1) * conv.Channels : 0);
    }

    /// <summary>
    /// The layer over x [B, L, D] from <paramref name="state"/> (the initial state when null): outputs and final state.
    /// Pass a null state's memory on to the op as null, not zeros: its chunked form then skips the first chunk's reads.
    /// </summary>
    protected abstract (Tensor Output, LayerState State) Run(Tensor x, LayerState? state);
}
