using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Nn;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>Options of <see cref="Hgrn2"/>.</summary>
/// <remarks>
/// The paper expands each recurrent dimension by 128 (heads = d_model / 128) for d_model ≥ 1024; at Zoo's d_model 64
/// the default expand ratio is 16: 4 heads, a state of d_model · 16 = 1,024 numbers.
/// </remarks>
public sealed record Hgrn2Options : IValidatableOptions
{
    /// <summary>State expansion n: key dim per head; heads = d_model / n, value dim per head n.</summary>
    [Option("state expansion: key (and value) dim per head; heads = d_model / expand_ratio", Min = 1)]
    public int ExpandRatio { get; init; } = 16;

    /// <summary>Lower bound γ of the forget gate f = γ + (1 − γ) σ(x W_f).</summary>
    [Option("lower bound γ of the forget gate f = γ + (1 − γ) σ(x W_f)", Min = 0, Max = 0.999)]
    public double LowerBound { get; init; }

    /// <summary>Chunk size of the chunked form.</summary>
    [Option("chunk size of the chunked form", Min = 1, Max = 256)]
    public int ChunkSize { get; init; } = 16;

    /// <summary>Parallel form used by Forward.</summary>
    [Option("parallel form: chunked or the per-token reference loop")]
    public MemoryForm Form { get; init; } = MemoryForm.Chunked;

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (dModel > 0 && dModel % ExpandRatio != 0)
            yield return ("expand_ratio", $"d_model {dModel} is not divisible by expand_ratio {ExpandRatio}; allowed: a divisor of {dModel}");
    }
}

/// <summary>
/// HGRN2 (Qin, Yang, Sun, Shen, Li, Sun, Zhong 2024, "HGRN2: Gated Linear RNNs with State Expansion", arXiv 2404.07904,
/// §3): the HGRN recurrence with its element-wise state expanded by an outer product, the forget gate's complement
/// serving as the key.
/// </summary>
/// <remarks>
/// Per head (key dim n = expand ratio, value dim d_model / heads): f_t = γ + (1 − γ) σ(x_t W_f) ∈ (γ, 1)^n,
/// i_t = x_t W_i, q_t = Swish(x_t W_q) / √n;
/// S_t = diag(f_t) S_(t−1) + (1 − f_t) i_tᵀ, o_t = S_tᵀ q_t; y = RMSNorm(o) W_O.
/// That is gated linear attention with a decay per key dimension (k = 1 − f, log α = log f), computed by the
/// <see cref="GatedLinearAttention"/> op. In the paper γ is a per-layer lower bound that grows with depth
/// (a cumulative softmax over layers); Zoo's layers do not know their depth, so γ is an option (0, the first layer's
/// bound, by default). The 1/√n query scale and the RMSNorm over the whole output follow fla's HGRN2.
/// </remarks>
[ZooLayer("hgrn2", typeof(Hgrn2Options), Summary = "HGRN2: gated linear RNN with outer-product state expansion, key = 1 − forget gate (Qin et al. 2024)")]
[ContractCase("{\"expand_ratio\": 4}")]
[ContractCase("{\"expand_ratio\": 3, \"chunk_size\": 4, \"lower_bound\": 0.5}")]
[ContractCase("{\"expand_ratio\": 6, \"form\": \"reference\"}")]
public sealed class Hgrn2 : MatrixMemoryLayer
{
    private readonly Hgrn2Options _o;
    private readonly int _heads, _dk, _dv;
    private readonly Linear q_proj, f_proj, i_proj, o_proj;
    private readonly Parameter o_norm;

    /// <summary>Builds the layer.</summary>
    public Hgrn2(int dModel, Hgrn2Options options) : base("Hgrn2", dModel)
    {
        _o = options;
        _dk = options.ExpandRatio;
        _heads = dModel / _dk;
        _dv = dModel / _heads;
        q_proj = nn.Linear(dModel, dModel, hasBias: false);
        f_proj = nn.Linear(dModel, dModel, hasBias: false);
        i_proj = nn.Linear(dModel, dModel, hasBias: false);
        o_proj = nn.Linear(dModel, dModel, hasBias: false);
        o_norm = nn.Parameter(ones(dModel));
        RegisterComponents();
    }

    /// <inheritdoc />
    protected override (int Heads, int KeyDim, int ValueDim) MemoryShape => (_heads, _dk, _dv);

    /// <inheritdoc />
    protected override (Tensor Output, LayerState State) Run(Tensor x, LayerState? state)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        var q = HeadLayout.Split(nn.functional.silu(q_proj.forward(x)), _heads, _dk) / Math.Sqrt(_dk);
        var fLogit = HeadLayout.Split(f_proj.forward(x), _heads, _dk);
        double gamma = _o.LowerBound;
        // log f with f = γ + (1 − γ) σ(·); logsigmoid when γ = 0 keeps log f accurate for f near 0.
        var logF = gamma == 0 ? nn.functional.logsigmoid(fLogit) : (gamma + (1 - gamma) * sigmoid(fLogit)).log();
        var k = -logF.expm1();                                                        // 1 − f
        var v = HeadLayout.Split(i_proj.forward(x), _heads, _dv);
        var (o, s) = GatedLinearAttention.Apply(_o.Form, q, k, v, logF, state?["S"], _o.ChunkSize);
        var y = RmsNorm.Apply(o.transpose(1, 2).reshape(b, l, DModel), o_norm);
        return (o_proj.forward(y).MoveToOuterDisposeScope(), new LayerState().With("S", s).MoveToOuterDisposeScope());
    }
}
