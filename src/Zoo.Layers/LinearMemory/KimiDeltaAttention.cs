using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Nn;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>Options of <see cref="KimiDeltaAttention"/>.</summary>
/// <remarks>
/// Defaults follow fla's <c>KimiDeltaAttention</c> (the Kimi Linear reference code): heads · head dim = d_model
/// (fla: 16 heads of 128 at 2,048), value dim = key dim (expand_v 1), short conv of 4, gate and output-gate
/// bottlenecks of the value head dim, β ∈ (0, 1), chunk 64 in fla's kernels. Scaled to Zoo's widths: 2 heads of
/// d_model / 2 (32 at d_model 64, a state of 2 · 32 · 32 = 2,048 numbers, as a default gated-deltanet's), and chunk 32
/// with sub-chunks of 4: the exact chunked form materialises its relative decays only within sub-chunks (secondary
/// chunking, see <see cref="GatedDeltaPerChannel.Chunked"/>; fla's kernels: chunk 64, sub-chunk 16). At d_model 64, B 4,
/// L 1,024 (zoo bench forward+backward, one thread, a shared 2-core machine at load 5–10, medians of 6 runs) it is 4.9× the
/// reference loop with the reference timed first, 3.0× when it is the first thing a fresh process times (its warm-up
/// shows); the former chunk 8 without sub-chunks was 2.9× and 2.5×. Chunk 16 and sub-chunk 2 are about as fast; chunk 64
/// is slower. The key dim is also the decay's width.
/// </remarks>
public sealed record KdaOptions : ConvolvedMemoryOptions
{
    /// <summary>Rank of the low-rank decay and output-gate projections; 0 means the value dim (fla's f_proj, g_proj).</summary>
    [Option("rank of the low-rank decay and output-gate projections (0 = value dim, fla's)", Min = 0)]
    public int GateRank { get; init; }

    /// <summary>β = 2σ(W_β x) ∈ (0, 2) instead of σ(W_β x): eigenvalues of the transition down to −1 (Grazzi et al. 2024).</summary>
    [Option("β = 2σ(·) ∈ (0, 2): negative eigenvalues (fla's allow_neg_eigval)")]
    public bool AllowNegEigval { get; init; }

    /// <summary>Chunk size of the chunked form (steps per iteration of its sequential across-chunk loop).</summary>
    [Option("chunk size C of the chunked form", Min = 1, Max = 256)]
    public int ChunkSize { get; init; } = 32;

    /// <summary>Sub-chunk size of the chunked form: relative decays are materialised only within sub-chunks (B·H·L·c·K numbers, c the sub-chunk), matmuls between them.</summary>
    [Option("sub-chunk size of the chunked form's secondary chunking (relative decays materialised only within sub-chunks)", Min = 1, Max = 256)]
    public int SubChunk { get; init; } = 4;
}

/// <summary>
/// Kimi Delta Attention (Kimi Team 2025, "Kimi Linear: An Expressive, Efficient Attention Architecture", arXiv
/// 2510.26692, §3): the gated delta rule with a data-dependent decay per key dimension instead of one per head.
/// </summary>
/// <remarks>
/// Per head, with q_t, k_t L2-normalised (q also scaled by 1/√d_k) after the short conv + SiLU:
/// <list type="bullet">
/// <item>S_t = (I − β_t k_t k_tᵀ) Diag(α_t) S_{t−1} + β_t k_t v_tᵀ, o_t = S_tᵀ q_t (eq. 1);</item>
/// <item>log α_t = −exp(A_log) ⊙ softplus(W_α↑ W_α↓ x_t + b_dt) ∈ (−∞, 0)^{d_k} (a low-rank gate, A_log one per head,
/// b_dt one per channel; fla's <c>kda_gate</c>), β_t = σ(W_β x_t) (×2 with allow_neg_eigval);</item>
/// <item>y_t = W_o (σ(W_g↑ W_g↓ x_t + b_g) ⊙ RMSNorm(o_t)) with RMSNorm per head (eps 1e-5): the low-rank sigmoid
/// output gate of the paper (Gated DeltaNet's is full-rank SiLU).</item>
/// </list>
/// The recurrence is the <see cref="GatedDeltaPerChannel"/> op; the q, k, v, β side is <see cref="MemoryFeatures"/>
/// (Zoo's Gated DeltaNet input side, delta rule without its scalar decay). Initialisation as fla: A ~ U(1, 16),
/// softplus(b_dt) log-uniform in [1e-3, 0.1] (floor 1e-4). As Zoo's other delta layers, with short_conv off q, k, v
/// get no SiLU (fla applies one).
/// </remarks>
[ZooLayer("kda", typeof(KdaOptions), Summary = "Kimi Delta Attention: gated delta rule with a data-dependent decay per key dimension (Kimi Linear 2025)")]
[ContractCase("{}")]
[ContractCase("{\"chunk_size\": 4}")]
[ContractCase("{\"chunk_size\": 24, \"sub_chunk\": 8}")]
[ContractCase("{\"heads\": 3, \"key_dim\": 5, \"value_dim\": 3, \"gate_rank\": 2, \"chunk_size\": 8, \"allow_neg_eigval\": true}")]
[ContractCase("{\"form\": \"reference\", \"conv_size\": 2}")]
[ContractCase("{\"short_conv\": false, \"chunk_size\": 64}")]
public sealed class KimiDeltaAttention : SequenceLayer
{
    private readonly KdaOptions _o;
    private readonly int _dk, _dv;
    private readonly MemoryFeatures features;
    private readonly Linear f_down, f_up, g_down, g_up, o_proj;
    private readonly Parameter A_log, dt_bias, o_norm;

