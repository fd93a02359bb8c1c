using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>Options of <see cref="GatedDeltaProduct"/>.</summary>
/// <remarks>
/// Defaults follow fla's <c>GatedDeltaProduct</c> layer (the paper's code): n_h = 2 Householder steps, β = 2σ(·) ∈ (0, 2)
/// (allow_neg_eigval, the paper's setting for state tracking), forget gate on, short conv 4, output gate, chunk 64.
/// Head dims as Zoo's gated-deltanet (d_model / heads for key and value; fla's layer uses head dim 256 and expand_v 2
/// at d_model 2,048: set value_dim to 2 · key_dim for that ratio), so with householder 1 and allow_neg_eigval off the
/// layer is gated-deltanet with the same parameters.
/// </remarks>
public sealed record GatedDeltaProductOptions : ConvolvedMemoryOptions
{
    /// <summary>Householder (delta-rule) steps n_h per token, each with its own key, value and β.</summary>
    [Option("Householder steps n_h per token, each with its own key, value and β", Min = 1, Max = 8)]
    public int Householder { get; init; } = 2;

    /// <summary>β = 2σ(W_β x) ∈ (0, 2) instead of σ(W_β x): eigenvalues of each factor down to −1.</summary>
    [Option("β = 2σ(·) ∈ (0, 2): negative eigenvalues (fla's allow_neg_eigval)")]
    public bool AllowNegEigval { get; init; } = true;

    /// <summary>Data-dependent decay α_t once per token (Gated DeltaProduct); off is DeltaProduct.</summary>
    [Option("decay α_t once per token (off: DeltaProduct without gate)")]
    public bool ForgetGate { get; init; } = true;

    /// <summary>Output gate: per-head RMSNorm(o) ⊙ SiLU(W_g x); off leaves RMSNorm(o).</summary>
    [Option("output gate SiLU(W_g x) after the per-head RMSNorm")]
    public bool OutputGate { get; init; } = true;

    /// <summary>Chunk size of the chunked form, in sub-steps (a chunk covers chunk_size / n_h tokens).</summary>
    [Option("chunk size of the chunked form, in sub-steps (chunk_size / householder tokens)", Min = 1, Max = 1024)]
    public int ChunkSize { get; init; } = 64;
}

/// <summary>
/// Gated DeltaProduct (Siems, Carstensen, Zela, Hutter, Pontil, Grazzi 2025, "DeltaProduct: Improving State-Tracking in
/// Linear RNNs via Householder Products", arXiv 2502.10297): n_h delta-rule steps per token, each with its own key, value
/// and β, so the transition is a product of n_h generalised Householder matrices (rank n_h), with Gated DeltaNet's decay
/// once per token.
/// </summary>
/// <remarks>
/// Per head, for j = 1..n_h with k_{t,j} = L2norm(W_k,j x_t), v_{t,j} = W_v,j x_t, β_{t,j} = σ(W_β,j x_t) (×2 with
/// allow_neg_eigval), α_t = exp(−exp(A_log) · softplus(W_α x_t + b_dt)):
/// S_t = (Π_j (I − β_{t,j} k_{t,j} k_{t,j}ᵀ)) α_t S_{t−1} + Σ_j (Π_{i&gt;j} (I − β_{t,i} k_{t,i} k_{t,i}ᵀ)) β_{t,j} k_{t,j} v_{t,j}ᵀ,
/// o_t = S_tᵀ q_t (eq. 4); y_t = W_o (RMSNorm(o_t) ⊙ SiLU(W_g x_t)) per head. The recurrence is the
/// <see cref="DeltaProduct"/> op (chunked through <see cref="GatedDelta"/>); q, k, v, β are <see cref="MemoryFeatures"/>
/// with n_h memories sharing the query (a short-conv kernel per step's channels, as fla), the read-out
/// <see cref="MemoryReadout"/>. Initialisation as fla: A ~ U(0, 16), softplus(b_dt) log-uniform in [1e-3, 0.1].
/// </remarks>
[ZooLayer("gated-deltaproduct", typeof(GatedDeltaProductOptions), Summary = "Gated DeltaProduct: n_h Householder (delta-rule) steps per token, decay once per token (Siems et al. 2025)")]
[ContractCase("{}")]
[ContractCase("{\"chunk_size\": 5}")]
[ContractCase("{\"heads\": 3, \"key_dim\": 5, \"value_dim\": 3, \"householder\": 3, \"chunk_size\": 8, \"output_gate\": false}")]
[ContractCase("{\"form\": \"reference\", \"conv_size\": 2}")]
[ContractCase("{\"householder\": 1, \"allow_neg_eigval\": false, \"chunk_size\": 4}")]
[ContractCase("{\"short_conv\": false, \"forget_gate\": false, \"chunk_size\": 6}")]
public sealed class GatedDeltaProduct : SequenceLayer
{
    private readonly GatedDeltaProductOptions _o;
    private readonly int _dk, _dv;
    private readonly MemoryFeatures features;
    private readonly MemoryReadout readout;
    private readonly Linear? a_proj;
    private readonly Parameter? A_log, dt_bias;

