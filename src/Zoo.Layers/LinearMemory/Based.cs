using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>Options of <see cref="Based"/> (Taylor-feature linear attention).</summary>
/// <remarks>
/// The paper's models (and HazyResearch/based's <c>LinearAttention</c>) use feature dim d' = 16 and 16 heads of value
/// dim d_model / heads = 64 at d_model 1024. At Zoo's d_model 64 one head of value dim 64 would be the paper's head
/// dim; the default keeps d' = 16 and takes 4 heads (value dim d_model / 4), so the q/k projections stay d_model → 4·16.
/// </remarks>
public sealed record BasedOptions : IValidatableOptions
{
    /// <summary>Number of heads, each with its own (1 + d' + d'²) × value-dim state and normaliser.</summary>
    [Option("number of heads (paper 16 at d_model 1024; 4 at Zoo's widths)", Min = 1)]
    public int Heads { get; init; } = 4;

    /// <summary>Projected q/k dimension d' per head, before the Taylor feature map (1 + d' + d'² features).</summary>
    [Option("projected q/k dim d' per head before the Taylor map (1 + d' + d'² features; paper 16)", Min = 1, Max = 64)]
    public int FeatureDim { get; init; } = 16;

    /// <summary>Value dim per head; 0 means d_model / heads.</summary>
    [Option("value dim per head (0 = d_model / heads)", Min = 0)]
    public int ValueDim { get; init; }

    /// <summary>Chunk size C of the chunked form.</summary>
    [Option("chunk size C of the chunked form", Min = 1, Max = 1024)]
    public int ChunkSize { get; init; } = 64;

    /// <summary>Parallel form used by Forward.</summary>
    [Option("parallel form: chunked (the linear-attention op over expanded features) or the per-token reference loop")]
    public MemoryForm Form { get; init; } = MemoryForm.Chunked;

    /// <summary>Value dim for width <paramref name="dModel"/>.</summary>
    public int ValueDimFor(int dModel) => HeadDims.Resolve(ValueDim, dModel, Heads);

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel) => HeadDims.Check(dModel, Heads, 1, ValueDim);
}

