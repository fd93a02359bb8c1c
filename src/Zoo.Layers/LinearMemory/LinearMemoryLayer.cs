using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// Shared body of the matrix-memory layers, after the Gated DeltaNet block (Yang et al. 2024, fig. 1; fla's
/// <c>GatedDeltaNet</c>): q, k, v projections → short causal conv + SiLU → L2-normalised q, k (q scaled by 1/√K) →
/// the <see cref="GatedDelta"/> op with per-token β = σ(W_β x) and α = exp(−softplus(W_α x + b) · exp(A)) →
/// per-head RMSNorm → output gate SiLU(W_g x) → output projection. Subclasses choose the update rule
/// (delta or additive) and which of α and β are learned.
/// </summary>
/// <remarks>
/// State: the memory S [B, H, K, V] and the short conv's last (kernel − 1) inputs for q, k and v, so a sequence can
/// be processed in segments or token by token. <see cref="Step"/> runs the per-token recurrence; Forward runs the
/// chunked form (or the reference loop, by option).
/// </remarks>
public abstract class LinearMemoryLayer : SequenceLayer
{
    private readonly LinearMemoryOptions _o;
    private readonly bool _erase, _decay, _writeStrength;
    private readonly int _dk, _dv;
    private readonly Linear q_proj, k_proj, v_proj, o_proj;
    private readonly Linear? b_proj, a_proj, g_proj;
    private readonly Parameter? A_log, dt_bias, q_conv, k_conv, v_conv;
    private readonly Parameter o_norm;

    /// <param name="name">Module name.</param>
    /// <param name="dModel">Layer width.</param>
    /// <param name="options">Shared options.</param>
    /// <param name="erase">Delta rule (true) or additive write (false).</param>
    /// <param name="decay">Learn a data-dependent decay α (false: α = 1).</param>
    /// <param name="writeStrength">Learn a data-dependent write strength β (false: β = 1).</param>
    protected LinearMemoryLayer(string name, int dModel, LinearMemoryOptions options, bool erase, bool decay, bool writeStrength)
        : base(name, dModel)
    {
        _o = options;
        (_erase, _decay, _writeStrength) = (erase, decay, writeStrength);
        (_dk, _dv) = (options.KeyDimFor(dModel), options.ValueDimFor(dModel));
        int h = options.Heads;
        q_proj = nn.Linear(dModel, h * _dk, hasBias: false);
        k_proj = nn.Linear(dModel, h * _dk, hasBias: false);
        v_proj = nn.Linear(dModel, h * _dv, hasBias: false);
        o_proj = nn.Linear(h * _dv, dModel, hasBias: false);
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
        if (options.OutputGate) g_proj = nn.Linear(dModel, h * _dv, hasBias: false);
        if (options.ShortConv)
        {
            Parameter Conv(long channels)
            {
                var bound = 1.0 / Math.Sqrt(options.ConvSize);
                using var noGrad = no_grad();
                return nn.Parameter(empty(channels, 1, options.ConvSize).uniform_(-bound, bound));
            }
            q_conv = Conv(h * _dk);
            k_conv = Conv(h * _dk);
            v_conv = Conv(h * _dv);
        }
        o_norm = nn.Parameter(ones(_dv));
        RegisterComponents();
    }

    /// <summary>The options this layer was built with.</summary>
    public LinearMemoryOptions Options => _o;

    private int Cached => _o.ShortConv ? _o.ConvSize - 1 : 0;

