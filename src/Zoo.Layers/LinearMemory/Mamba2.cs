using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Nn;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>Options of <see cref="Mamba2"/>.</summary>
/// <remarks>
/// The paper's (and mamba_ssm's) defaults are expand 2, head dim 64, d_state 128 (64 in many of the paper's
/// experiments), n_groups 1, conv kernel 4, for d_model ≥ 768. At Zoo's d_model 64 (d_inner 128) the defaults scale
/// head dim and d_state down to 32: 4 heads, state 4·32·32 = 4,096 numbers (d_state 128 would give 16,384, eight times
/// a default gated-deltanet's). Set head_dim 64 and d_state 128 for the paper's shape. n_groups is fixed at 1.
/// </remarks>
public sealed record Mamba2Options : IValidatableOptions
{
    /// <summary>d_inner = expand · d_model.</summary>
    [Option("d_inner = expand · d_model", Min = 1, Max = 8)]
    public int Expand { get; init; } = 2;

    /// <summary>Head dim P; d_inner / P heads, each with a d_state × P state.</summary>
    [Option("head dim P (d_inner / P heads)", Min = 1)]
    public int HeadDim { get; init; } = 32;

    /// <summary>SSM state size N per head (the width of B and C).</summary>
    [Option("SSM state size N (width of B and C)", Min = 1)]
    public int DState { get; init; } = 32;

    /// <summary>Kernel of the causal depthwise conv on x, B, C.</summary>
    [Option("causal depthwise conv kernel on x, B, C", Min = 1, Max = 16)]
    public int ConvSize { get; init; } = 4;

    /// <summary>Chunk size of the SSD (chunked) form.</summary>
    [Option("chunk size of the SSD form", Min = 1, Max = 1024)]
    public int ChunkSize { get; init; } = 64;

    /// <summary>Parallel form used by Forward.</summary>
    [Option("parallel form: chunked (SSD) or the per-token reference loop")]
    public MemoryForm Form { get; init; } = MemoryForm.Chunked;

    /// <summary>Lower end of mamba_ssm's <c>A_init_range</c>: A ~ U(a_init_min, a_init_max) per head.</summary>
    [Option("decay rate A ~ U(a_init_min, a_init_max) at initialisation (mamba_ssm: 1)", Min = 0, MinExclusive = true, AddedLater = true)]
    public double AInitMin { get; init; } = 1;

    /// <summary>Upper end of mamba_ssm's <c>A_init_range</c>.</summary>
    [Option("upper end of A's initial range (mamba_ssm: 16)", Min = 0, MinExclusive = true, AddedLater = true)]
    public double AInitMax { get; init; } = 16;

    /// <summary>Lower end of the step size's initialisation: Δ = softplus(dt_bias) log-uniform in [dt_min, dt_max].</summary>
    [Option("initial step size Δ log-uniform in [dt_min, dt_max] (mamba_ssm: 0.001)", Min = 0, MinExclusive = true, AddedLater = true)]
    public double DtMin { get; init; } = 1e-3;

    /// <summary>Upper end of the step size's initialisation.</summary>
    [Option("upper end of Δ's initial range (mamba_ssm: 0.1)", Min = 0, MinExclusive = true, AddedLater = true)]
    public double DtMax { get; init; } = 0.1;

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (dModel > 0 && Expand * dModel % HeadDim != 0)
            yield return ("head_dim", $"d_inner = expand · d_model = {Expand * dModel} is not divisible by head_dim {HeadDim}; allowed: a divisor of {Expand * dModel}");
        if (AInitMin > AInitMax)
            yield return ("a_init_min", $"{AInitMin} is above a_init_max {AInitMax}; allowed: a value in (0, {AInitMax}]");
        if (DtMin > DtMax)
            yield return ("dt_min", $"{DtMin} is above dt_max {DtMax}; allowed: a value in (0, {DtMax}]");
    }
}