/// <summary>
/// Based's linear attention (Arora, Eyuboglu, Zhang, Timalsina, Alberti, Zinsley, Zou, Rudra, Ré 2024, "Simple linear
/// attention language models balance the recall-throughput tradeoff", arXiv 2402.18668, §4): causal linear attention
/// with the 2nd-order Taylor feature map of exp, normalised.
/// </summary>
/// <remarks>
/// Per head, with q̃_t = W_q x_t, k̃_t = W_k x_t ∈ ℝ^{d'} and v_t = W_v x_t:
/// <list type="bullet">
/// <item>φ(x) = [1, x / d'^{1/4}, (x ⊗ x) / (√2 · √d')] ∈ ℝ^{1 + d' + d'²}, so that
/// φ(q)ᵀφ(k) = 1 + qᵀk/√d' + (qᵀk)²/(2d'), the Taylor expansion of exp(qᵀk/√d') to second order (eq. 2; the full
/// d'² outer product, as the reference code's <c>TaylorExp</c>);</item>
/// <item>y_t = Σ_{j≤t} φ(q_t)ᵀφ(k_j) v_j / (Σ_{j≤t} φ(q_t)ᵀφ(k_j) + ε) (eq. 1, causal), i.e. with
/// S_t = S_{t−1} + φ(k_t) v_tᵀ and z_t = z_{t−1} + φ(k_t): y_t = S_tᵀφ(q_t) / (φ(q_t)ᵀz_t + ε), ε = 1e-12;</item>
/// <item>out = W_o [y_t per head].</item>
/// </list>
/// φ(q)ᵀφ(k) = ½(1 + qᵀk/√d')² + ½ ≥ ½, so the denominator never vanishes. State per head: S (1 + d' + d'²) × V and
/// the normaliser z (1 + d' + d'²).
/// <para>
/// The window: the paper's Based model is a stack of separate mixer layers — Taylor linear attention layers, small
/// sliding-window softmax attention layers (window 64) and short gated convolutions (BaseConv) — interleaved by layer
/// index (HazyResearch/based's configs; fla's <c>BasedLinearAttention</c> is likewise only the linear attention). Zoo
/// keeps that factorisation: <c>based</c> is the Taylor linear attention layer, and the paper's block pattern is a
/// hybrid stack, e.g. <c>"stack": ["based", {"layer": "attention", "options": {"window": 16}}]</c> (window 64 scaled to
/// Zoo's lengths). One layer summing both parts would be a block the paper does not have.
/// </para>
/// <para>
/// Forms: <see cref="MemoryForm.Chunked"/> runs the shared linear-attention op (<see cref="GatedDelta"/> with erase =
/// false, decay 0, β = 1) over the expanded features with the value vector extended by a 1, so the op's last value
/// column is the normaliser φ(q)ᵀz; <see cref="MemoryForm.Reference"/> is <see cref="Reference"/>, the per-token loop
/// above, written out on its own.
/// </para>
/// </remarks>
[ZooLayer("based", typeof(BasedOptions), Summary = "Based (Arora et al. 2024): linear attention with the 2nd-order Taylor feature map of exp, normalised")]
[ContractCase("{}")]
[ContractCase("{\"heads\": 2, \"feature_dim\": 3, \"chunk_size\": 4}")]
[ContractCase("{\"heads\": 2, \"feature_dim\": 3, \"value_dim\": 5, \"form\": \"reference\"}")]
public sealed class Based : SequenceLayer
{
    private const double Eps = 1e-12;
    private readonly BasedOptions _o;
    private readonly int _dv, _features;
    private readonly Linear q_proj, k_proj, v_proj, o_proj;

    /// <summary>Builds the layer.</summary>
    public Based(int dModel, BasedOptions options) : base("Based", dModel)
    {
        _o = options;
        _dv = options.ValueDimFor(dModel);
        int d = options.FeatureDim;
        _features = 1 + d + d * d;
        q_proj = nn.Linear(dModel, options.Heads * d, hasBias: false);
        k_proj = nn.Linear(dModel, options.Heads * d, hasBias: false);
        v_proj = nn.Linear(dModel, options.Heads * _dv, hasBias: false);
        o_proj = nn.Linear(options.Heads * _dv, dModel, hasBias: false);
        RegisterComponents();
    }

    /// <summary>State: "S" [B, H, F, V] = Σ φ(k) vᵀ and the normaliser "z" [B, H, F] = Σ φ(k), F = 1 + d' + d'², zero.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        new LayerState().With("S", zeros(new long[] { batch, _o.Heads, _features, _dv }, dtype: dtype, device: device))
                        .With("z", zeros(new long[] { batch, _o.Heads, _features }, dtype: dtype, device: device));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => Run(x, state, _o.Form);

    /// <summary>One token: the per-token form on a segment of length 1.</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) =>
        AsOneToken(x, t => Run(t, state, MemoryForm.Reference));

    /// <summary>H · (1 + d' + d'²) · (V + 1): the memory and its normaliser.</summary>
    public override long StateSize(long sequenceLength) => (long)_o.Heads * _features * (_dv + 1);

