using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Nn;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>Per-head inputs of the <see cref="GatedDelta"/> op for one memory.</summary>
/// <param name="Q">Queries [B, H, L, K], L2-normalised and scaled by 1/√K.</param>
/// <param name="K">Keys [B, H, L, K], L2-normalised.</param>
/// <param name="V">Values [B, H, L, V].</param>
/// <param name="LogDecay">log α [B, H, L] (0 without decay).</param>
/// <param name="Beta">Write strength β [B, H, L] (1 without a learned β).</param>
/// <param name="ConvCaches">Updated short-conv caches "q", "k", "v".</param>
public sealed record MemoryInputs(Tensor Q, Tensor K, Tensor V, Tensor LogDecay, Tensor Beta, LayerState ConvCaches);

/// <summary>
/// The input side of a matrix-memory block (Gated DeltaNet, fig. 1): q, k, v projections → short causal conv + SiLU →
/// L2-normalised q, k → β = σ(W_β x) and α = exp(−softplus(W_α x + b) · exp(A)).
/// </summary>
public sealed class MemoryFeatures : nn.Module
{
    private readonly LinearMemoryOptions _o;
    private readonly bool _decay, _writeStrength;
    private readonly int _dk, _dv;
    private readonly Linear q_proj, k_proj, v_proj;
    private readonly Linear? b_proj, a_proj;
    private readonly Parameter? A_log, dt_bias, q_conv, k_conv, v_conv;

    /// <param name="dModel">Input width.</param>
    /// <param name="options">Heads, dims and conv settings.</param>
    /// <param name="rule">Which of α and β are learned.</param>
    public MemoryFeatures(int dModel, LinearMemoryOptions options, MemoryRule rule) : base("MemoryFeatures")
    {
        _o = options;
        var (_, decay, writeStrength) = rule.Parts();
        (_decay, _writeStrength) = (decay, writeStrength);
        (_dk, _dv) = (options.KeyDimFor(dModel), options.ValueDimFor(dModel));
        int h = options.Heads;
        q_proj = nn.Linear(dModel, h * _dk, hasBias: false);
        k_proj = nn.Linear(dModel, h * _dk, hasBias: false);
        v_proj = nn.Linear(dModel, h * _dv, hasBias: false);
        if (writeStrength) b_proj = nn.Linear(dModel, h, hasBias: false);
        if (decay)
        {
            a_proj = nn.Linear(dModel, h, hasBias: false);
            // Mamba-2 / fla initialisation: A ~ U(1, 16); softplus(dt_bias) = dt log-uniform in [1e-3, 0.1].
            using var noGrad = no_grad();
            A_log = nn.Parameter(empty(h).uniform_(1, 16).log());
            var dt = (rand(h) * (Math.Log(0.1) - Math.Log(1e-3)) + Math.Log(1e-3)).exp();
            dt_bias = nn.Parameter(dt + (-(-dt).expm1()).log());
        }
        if (options.ShortConv)
        {
            q_conv = Conv(h * _dk);
            k_conv = Conv(h * _dk);
            v_conv = Conv(h * _dv);
        }
        RegisterComponents();
    }

    /// <summary>Short-conv inputs kept in the state (kernel − 1, or 0 without the conv).</summary>
    public int Cached => _o.ShortConv ? _o.ConvSize - 1 : 0;

    /// <summary>Empty conv caches "q", "k", "v" [B, kernel − 1, channels].</summary>
    public LayerState InitialCaches(long batch, Device device, ScalarType dtype) => Caches(
        zeros(new long[] { batch, Cached, _o.Heads * _dk }, dtype: dtype, device: device),
        zeros(new long[] { batch, Cached, _o.Heads * _dk }, dtype: dtype, device: device),
        zeros(new long[] { batch, Cached, _o.Heads * _dv }, dtype: dtype, device: device));

    /// <summary>Numbers in the conv caches per sequence.</summary>
    public long CacheSize => (long)Cached * _o.Heads * (2 * _dk + _dv);

    /// <summary>Op inputs for x [B, L, D], continuing the short conv from <paramref name="caches"/>.</summary>
    public MemoryInputs Compute(Tensor x, LayerState caches)
    {
        long b = x.shape[0], l = x.shape[1];
        var (q, cq) = ShortConvolution.Apply(q_proj.forward(x), q_conv, caches["q"]);
        var (k, ck) = ShortConvolution.Apply(k_proj.forward(x), k_conv, caches["k"]);
        var (v, cv) = ShortConvolution.Apply(v_proj.forward(x), v_conv, caches["v"]);
        Tensor Heads(Tensor t, int d) => HeadLayout.Split(t, _o.Heads, d);
        q = nn.functional.normalize(Heads(q, _dk), dim: -1) / Math.Sqrt(_dk);
        k = nn.functional.normalize(Heads(k, _dk), dim: -1);
        var logDecay = _decay
            ? (-A_log!.exp() * nn.functional.softplus(a_proj!.forward(x) + dt_bias!)).transpose(1, 2)
            : zeros(new[] { b, (long)_o.Heads, l }, dtype: x.dtype, device: x.device);
        var beta = _writeStrength
            ? sigmoid(b_proj!.forward(x)).transpose(1, 2)
            : ones(new[] { b, (long)_o.Heads, l }, dtype: x.dtype, device: x.device);
        return new MemoryInputs(q, k, Heads(v, _dv), logDecay, beta, Caches(cq, ck, cv));
    }

    private static LayerState Caches(Tensor q, Tensor k, Tensor v) => new LayerState().With("q", q).With("k", k).With("v", v);

    private Parameter Conv(long channels) => ShortConvolution.Weight(channels, _o.ConvSize);
}

/// <summary>The output side of a matrix-memory block: per-head RMSNorm → output gate SiLU(W_g x) → projection.</summary>
public sealed class MemoryReadout : nn.Module
{
    private readonly int _heads, _dv;
    private readonly Linear o_proj;
    private readonly Linear? g_proj;
    private readonly Parameter o_norm;

    /// <summary>Builds the readout for width <paramref name="dModel"/>.</summary>
    public MemoryReadout(int dModel, LinearMemoryOptions options) : base("MemoryReadout")
    {
        (_heads, _dv) = (options.Heads, options.ValueDimFor(dModel));
        o_proj = nn.Linear(_heads * _dv, dModel, hasBias: false);
        if (options.OutputGate) g_proj = nn.Linear(dModel, _heads * _dv, hasBias: false);
        o_norm = nn.Parameter(ones(_dv));
        RegisterComponents();
    }

    /// <summary>Read-out o [B, H, L, V] of the block input x [B, L, D] → y [B, L, D].</summary>
    public Tensor Compute(Tensor o, Tensor x)
    {
        long b = x.shape[0], l = x.shape[1];
        o = o.transpose(1, 2);                                                       // [B, L, H, V]
        o = RmsNorm.Apply(o, o_norm);                                                 // per-head RMSNorm
        if (g_proj is not null) o = o * nn.functional.silu(g_proj.forward(x).view(b, l, _heads, _dv));
        return o_proj.forward(o.reshape(b, l, _heads * _dv));
    }
}