/// <summary>
/// The Mamba-2 block (Dao and Gu 2024, "Transformers are SSMs", arXiv 2405.21060, §7 and fig. 6) with its state-space
/// dual (SSD) layer.
/// </summary>
/// <remarks>
/// [z, x, B, C, dt] = x_in W_in; (x, B, C) ← SiLU(causal depthwise conv(x, B, C)); per head h with head dim P:
/// <list type="bullet">
/// <item>Δ_t = softplus(dt_t + dt_bias), A = −exp(A_log) (a scalar per head), ā_t = exp(Δ_t A);</item>
/// <item>h_t = ā_t h_(t−1) + Δ_t B_t x_tᵀ (h ∈ ℝ^(N×P)), y_t = h_tᵀ C_t + D x_t;</item>
/// <item>out = (RMSNorm(y ⊙ SiLU(z))) W_out (the gated RMSNorm over all of d_inner, n_groups = 1).</item>
/// </list>
/// The SSM is scalar-gated linear attention with C ↔ q, B ↔ k, x ↔ v, log-decay Δ·A and write strength Δ, so its
/// SSD (chunked) and recurrent forms are <see cref="GatedDelta"/>'s Chunked and Reference with erase = false.
/// Initialisation as mamba_ssm: A ~ U(1, 16), dt log-uniform in [1e-3, 0.1] (floor 1e-4) through the inverse
/// softplus in dt_bias, D = 1; the ranges are options (a_init_min/max, dt_min/max, mamba_ssm's A_init_range, dt_min,
/// dt_max). Δ is both the write strength and, through Δ·A, the forgetting, so these ranges set how far back a fresh
/// model can read: a write Δ seen d tokens later is scaled by Δ·exp(−Δ·A·d), at most 1/(e·A·d).
/// </remarks>
[ZooLayer("mamba2", typeof(Mamba2Options), Summary = "Mamba-2 (SSD): input-dependent scalar decay per head, short conv, D skip, gated RMSNorm (Dao & Gu 2024)")]
[ContractCase("{\"head_dim\": 8, \"d_state\": 6}")]
[ContractCase("{\"head_dim\": 6, \"d_state\": 4, \"chunk_size\": 4, \"conv_size\": 2}")]
[ContractCase("{\"head_dim\": 12, \"d_state\": 5, \"form\": \"reference\", \"expand\": 1}")]
public sealed class Mamba2 : SequenceLayer
{
    private readonly Mamba2Options _o;
    private readonly int _inner, _heads, _convChannels;
    private readonly Linear in_proj, out_proj;
    private readonly Parameter conv_weight, conv_bias, A_log, dt_bias, D, norm_weight;

    /// <summary>Builds the block.</summary>
    public Mamba2(int dModel, Mamba2Options options) : base("Mamba2", dModel)
    {
        _o = options;
        _inner = options.Expand * dModel;
        _heads = _inner / options.HeadDim;
        _convChannels = _inner + 2 * options.DState;
        in_proj = nn.Linear(dModel, 2 * _inner + 2 * options.DState + _heads, hasBias: false);
        out_proj = nn.Linear(_inner, dModel, hasBias: false);
        using (no_grad())
        {
            conv_weight = ShortConvolution.Weight(_convChannels, options.ConvSize);
            var bound = 1.0 / Math.Sqrt(options.ConvSize);                 // Conv1d's default init for the bias
            conv_bias = nn.Parameter(empty(_convChannels).uniform_(-bound, bound));
            A_log = nn.Parameter(MambaDecayInit.ALog(_heads, options.AInitMin, options.AInitMax));
            dt_bias = nn.Parameter(MambaDecayInit.DtBias(_heads, options.DtMin, options.DtMax));
            D = nn.Parameter(ones(_heads));
            norm_weight = nn.Parameter(ones(_inner));
        }
        RegisterComponents();
    }

    /// <summary>State: the SSM state "S" [B, H, N, P] and the conv's last (kernel − 1) inputs "conv" [B, kernel − 1, d_inner + 2N].</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) => new LayerState()
        .With("S", zeros(new long[] { batch, _heads, _o.DState, _o.HeadDim }, dtype: dtype, device: device))
        .With("conv", zeros(new long[] { batch, _o.ConvSize - 1, _convChannels }, dtype: dtype, device: device));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => Run(x, state);

    /// <summary>One token through the recurrence.</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) => AsOneToken(x, t => Run(t, state));

    /// <summary>H·N·P plus the conv cache.</summary>
    public override long StateSize(long sequenceLength) =>
        (long)_heads * _o.DState * _o.HeadDim + (long)(_o.ConvSize - 1) * _convChannels;

    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        int n = _o.DState, p = _o.HeadDim;
        var s0 = state?["S"];        // null for a fresh sequence: the chunked op then skips its first chunk's reads
        state ??= InitialState(b, x.device, x.dtype);
        var parts = in_proj.forward(x).split(new long[] { _inner, _convChannels, _heads }, -1);
        var (z, xbc, dt) = (parts[0], parts[1], parts[2]);
        (xbc, var cache) = ShortConvolution.Apply(xbc, conv_weight, state["conv"], conv_bias);
        var xbcParts = xbc.split(new long[] { _inner, n, n }, -1);
        var xs = HeadLayout.Split(xbcParts[0], _heads, p);                         // x ↔ v: [B, H, L, P]
        var bk = xbcParts[1].unsqueeze(1).expand(b, _heads, l, n);                 // B ↔ k, shared by the heads (n_groups 1)
        var cq = xbcParts[2].unsqueeze(1).expand(b, _heads, l, n);                 // C ↔ q
        var delta = nn.functional.softplus(dt + dt_bias).transpose(1, 2);          // Δ: [B, H, L]
        var logDecay = delta * -A_log.exp()[TensorIndex.None, .., TensorIndex.None];
        var (y, s) = GatedDelta.Apply(_o.Form, cq, bk, xs, logDecay, delta, s0, _o.ChunkSize, erase: false);
        y = y + D[TensorIndex.None, .., TensorIndex.None, TensorIndex.None] * xs;  // D skip
        y = y.transpose(1, 2).reshape(b, l, _inner) * nn.functional.silu(z);
        var output = out_proj.forward(RmsNorm.Apply(y, norm_weight, 1e-5));
        var next = new LayerState().With("S", s).With("conv", cache);
        return (output.MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }
}