    /// <summary>The Taylor feature map φ(x) = [1, x / d'^{1/4}, (x ⊗ x) / √(2d')] over the last dimension.</summary>
    public static Tensor TaylorFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        long d = x.shape[^1];
        var outer = (x.unsqueeze(-1) * x.unsqueeze(-2)).flatten(-2) / Math.Sqrt(2.0 * d);
        return cat(new[] { ones_like(x[TensorIndex.Ellipsis, ..1]), x / Math.Pow(d, 0.25), outer }, -1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The definition, token by token: S_t = S_{t−1} + φ_k,t v_tᵀ, z_t = z_{t−1} + φ_k,t, y_t = S_tᵀφ_q,t / (φ_q,tᵀ z_t + ε).
    /// Shapes: features φ_q, φ_k [B, H, L, F]; v [B, H, L, V]; S [B, H, F, V]; z [B, H, F].
    /// </summary>
    public static (Tensor Output, Tensor S, Tensor Z) Reference(Tensor phiQ, Tensor phiK, Tensor v, Tensor s, Tensor z)
    {
        using var scope = NewDisposeScope();
        var (qs, ks, vs) = (phiQ.unbind(2), phiK.unbind(2), v.unbind(2));
        var outputs = new Tensor[qs.Length];
        for (int t = 0; t < qs.Length; t++)
        {
            s = s + ks[t].unsqueeze(-1).matmul(vs[t].unsqueeze(-2));                      // S + φ(k_t) v_tᵀ
            z = z + ks[t];                                                                 // z + φ(k_t)
            var numerator = qs[t].unsqueeze(-2).matmul(s).squeeze(-2);                     // S_tᵀ φ(q_t)  [B, H, V]
            var denominator = (qs[t] * z).sum(-1, keepdim: true) + Eps;                     // φ(q_t)ᵀ z_t   [B, H, 1]
            outputs[t] = numerator / denominator;
        }
        return (stack(outputs, 2).MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope(), z.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The same over a segment with the linear-attention op (no decay, no erase): the values extended by a 1 make the op's
    /// state [S | z] and its last output column the denominator.
    /// </summary>
    public static (Tensor Output, Tensor S, Tensor Z) Chunked(Tensor phiQ, Tensor phiK, Tensor v, Tensor s, Tensor z, int chunkSize)
    {
        using var scope = NewDisposeScope();
        long b = v.shape[0], h = v.shape[1], l = v.shape[2], dv = v.shape[3];
        var vOne = cat(new[] { v, ones(new[] { b, h, l, 1L }, dtype: v.dtype, device: v.device) }, -1);
        var noDecay = zeros(new[] { b, h, l }, dtype: v.dtype, device: v.device);
        var beta = ones(new[] { b, h, l }, dtype: v.dtype, device: v.device);
        var (o, sz) = GatedDelta.Chunked(phiQ, phiK, vOne, noDecay, beta, cat(new[] { s, z.unsqueeze(-1) }, -1), chunkSize, erase: false);
        var y = o[TensorIndex.Ellipsis, ..(int)dv] / (o[TensorIndex.Ellipsis, (int)dv..] + Eps);
        return (y.MoveToOuterDisposeScope(), sz[TensorIndex.Ellipsis, ..(int)dv].contiguous().MoveToOuterDisposeScope(),
                sz[TensorIndex.Ellipsis, -1].contiguous().MoveToOuterDisposeScope());
    }

    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state, MemoryForm form)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        int h = _o.Heads;
        state ??= InitialState(b, x.device, x.dtype);
        var phiQ = TaylorFeatures(HeadLayout.Split(q_proj.forward(x), h, _o.FeatureDim));
        var phiK = TaylorFeatures(HeadLayout.Split(k_proj.forward(x), h, _o.FeatureDim));
        var v = HeadLayout.Split(v_proj.forward(x), h, _dv);
        var (o, s, z) = form == MemoryForm.Reference || l == 1
            ? Reference(phiQ, phiK, v, state["S"], state["z"])
            : Chunked(phiQ, phiK, v, state["S"], state["z"], (int)Math.Min(_o.ChunkSize, l));   // a segment shorter than a chunk is one chunk, unpadded
        var y = o_proj.forward(o.transpose(1, 2).reshape(b, l, h * _dv));
        return (y.MoveToOuterDisposeScope(), new LayerState().With("S", s).With("z", z).MoveToOuterDisposeScope());
    }
}
