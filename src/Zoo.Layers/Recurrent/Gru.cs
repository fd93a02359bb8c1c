using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.Recurrent;

/// <summary>
/// GRU (Cho et al. 2014) with hidden size d_model. Parallel form: TorchSharp's built-in module; <see cref="Step"/>:
/// r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
/// </summary>
[ZooLayer("gru", typeof(GatedCellOptions), Summary = "GRU, built-in module for the sequence, cell equations for Step")]
[ContractCase("{}")]
[ContractCase("{\"bias\": false}")]
public sealed class Gru : SequenceLayer
{
    private readonly GRU gru;
    private readonly bool _bias;

    /// <summary>Builds a GRU with input and hidden size <paramref name="dModel"/>.</summary>
    public Gru(int dModel, GatedCellOptions options) : base("Gru", dModel)
    {
        _bias = options.Bias;
        gru = nn.GRU(dModel, dModel, bias: options.Bias, batchFirst: true);
        RegisterComponents();
    }

    /// <summary>State: h [B, D].</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        State(zeros(batch, DModel, dtype: dtype, device: device));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null)
    {
        using var scope = NewDisposeScope();
        state ??= InitialState(x.shape[0], x.device, x.dtype);
        var (y, h) = gru.forward(x, state["h"].unsqueeze(0));
        var next = State(h.squeeze(0)).MoveToOuterDisposeScope();
        return (y.MoveToOuterDisposeScope(), next);
    }

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state)
    {
        using var scope = NewDisposeScope();
        var gi = nn.functional.linear(x, gru.get_parameter("weight_ih_l0")!, _bias ? gru.get_parameter("bias_ih_l0") : null).chunk(3, -1);
        var gh = nn.functional.linear(state["h"], gru.get_parameter("weight_hh_l0")!, _bias ? gru.get_parameter("bias_hh_l0") : null).chunk(3, -1);
        var r = sigmoid(gi[0] + gh[0]);
        var z = sigmoid(gi[1] + gh[1]);
        var n = tanh(gi[2] + r * gh[2]);
        var h = (1 - z) * n + z * state["h"];
        var next = State(h).MoveToOuterDisposeScope();
        return (h.alias().MoveToOuterDisposeScope(), next);
    }

    /// <inheritdoc />
    public override long StateSize(long sequenceLength) => DModel;

    private static LayerState State(Tensor h) => new LayerState().With("h", h);
}
