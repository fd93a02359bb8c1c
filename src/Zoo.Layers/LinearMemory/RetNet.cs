using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Nn;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Layers.Attention;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>Options of <see cref="RetNet"/> (multi-scale retention).</summary>
/// <remarks>
/// The paper's models use a query/key head dim of 256 and a value head dim twice that (2 × d_model in all). At Zoo's
/// d_model 64 the defaults keep the paper's ratio (value dim = 2 × key dim) with 4 heads: key dim d_model / heads.
/// </remarks>
public sealed record RetNetOptions : IValidatableOptions
{
    /// <summary>Number of retention heads; head h decays with γ_h = 1 − 2^(−5−h).</summary>
    [Option("number of retention heads; head h decays with γ_h = 1 − 2^(−5−h)", Min = 1, Max = 24)]
    public int Heads { get; init; } = 4;

    /// <summary>Query/key dim per head; 0 means d_model / heads.</summary>
    [Option("query/key dim per head (0 = d_model / heads)", Min = 0)]
    public int KeyDim { get; init; }

    /// <summary>Value dim per head; 0 means 2 · d_model / heads (the paper's value factor 2).</summary>
    [Option("value dim per head (0 = 2 · d_model / heads, the paper's ratio)", Min = 0)]
    public int ValueDim { get; init; }

    /// <summary>Chunk size C of the chunkwise form.</summary>
    [Option("chunk size C of the chunkwise form", Min = 1, Max = 1024)]
    public int ChunkSize { get; init; } = 64;

    /// <summary>Parallel form used by Forward.</summary>
    [Option("parallel form: chunked or the per-token reference loop")]
    public MemoryForm Form { get; init; } = MemoryForm.Chunked;

    /// <summary>
    /// Position information on q and k: none (the paper's decays alone) or rotary embeddings, the relative position
    /// of fla's port (the paper's xPos is RoPE with an extra per-dimension decay).
    /// </summary>
    [Option("position encoding on q, k: none (decays only) or rope (fla's port; the paper's xPos without its scale)", AddedLater = true)]
    public PositionEncoding Positions { get; init; } = PositionEncoding.None;

    /// <summary>RoPE base frequency (with positions = rope).</summary>
    [Option("RoPE base θ (positions = rope)", Min = 1, AddedLater = true)]
    public double RopeBase { get; init; } = 10000;

    /// <summary>fla's <c>use_short_conv</c>: a causal depthwise conv + SiLU on q, k and v, before the rotary (off by default, as in the paper and fla).</summary>
    [Option("short causal conv + SiLU on q, k, v (fla's use_short_conv; the paper has none)", AddedLater = true)]
    public bool ShortConv { get; init; }

    /// <summary>Kernel size of the short conv.</summary>
    [Option("short conv kernel size (short_conv = true)", Min = 2, Max = 16, AddedLater = true)]
    public int ConvSize { get; init; } = 4;

    /// <summary>Key dim for width <paramref name="dModel"/>.</summary>
    public int KeyDimFor(int dModel) => HeadDims.Resolve(KeyDim, dModel, Heads);

    /// <summary>Value dim for width <paramref name="dModel"/>.</summary>
    public int ValueDimFor(int dModel) => ValueDim > 0 ? ValueDim : 2 * dModel / Heads;

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        foreach (var problem in HeadDims.Check(dModel, Heads, KeyDim, ValueDim)) yield return problem;
        if (dModel > 0 && Positions == PositionEncoding.Rope && KeyDimFor(dModel) % 2 != 0)
            yield return ("positions", $"rope needs an even key dim, got {KeyDimFor(dModel)}; allowed: none, or key_dim/heads making it even");
    }
}