    /// <summary>State parts: S [B, H, K, V], then the q, k, v conv caches [B, kernel − 1, channels].</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        new(zeros(new long[] { batch, _o.Heads, _dk, _dv }, dtype: dtype, device: device),
            zeros(new long[] { batch, Cached, _o.Heads * _dk }, dtype: dtype, device: device),
            zeros(new long[] { batch, Cached, _o.Heads * _dk }, dtype: dtype, device: device),
            zeros(new long[] { batch, Cached, _o.Heads * _dv }, dtype: dtype, device: device));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null)
    {
        using var scope = NewDisposeScope();
        state ??= InitialState(x.shape[0], x.device, x.dtype);
        var (q, k, v, logDecay, beta, caches) = Features(x, state);
        var (o, s) = _o.Form == MemoryForm.Chunked
            ? GatedDelta.Chunked(q, k, v, logDecay, beta, state[0], _o.ChunkSize, _erase)
            : GatedDelta.Reference(q, k, v, logDecay, beta, state[0], _erase);
        var y = Output(o, x);
        var next = new LayerState(s, caches[0], caches[1], caches[2]).MoveToOuterDisposeScope();
        return (y.MoveToOuterDisposeScope(), next);
    }

    /// <summary>One token through the per-token recurrence (the reference form with L = 1).</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state)
    {
        using var scope = NewDisposeScope();
        var xt = x.unsqueeze(1);
        var (q, k, v, logDecay, beta, caches) = Features(xt, state);
        var (o, s) = GatedDelta.Reference(q, k, v, logDecay, beta, state[0], _erase);
        var y = Output(o, xt).squeeze(1);
        var next = new LayerState(s, caches[0], caches[1], caches[2]).MoveToOuterDisposeScope();
        return (y.MoveToOuterDisposeScope(), next);
    }

    /// <summary>Memory H·K·V plus the conv caches.</summary>
    public override long StateSize(long sequenceLength) =>
        (long)_o.Heads * _dk * _dv + (long)Cached * _o.Heads * (2 * _dk + _dv);

    // x [B, L, D] → per-head q, k [B, H, L, K], v [B, H, L, V], log α and β [B, H, L], and the updated conv caches.
    private (Tensor Q, Tensor K, Tensor V, Tensor LogDecay, Tensor Beta, Tensor[] Caches) Features(Tensor x, LayerState state)
    {
        long b = x.shape[0], l = x.shape[1];
        var (q, cq) = ShortConv(q_proj.forward(x), q_conv, state[1]);
        var (k, ck) = ShortConv(k_proj.forward(x), k_conv, state[2]);
        var (v, cv) = ShortConv(v_proj.forward(x), v_conv, state[3]);
        Tensor Heads(Tensor t, int d) => t.view(b, l, _o.Heads, d).transpose(1, 2);
        q = nn.functional.normalize(Heads(q, _dk), dim: -1) / Math.Sqrt(_dk);
        k = nn.functional.normalize(Heads(k, _dk), dim: -1);
        v = Heads(v, _dv);
        var logDecay = _decay
            ? (-A_log!.exp() * nn.functional.softplus(a_proj!.forward(x) + dt_bias!)).transpose(1, 2)
            : zeros(new[] { b, (long)_o.Heads, l }, dtype: x.dtype, device: x.device);
        var beta = _writeStrength
            ? sigmoid(b_proj!.forward(x)).transpose(1, 2)
            : ones(new[] { b, (long)_o.Heads, l }, dtype: x.dtype, device: x.device);
        return (q, k, v, logDecay, beta, new[] { cq, ck, cv });
    }

    // Causal depthwise conv over time, continuing from the cached last inputs; then SiLU.
    private (Tensor Output, Tensor Cache) ShortConv(Tensor u, Parameter? weight, Tensor cache)
    {
        if (weight is null) return (u, cache.alias());
        var full = cat(new[] { cache, u }, 1);                                       // [B, kernel − 1 + L, C]
        var y = nn.functional.conv1d(full.transpose(1, 2), weight, groups: weight.shape[0]).transpose(1, 2);
        return (nn.functional.silu(y), full[.., (int)(full.shape[1] - Cached)..].contiguous());
    }

    private Tensor Output(Tensor o, Tensor x)
    {
        long b = x.shape[0], l = x.shape[1];
        o = o.transpose(1, 2);                                                       // [B, L, H, V]
        o = o * rsqrt(o.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-6) * o_norm;
        if (g_proj is not null) o = o * nn.functional.silu(g_proj.forward(x).view(b, l, _o.Heads, _dv));
        return o_proj.forward(o.reshape(b, l, _o.Heads * _dv));
    }
}
