using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.Recurrent;

/// <summary>
/// LSTM (Hochreiter and Schmidhuber 1997) with hidden size d_model. The parallel form is TorchSharp's
/// built-in module (cuDNN on GPU); <see cref="Step"/> is the cell equations on the same weights:
/// i, f, g, o = split(W_ih x + b_ih + W_hh h + b_hh); c' = σ(f) c + σ(i) tanh(g); h' = σ(o) tanh(c').
/// </summary>
[ZooLayer("lstm", typeof(GatedCellOptions), Summary = "LSTM, built-in module for the sequence, cell equations for Step")]
[ContractCase("{}")]
[ContractCase("{\"bias\": false}")]
public sealed class Lstm : SequenceLayer
{
    private readonly LSTM lstm;
    private readonly bool _bias;

    /// <summary>Builds an LSTM with input and hidden size <paramref name="dModel"/>.</summary>
    public Lstm(int dModel, GatedCellOptions options) : base("Lstm", dModel)
    {
        _bias = options.Bias;
        lstm = nn.LSTM(dModel, dModel, bias: options.Bias, batchFirst: true);
        RegisterComponents();
    }

    /// <summary>State: h and c [B, D].</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        State(zeros(batch, DModel, dtype: dtype, device: device), zeros(batch, DModel, dtype: dtype, device: device));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null)
    {
        using var scope = NewDisposeScope();
        state ??= InitialState(x.shape[0], x.device, x.dtype);
        var (y, h, c) = lstm.forward(x, (state["h"].unsqueeze(0), state["c"].unsqueeze(0)));
        var next = State(h.squeeze(0), c.squeeze(0)).MoveToOuterDisposeScope();
        return (y.MoveToOuterDisposeScope(), next);
    }

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state)
    {
        using var scope = NewDisposeScope();
        var gates = nn.functional.linear(x, lstm.get_parameter("weight_ih_l0")!, _bias ? lstm.get_parameter("bias_ih_l0") : null)
                  + nn.functional.linear(state["h"], lstm.get_parameter("weight_hh_l0")!, _bias ? lstm.get_parameter("bias_hh_l0") : null);
        var g = gates.chunk(4, -1);
        var c = sigmoid(g[1]) * state["c"] + sigmoid(g[0]) * tanh(g[2]);
        var h = sigmoid(g[3]) * tanh(c);
        var next = State(h, c).MoveToOuterDisposeScope();
        return (h.alias().MoveToOuterDisposeScope(), next);
    }

    /// <inheritdoc />
    public override long StateSize(long sequenceLength) => 2L * DModel;

    private static LayerState State(Tensor h, Tensor c) => new LayerState().With("h", h).With("c", c);
}
