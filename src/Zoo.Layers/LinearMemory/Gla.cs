using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Nn;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>Options of <see cref="Gla"/>.</summary>
/// <remarks>
/// Defaults are the paper's (4 heads, key width d_model / 2, value width d_model, gate rank 16, τ = 16). At d_model 64
/// that is a key dim of 8 and a value dim of 16 per head, a state of 512 numbers; the paper's 1.3B model has 256 × 512.
/// </remarks>
public sealed record GlaOptions : IValidatableOptions
{
    /// <summary>Number of heads.</summary>
    [Option("number of heads", Min = 1)]
    public int Heads { get; init; } = 4;

    /// <summary>Key/query dim per head; 0 means d_model / (2 · heads) (the paper's expand_k 0.5).</summary>
    [Option("key/query dim per head (0 = d_model / (2 · heads), expand_k 0.5)", Min = 0)]
    public int KeyDim { get; init; }

    /// <summary>Value dim per head; 0 means d_model / heads.</summary>
    [Option("value dim per head (0 = d_model / heads)", Min = 0)]
    public int ValueDim { get; init; }

    /// <summary>Rank of the low-rank gate projection W_α = W_α1 W_α2.</summary>
    [Option("rank of the low-rank gate projection", Min = 1)]
    public int GateRank { get; init; } = 16;

    /// <summary>Temperature τ of α = σ(x W_α1 W_α2 + b_α)^(1/τ).</summary>
    [Option("gate temperature τ in α = σ(·)^(1/τ)", Min = 1)]
    public double GateTemperature { get; init; } = 16;

    /// <summary>Chunk size of the chunked form (its relative decays take B·H·L·C·K numbers).</summary>
    [Option("chunk size of the chunked form", Min = 1, Max = 256)]
    public int ChunkSize { get; init; } = 16;

    /// <summary>Parallel form used by Forward.</summary>
    [Option("parallel form: chunked or the per-token reference loop")]
    public MemoryForm Form { get; init; } = MemoryForm.Chunked;

    /// <summary>
    /// fla's <c>use_short_conv</c>: a causal depthwise conv + SiLU on q, k and v. Off by default, as in the paper and
    /// fla; without it the layer has no view of the previous token (see <see cref="QkvShortConvolution"/>).
    /// </summary>
    [Option("short causal conv + SiLU on q, k, v (fla's use_short_conv; the paper has none)", AddedLater = true)]
    public bool ShortConv { get; init; }

    /// <summary>Kernel size of the short conv.</summary>
    [Option("short conv kernel size (short_conv = true)", Min = 2, Max = 16, AddedLater = true)]
    public int ConvSize { get; init; } = 4;

    /// <summary>Key dim for width <paramref name="dModel"/>.</summary>
    public int KeyDimFor(int dModel) => KeyDim > 0 ? KeyDim : dModel / (2 * Heads);

    /// <summary>Value dim for width <paramref name="dModel"/>.</summary>
    public int ValueDimFor(int dModel) => HeadDims.Resolve(ValueDim, dModel, Heads);

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (dModel > 0 && KeyDim == 0 && dModel % (2 * Heads) != 0)
            yield return ("heads", $"the default key_dim d_model / (2 · heads) needs d_model {dModel} divisible by 2 · heads = {2 * Heads}; allowed: such heads, or set key_dim");
        if (dModel > 0 && ValueDim == 0 && dModel % Heads != 0)
            yield return ("heads", $"d_model {dModel} is not divisible by heads {Heads}; allowed: a divisor of {dModel}, or set value_dim");
    }
}

