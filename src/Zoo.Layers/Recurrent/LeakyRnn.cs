using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.Recurrent;

/// <summary>Nonlinearity φ of <see cref="LeakyRnn"/>.</summary>
public enum Activation
{
    /// <summary>max(0, z), as in the hippocampal path-integration models.</summary>
    Relu,
    /// <summary>tanh(z).</summary>
    Tanh,
    /// <summary>max(0.01 z, z).</summary>
    LeakyRelu,
}

/// <summary>Options of <see cref="LeakyRnn"/>. Leak is on by default; adaptation, momentum and noise are off.</summary>
public sealed record LeakyRnnOptions
{
    /// <summary>Leak λ = dt/τ: h moves a fraction λ toward φ(z) each step; 1 is a vanilla RNN.</summary>
    [Option("leak λ = dt/τ (1 = vanilla RNN)", Min = 0, Max = 1, MinExclusive = true)]
    public double Leak { get; init; } = 0.2;

    /// <summary>Nonlinearity φ.</summary>
    [Option("nonlinearity φ")]
    public Activation Activation { get; init; } = Activation.Tanh;

    /// <summary>Adaptation time constant τ_a in steps; 0 turns adaptation off.</summary>
    [Option("adaptation time constant τ_a in steps (0 = off); a_t = (1 − 1/τ_a) a_{t−1} + (b_a/τ_a) h_t", Min = 0)]
    public double AdaptationTau { get; init; }

    /// <summary>Adaptation strength b_a (negative feedback subtracted from the pre-activation).</summary>
    [Option("adaptation strength b_a", Min = 0)]
    public double AdaptationStrength { get; init; }

    /// <summary>Momentum damping γ: v_t = (1 − γ) v_{t−1} + u_t + σ ε_t, h_t = h_{t−1} + v_t; 1 = first-order (off).</summary>
    [Option("momentum damping γ (1 = first-order, no momentum)", Min = 0, Max = 1, MinExclusive = true)]
    public double Momentum { get; init; } = 1.0;

    /// <summary>Standard deviation σ of the noise added while training.</summary>
    [Option("training noise std σ (ε ~ N(0, I))", Min = 0)]
    public double Noise { get; init; }

    /// <summary>Learned bias b in the pre-activation.</summary>
    [Option("learned bias b")]
    public bool Bias { get; init; } = true;

    /// <summary>
    /// Distribution of ε: Gaussian N(0, I) as the paper writes σξ (Zoo's default), or U[0, 1) as the predecessor's code
    /// draws it (non-centred, so the noise also adds a constant drive σ/2; in training and in replay alike).
    /// </summary>
    [Option("noise distribution of ε: gaussian N(0, I) (the paper) or uniform U[0, 1) (the predecessor's code)", AddedLater = true)]
    public NoiseDistribution NoiseDistribution { get; init; } = NoiseDistribution.Gaussian;
}

/// <summary>Distribution of the leaky RNN's noise ε.</summary>
public enum NoiseDistribution
{
    /// <summary>ε ~ N(0, I).</summary>
    Gaussian,
    /// <summary>ε ~ U[0, 1) per unit (non-centred).</summary>
    Uniform,
}

/// <summary>
/// Leaky RNN with adaptation and momentum (Casco-Rodriguez, Krishna, Baraniuk 2026, arXiv 2602.18401):
/// z_t = W h_{t−1} + U x_t + b − a_{t−1};  u_t = −λ h_{t−1} + λ φ(z_t);
/// v_t = (1 − γ) v_{t−1} + u_t + σ ε_t;  h_t = h_{t−1} + v_t;  a_t = (1 − 1/τ_a) a_{t−1} + (b_a/τ_a) h_t.
/// The output is the hidden state h (hidden size = d_model), so the bare model's readout sees network activity.
/// </summary>
/// <remarks>
/// A nonlinear recurrence has no parallel form: <see cref="Forward"/> projects all inputs in one matmul and then
/// loops; <see cref="Step"/> is the same update for one token. Noise is drawn only in training mode with σ = Noise,
/// and in evaluation mode with σ = <see cref="ReplayNoise"/> (0 unless a replay evaluation sets it).
/// </remarks>
[ZooLayer("leaky-rnn", typeof(LeakyRnnOptions), Summary = "leaky RNN with adaptation, momentum and noise (arXiv 2602.18401)")]
[ContractCase("{}")]
[ContractCase("{\"leak\": 1.0, \"activation\": \"relu\"}")]
[ContractCase("{\"leak\": 0.5, \"activation\": \"leaky_relu\", \"adaptation_tau\": 4, \"adaptation_strength\": 0.7}")]
[ContractCase("{\"leak\": 0.3, \"momentum\": 0.6}")]
[ContractCase("{\"leak\": 0.3, \"momentum\": 0.6, \"adaptation_tau\": 3, \"adaptation_strength\": 1.5, \"activation\": \"relu\"}")]
public sealed class LeakyRnn : SequenceLayer, IActivityState, INoisyLayer
{
    private readonly Linear input;
    private readonly Parameter recurrent;
    private readonly LeakyRnnOptions _o;

