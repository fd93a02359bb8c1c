using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Example.Plugin;

/// <summary>Options of <see cref="EmaRecurrence"/>.</summary>
public sealed record EmaOptions
{
    /// <summary>Initial decay of every channel (learned afterwards).</summary>
    [Option("initial per-channel decay a ∈ (0, 1)", Min = 0, Max = 1, MinExclusive = true, MaxExclusive = true)]
    public double InitialDecay { get; init; } = 0.9;
}

/// <summary>
/// Example plugin layer: a diagonal linear recurrence (an exponential moving average with a learned decay per
/// channel), h_t = a ⊙ h_{t−1} + (1 − a) ⊙ W_in x_t, y_t = W_out h_t. Because the recurrence is linear, the
/// parallel form is a closed-form weighted sum h_t = a^{t+1} h_{−1} + Σ_{s≤t} a^{t−s} (1 − a) u_s, computed
/// with one [L, L] decay matrix per channel; <see cref="Step"/> is the recurrence itself.
/// </summary>
[ZooLayer("example-ema", typeof(EmaOptions), Summary = "example plugin: diagonal linear recurrence (EMA) with learned decay")]
public sealed class EmaRecurrence : SequenceLayer
{
    private readonly Linear inProj, outProj;
    private readonly Parameter decayLogit;

    /// <summary>Builds the layer.</summary>
    public EmaRecurrence(int dModel, EmaOptions options) : base("EmaRecurrence", dModel)
    {
        inProj = nn.Linear(dModel, dModel, hasBias: false);
        outProj = nn.Linear(dModel, dModel, hasBias: false);
        var logit = Math.Log(options.InitialDecay / (1 - options.InitialDecay));
        decayLogit = nn.Parameter(full(dModel, logit));
        RegisterComponents();
    }

    /// <summary>State: the running average "h" [B, D], zero before the first token.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) => State(zeros(batch, DModel, dtype: dtype, device: device));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null)
    {
        using var scope = NewDisposeScope();
        long l = x.shape[1];
        var h0 = state?["h"] ?? zeros(x.shape[0], DModel, dtype: x.dtype, device: x.device);
        var logA = nn.functional.logsigmoid(decayLogit);                          // [D]
        var t = arange(l, dtype: x.dtype, device: x.device);
        var lag = (t.unsqueeze(1) - t.unsqueeze(0));                               // [L, L], t − s
        var causal = lag.ge(0);
        var weights = exp(lag.unsqueeze(-1).clamp_min(0) * logA).masked_fill(causal.logical_not().unsqueeze(-1), 0); // [L, L, D]
        var u = inProj.forward(x) * (1 - exp(logA));                                // [B, L, D]
        var h = einsum("tsd,bsd->btd", weights, u) + exp((t + 1).unsqueeze(-1) * logA) * h0.unsqueeze(1);
        var next = State(h[.., -1].clone()).MoveToOuterDisposeScope();
        return (outProj.forward(h).MoveToOuterDisposeScope(), next);
    }

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state)
    {
        using var scope = NewDisposeScope();
        var a = sigmoid(decayLogit);
        var h = a * state["h"] + (1 - a) * inProj.forward(x);
        var next = State(h).MoveToOuterDisposeScope();
        return (outProj.forward(h).MoveToOuterDisposeScope(), next);
    }

    /// <inheritdoc />
    public override long StateSize(long sequenceLength) => DModel;

    // A state is named parts: tensors, child states and counters (see LayerState); this layer's is one tensor.
    private static LayerState State(Tensor h) => new LayerState().With("h", h);
}