    /// <summary>Builds the layer.</summary>
    public GatedDeltaProduct(int dModel, GatedDeltaProductOptions options) : base("GatedDeltaProduct", dModel)
    {
        _o = options;
        (_dk, _dv) = (options.KeyDimFor(dModel), options.ValueDimFor(dModel));
        int h = options.Heads;
        var shared = options.Features(dModel) with { OutputGate = options.OutputGate, AllowNegEigval = options.AllowNegEigval };
        features = new MemoryFeatures(dModel, shared, MemoryRule.Delta, memories: options.Householder, sharedConv: false);
        readout = new MemoryReadout(dModel, shared);
        if (options.ForgetGate)
        {
            a_proj = nn.Linear(dModel, h, hasBias: false);
            using var noGrad = no_grad();
            A_log = nn.Parameter(MambaDecayInit.ALog(h, min: 0));
            dt_bias = nn.Parameter(MambaDecayInit.DtBias(h));
        }
        RegisterComponents();
    }

    /// <summary>State: the memory "S" [B, H, K, V] and the q, k, v conv caches (child "conv", k and v for all n_h steps).</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        new LayerState()
            .With("S", zeros(new long[] { batch, _o.Heads, _dk, _dv }, dtype: dtype, device: device))
            .With("conv", features.InitialCaches(batch, device, dtype));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => Run(x, state);

    /// <summary>One token through the per-token recurrence.</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) => AsOneToken(x, t => Run(t, state));

    /// <summary>Memory H·K·V plus the conv caches (kernel − 1)·H·(K + n_h·(K + V)).</summary>
    public override long StateSize(long sequenceLength) => (long)_o.Heads * _dk * _dv + features.CacheSize;

    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        int h = _o.Heads, n = _o.Householder;
        state ??= InitialState(b, x.device, x.dtype);
        var m = features.Compute(x, state.Child("conv"));
        // Memory j's head h (head j·H + h of MemoryFeatures) is Householder step j of head h: [B, n·H, L, d] → [B, H, L, n, d].
        var k = m.K.reshape(b, n, h, l, _dk).permute(0, 2, 3, 1, 4);
        var v = m.V.reshape(b, n, h, l, _dv).permute(0, 2, 3, 1, 4);
        var beta = m.Beta.reshape(b, n, h, l).permute(0, 2, 3, 1);
        var logDecay = a_proj is null
            ? zeros(new[] { b, (long)h, l }, dtype: x.dtype, device: x.device)
            : (-A_log!.exp() * nn.functional.softplus(a_proj.forward(x) + dt_bias!)).transpose(1, 2);   // [B, H, L]
        var (o, s) = DeltaProduct.Apply(_o.Form, m.Q, k, v, logDecay, beta, state["S"], _o.ChunkSize);
        var next = new LayerState().With("S", s).With("conv", m.ConvCaches);
        return (readout.Compute(o, x).MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }
}