    /// <summary>Builds a leaky RNN with <paramref name="dModel"/> units.</summary>
    public LeakyRnn(int dModel, LeakyRnnOptions options) : base("LeakyRnn", dModel)
    {
        _o = options;
        input = nn.Linear(dModel, dModel, hasBias: options.Bias);
        var bound = 1.0 / Math.Sqrt(dModel);
        recurrent = nn.Parameter(empty(dModel, dModel));
        using (no_grad()) nn.init.uniform_(recurrent, -bound, bound);
        RegisterComponents();
    }

    /// <summary>The options this layer was built with.</summary>
    public LeakyRnnOptions Options => _o;

    /// <summary>Noise σ used in evaluation mode (replay); 0 by default.</summary>
    public double ReplayNoise { get; set; }

    /// <summary>Generator for the noise; null uses torch's global generator.</summary>
    public Generator? NoiseGenerator { get; set; }

    private bool Adapting => _o.AdaptationTau > 0 && _o.AdaptationStrength > 0;

    private double Sigma => training ? _o.Noise : ReplayNoise;

    /// <summary>State: h (activity), a (adaptation current), v (velocity), each [B, D].</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        StateFromActivity(zeros(batch, DModel, dtype: dtype, device: device));

    /// <summary>A state starting at activity <paramref name="h0"/> [B, D] (e.g. encoded from a start position), at rest otherwise.</summary>
    public LayerState StateFromActivity(Tensor h0) => State(h0, zeros_like(h0), zeros_like(h0));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null)
    {
        using var scope = NewDisposeScope();
        state ??= InitialState(x.shape[0], x.device, x.dtype);
        var drive = input.forward(x); // U x_t + b for all t in one matmul
        Tensor h = state["h"], a = state["a"], v = state["v"];
        var drives = drive.unbind(1); // not drive[.., t]: each index's backward is as large as the input (TimePieces)
        var outputs = new Tensor[drives.Length];
        for (int t = 0; t < drives.Length; t++)
        {
            (h, a, v) = Update(drives[t], h, a, v);
            outputs[t] = h;
        }
        var next = State(h.alias(), a.alias(), v.alias()).MoveToOuterDisposeScope();
        return (stack(outputs, 1).MoveToOuterDisposeScope(), next);
    }

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state)
    {
        using var scope = NewDisposeScope();
        var (h, a, v) = Update(input.forward(x), state["h"], state["a"], state["v"]);
        var next = State(h.alias(), a, v).MoveToOuterDisposeScope();
        return (h.MoveToOuterDisposeScope(), next);
    }

    private static LayerState State(Tensor h, Tensor a, Tensor v) => new LayerState().With("h", h).With("a", a).With("v", v);

    private (Tensor H, Tensor A, Tensor V) Update(Tensor drive, Tensor h, Tensor a, Tensor v)
    {
        var z = drive + h.matmul(recurrent.t());
        if (Adapting) z = z - a;
        var u = _o.Leak * (Phi(z) - h);
        var sigma = Sigma;
        if (sigma > 0)
            u = u + sigma * (_o.NoiseDistribution == NoiseDistribution.Uniform
                ? rand(h.shape, dtype: h.dtype, device: h.device, generator: NoiseGenerator)
                : randn(h.shape, dtype: h.dtype, device: h.device, generator: NoiseGenerator));
        var vNext = _o.Momentum < 1 ? (1 - _o.Momentum) * v + u : u;
        var hNext = h + vNext;
        var aNext = Adapting ? (1 - 1 / _o.AdaptationTau) * a + (_o.AdaptationStrength / _o.AdaptationTau) * hNext : a;
        return (hNext, aNext, vNext);
    }

    private Tensor Phi(Tensor z) => _o.Activation switch
    {
        Activation.Relu => nn.functional.relu(z),
        Activation.Tanh => tanh(z),
        Activation.LeakyRelu => nn.functional.leaky_relu(z, 0.01),
        _ => throw new ArgumentOutOfRangeException(nameof(z)),
    };

    /// <summary>h, plus a with adaptation, plus v with momentum.</summary>
    public override long StateSize(long sequenceLength) =>
        DModel * (1L + (Adapting ? 1 : 0) + (_o.Momentum < 1 ? 1 : 0));
}