/// <summary>
/// The gated linear attention layer (Yang, Wang, Shen, Panda, Kim 2024, "Gated Linear Attention Transformers with
/// Hardware-Efficient Training", arXiv 2312.06635, §4.4): a decay per key dimension, data-dependent through a
/// low-rank gate — the piece <c>simple-gla</c> (one scalar per head) leaves out.
/// </summary>
/// <remarks>
/// Per head: q_t = x_t W_Q / √d_k, k_t = x_t W_K, v_t = x_t W_V, α_t = σ(x_t W_α1 W_α2 + b_α)^(1/τ) ∈ (0, 1)^{d_k}
/// (rank 16, τ = 16), S_t = diag(α_t) S_(t−1) + k_t v_tᵀ, o_t = S_tᵀ q_t; r_t = Swish(x_t W_r + b_r);
/// y_t = (r_t ⊙ Norm(o_t)) W_O with Norm per head. The recurrence is the <see cref="GatedLinearAttention"/> op.
/// Norm is RMSNorm per head (fla's choice) where the paper writes LayerNorm; no feature map, and no short conv unless
/// <c>short_conv</c> asks for fla's (the paper has none: on MQAR at d_model 64 the bare layer stays near chance at
/// every learning rate, results/state-size-lr.csv).
/// </remarks>
[ZooLayer("gla", typeof(GlaOptions), Summary = "GLA: gated linear attention with a data-dependent decay per key dimension (Yang et al. 2024)")]
[ContractCase("{\"heads\": 2}")]
[ContractCase("{\"heads\": 3, \"key_dim\": 5, \"value_dim\": 3, \"chunk_size\": 4, \"gate_rank\": 2}")]
[ContractCase("{\"heads\": 1, \"form\": \"reference\"}")]
[ContractCase("{\"heads\": 2, \"short_conv\": true, \"conv_size\": 3, \"chunk_size\": 4}")]
public sealed class Gla : MatrixMemoryLayer
{
    private readonly GlaOptions _o;
    private readonly int _dk, _dv;
    private readonly Linear q_proj, k_proj, v_proj, gk_down, gk_up, r_proj, o_proj;
    private readonly Parameter o_norm;
    private readonly QkvShortConvolution? conv;

    /// <summary>Builds the layer.</summary>
    public Gla(int dModel, GlaOptions options) : base("Gla", dModel)
    {
        _o = options;
        (_dk, _dv) = (options.KeyDimFor(dModel), options.ValueDimFor(dModel));
        int h = options.Heads;
        q_proj = nn.Linear(dModel, h * _dk, hasBias: false);
        k_proj = nn.Linear(dModel, h * _dk, hasBias: false);
        v_proj = nn.Linear(dModel, h * _dv, hasBias: false);
        gk_down = nn.Linear(dModel, options.GateRank, hasBias: false);
        gk_up = nn.Linear(options.GateRank, h * _dk, hasBias: true);
        r_proj = nn.Linear(dModel, h * _dv, hasBias: true);
        o_proj = nn.Linear(h * _dv, dModel, hasBias: false);
        o_norm = nn.Parameter(ones(_dv));
        if (options.ShortConv) conv = new QkvShortConvolution(h * _dk, h * _dv, options.ConvSize);
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override (int Heads, int KeyDim, int ValueDim) MemoryShape => (_o.Heads, _dk, _dv);

    /// <inheritdoc />
    protected override QkvShortConvolution? QkvConv => conv;

    /// <inheritdoc />
    protected override (Tensor Output, LayerState State) Run(Tensor x, LayerState? state)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        int h = _o.Heads;
        var (q, k, v, cache) = HeadLayout.ScaledQkv(x, q_proj, k_proj, v_proj, conv?.Kernel(), ConvCache(state, x), h, _dk, _dv);
        var logDecay = HeadLayout.Split(nn.functional.logsigmoid(gk_up.forward(gk_down.forward(x))) / _o.GateTemperature, h, _dk);
        var (o, s) = GatedLinearAttention.Apply(_o.Form, q, k, v, logDecay, state?["S"], _o.ChunkSize);
        var y = RmsNorm.Apply(o.transpose(1, 2), o_norm) * nn.functional.silu(r_proj.forward(x)).view(b, l, h, _dv);
        var next = new LayerState().With("S", s);
        if (cache is not null) next.With("conv", cache);
        return (o_proj.forward(y.reshape(b, l, h * _dv)).MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }
}