/// <summary>
/// Multi-scale retention, the token mixer of RetNet (Sun et al. 2023, "Retentive Network", arXiv 2307.08621, §2).
/// </summary>
/// <remarks>
/// Per head h with a fixed decay γ_h = 1 − 2^(−5−h) (eq. 8), Q = X W_Q, K = X W_K, V = X W_V:
/// <list type="bullet">
/// <item>parallel (eq. 5): Retention(X) = (Q Kᵀ ⊙ D) V, D_nm = γ^(n−m) for n ≥ m, else 0;</item>
/// <item>recurrent (eq. 6): S_n = γ S_(n−1) + K_nᵀ V_n, Retention(X_n) = Q_n S_n;</item>
/// <item>chunkwise (eq. 7): within a chunk the parallel form, across chunks the recurrence;</item>
/// <item>eq. 8–9: Y = GroupNorm_h(Concat(head_1, …, head_h)), MSR(X) = (swish(X W_G) ⊙ Y) W_O.</item>
/// </list>
/// Q Kᵀ is scaled by 1/√d_k (§2.3). The retention is <see cref="GatedDelta"/> with erase = false, β = 1 and a
/// constant log-decay log γ_h, so all three forms are that op's Reference and Chunked forms.
/// Position: the paper's xPos (Θ in eq. 5) is not implemented; <c>positions: rope</c> rotates q and k as fla's port
/// does (xPos without its per-dimension scale), and the state then carries the position of the next token as a
/// counter. The default, none, leaves the decays alone to carry position: with neither rotary nor a short
/// convolution the layer cannot tell the previous token from older ones, so it cannot form the previous-token
/// feature that associative recall is built on (MQAR stays near 0.06 at any learning rate; see
/// <c>tasks/state-size-lr.json</c>). Not implemented either: torchscale's initialisation (Xavier with gain 2^−2.5),
/// replaced by the library default.
/// GroupNorm is per head over its value dims with a learned per-channel gain and bias, as the paper's GroupNorm.
/// </remarks>
[ZooLayer("retnet", typeof(RetNetOptions), Summary = "RetNet multi-scale retention: fixed per-head decays, GroupNorm, swish gate (Sun et al. 2023)")]
[ContractCase("{}")]
[ContractCase("{\"chunk_size\": 4, \"heads\": 3}")]
[ContractCase("{\"form\": \"reference\", \"heads\": 2, \"key_dim\": 5, \"value_dim\": 3}")]
[ContractCase("{\"positions\": \"rope\", \"chunk_size\": 4, \"heads\": 2}")]
[ContractCase("{\"short_conv\": true, \"positions\": \"rope\", \"chunk_size\": 4, \"heads\": 2}")]
public sealed class RetNet : MatrixMemoryLayer
{
    private readonly RetNetOptions _o;
    private readonly int _dk, _dv;
    private readonly Linear q_proj, k_proj, v_proj, g_proj, o_proj;
    private readonly Parameter gn_weight, gn_bias;
    private readonly QkvShortConvolution? conv;

    /// <summary>Builds the layer.</summary>
    public RetNet(int dModel, RetNetOptions options) : base("RetNet", dModel)
    {
        _o = options;
        (_dk, _dv) = (options.KeyDimFor(dModel), options.ValueDimFor(dModel));
        int h = options.Heads;
        q_proj = nn.Linear(dModel, h * _dk, hasBias: false);
        k_proj = nn.Linear(dModel, h * _dk, hasBias: false);
        v_proj = nn.Linear(dModel, h * _dv, hasBias: false);
        g_proj = nn.Linear(dModel, h * _dv, hasBias: false);
        o_proj = nn.Linear(h * _dv, dModel, hasBias: false);
        // GroupNorm's gain and bias, per channel as nn.GroupNorm's (TorchSharp 0.107's GroupNorm module leaves them uninitialised).
        gn_weight = nn.Parameter(ones(h, _dv));
        gn_bias = nn.Parameter(zeros(h, _dv));
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
        long position = Rope && state is not null ? state.Counter("position") : 0;
        if (Rope)
        {
            var (cos, sin) = Rotary.Tables(_dk, _o.RopeBase, position, l, x.dtype, x.device);
            (q, k) = (Rotary.Rotate(q, cos, sin), Rotary.Rotate(k, cos, sin));
        }
        // log γ_h = log1p(−2^(−5−h)), made on the device (no host copy per call); log1p because 1 − 2^−28 is 1 in float32.
        var logDecay = (-exp2(-arange(h, dtype: x.dtype, device: x.device) - 5)).log1p()[TensorIndex.None, .., TensorIndex.None].expand(b, h, l);
        var beta = ones(new[] { b, (long)h, l }, dtype: x.dtype, device: x.device);
        var (o, s) = GatedDelta.Apply(_o.Form, q, k, v, logDecay, beta, state?["S"], _o.ChunkSize, erase: false);
        // GroupNorm with one group per head: each head's V values normalised to zero mean and unit variance.
        var y = nn.functional.layer_norm(o.transpose(1, 2), new long[] { _dv }, eps: 1e-5) * gn_weight + gn_bias;
        y = y.reshape(b, l, h * _dv);
        y = nn.functional.silu(g_proj.forward(x)) * y;
        var next = new LayerState().With("S", s);
        if (Rope) next.WithCounter("position", position + l);
        if (cache is not null) next.With("conv", cache);
        return (o_proj.forward(y).MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }

    private bool Rope => _o.Positions == PositionEncoding.Rope;

    /// <summary>State: the memory "S" [B, H, K, V], zero; with rotary positions also the next token's position.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype)
    {
        var state = base.InitialState(batch, device, dtype);
        return Rope ? state.WithCounter("position", 0) : state;
    }
}
