using TorchSharp;
using static TorchSharp.torch;

namespace Zoo.Core.Layers;

/// <summary>
/// A causal sequence-mixing layer: <c>x [B, L, D] → y [B, L, D]</c>, with its recurrent form.
/// </summary>
/// <remarks>
/// Contract (docs/architecture.md, 'Sequence layer'), checked for every registered layer by Zoo.Testing's
/// LayerContract (also <c>zoo check</c>), among others:
/// <list type="bullet">
/// <item><see cref="Step"/> applied token by token gives the same outputs as <see cref="Forward"/>.</item>
/// <item><see cref="Forward"/> over two halves, carrying the state, equals one forward over the whole.</item>
/// <item>Outputs are causal, and <see cref="StateSize"/> grows with L exactly when the state does.</item>
/// </list>
/// A layer is built by the registry from its constructor <c>(int dModel, TOptions options)</c>.
/// </remarks>
public abstract class SequenceLayer : nn.Module<Tensor, Tensor>
{
    /// <param name="name">Module name (shows in parameter names).</param>
    /// <param name="dModel">Width of the input and the output.</param>
    protected SequenceLayer(string name, int dModel) : base(name) => DModel = dModel;

    /// <summary>Width D of the input and the output.</summary>
    public int DModel { get; }

    /// <summary>The state before the first token, for a batch of <paramref name="batch"/> sequences.</summary>
    public abstract LayerState InitialState(long batch, Device device, ScalarType dtype);

    /// <summary>
    /// Parallel (training) form over a whole segment <c>x [B, L, D]</c>, starting from
    /// <paramref name="state"/> (or the initial state when null). Returns the outputs and the final state.
    /// </summary>
    public abstract (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null);

    /// <summary>Recurrent form: one token <c>x [B, D]</c> and the state before it → <c>(y [B, D], state after)</c>.</summary>
    public abstract (Tensor Output, LayerState State) Step(Tensor x, LayerState state);

    /// <summary>
    /// Numbers of recurrent state per sequence after <paramref name="sequenceLength"/> tokens
    /// (constant for RNNs, growing for attention's KV cache): the x-axis of accuracy-vs-state plots.
    /// </summary>
    public abstract long StateSize(long sequenceLength);

    /// <summary>
    /// An auxiliary loss from the last forward (e.g. load balancing), added to the task loss by the trainer;
    /// null when the layer has none.
    /// </summary>
    public virtual Tensor? AuxiliaryLoss => null;

    /// <summary>
    /// For layers whose recurrent form is their segment form on one token: runs <paramref name="segment"/> on x as a
    /// length-1 sequence [B, 1, D] and returns the output as [B, D].
    /// </summary>
    protected static (Tensor Output, LayerState State) AsOneToken(Tensor x, Func<Tensor, (Tensor Output, LayerState State)> segment)
    {
        var (y, next) = segment(x.unsqueeze(1));
        return (y.squeeze(1), next);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var (y, state) = Forward(x);
        state.Dispose();
        return y;
    }
}