    /// <summary>Builds the layer.</summary>
    public KimiDeltaAttention(int dModel, KdaOptions options) : base("KimiDeltaAttention", dModel)
    {
        _o = options;
        (_dk, _dv) = (options.KeyDimFor(dModel), options.ValueDimFor(dModel));
        int h = options.Heads, rank = options.GateRank > 0 ? options.GateRank : _dv;
        features = new MemoryFeatures(dModel, options.Features(dModel) with { AllowNegEigval = options.AllowNegEigval }, MemoryRule.Delta);
        f_down = nn.Linear(dModel, rank, hasBias: false);
        f_up = nn.Linear(rank, h * _dk, hasBias: false);
        g_down = nn.Linear(dModel, rank, hasBias: false);
        g_up = nn.Linear(rank, h * _dv, hasBias: true);
        o_proj = nn.Linear(h * _dv, dModel, hasBias: false);
        using (no_grad())
        {
            A_log = nn.Parameter(MambaDecayInit.ALog(h));
            dt_bias = nn.Parameter(MambaDecayInit.DtBias(h * _dk));
            o_norm = nn.Parameter(ones(_dv));
        }
        RegisterComponents();
    }

    /// <summary>State: the memory "S" [B, H, K, V] and the q, k, v conv caches (child "conv").</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        new LayerState()
            .With("S", zeros(new long[] { batch, _o.Heads, _dk, _dv }, dtype: dtype, device: device))
            .With("conv", features.InitialCaches(batch, device, dtype));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => Run(x, state);

    /// <summary>One token through the per-token recurrence.</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) => AsOneToken(x, t => Run(t, state));

    /// <summary>Memory H·K·V plus the conv caches (kernel − 1)·H·(2K + V).</summary>
    public override long StateSize(long sequenceLength) => (long)_o.Heads * _dk * _dv + features.CacheSize;

    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        int h = _o.Heads;
        state ??= InitialState(b, x.device, x.dtype);
        var m = features.Compute(x, state.Child("conv"));
        var beta = m.Beta;
        var gate = f_up.forward(f_down.forward(x)).view(b, l, h, _dk) + dt_bias.view(h, _dk);
        var logDecay = (-A_log.exp().unsqueeze(-1) * nn.functional.softplus(gate)).transpose(1, 2);   // [B, H, L, K]
        var (o, s) = GatedDeltaPerChannel.Apply(_o.Form, m.Q, m.K, m.V, logDecay, beta, state["S"], _o.ChunkSize, _o.SubChunk);
        var y = RmsNorm.Apply(o.transpose(1, 2), o_norm, 1e-5) * sigmoid(g_up.forward(g_down.forward(x))).view(b, l, h, _dv);
        var output = o_proj.forward(y.reshape(b, l, h * _dv));
        var next = new LayerState().With("S", s).With("conv", m.ConvCaches);
        return (output.MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }
}
