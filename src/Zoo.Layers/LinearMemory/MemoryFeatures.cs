using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Nn;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// Per-head inputs of the <see cref="GatedDelta"/> op for one memory (or M memories sharing the query). H is the
/// number of value heads (<see cref="LinearMemoryOptions.ValueHeadCount"/>); with grouped value heads q and k are
/// repeated to it.
/// </summary>
/// <param name="Q">Queries [B, H, L, K], L2-normalised and scaled by 1/√K; shared by all M memories.</param>
/// <param name="K">Keys [B, M·H, L, K], L2-normalised (head m·H + h is head h of memory m).</param>
/// <param name="V">Values [B, M·H, L, V].</param>
/// <param name="LogDecay">log α [B, M·H, L] (0 without decay).</param>
/// <param name="Beta">Write strength β [B, M·H, L] (1 without a learned β).</param>
/// <param name="ConvCaches">Updated short-conv caches "q", "k", "v".</param>
public sealed record MemoryInputs(Tensor Q, Tensor K, Tensor V, Tensor LogDecay, Tensor Beta, LayerState ConvCaches);

/// <summary>
/// The input side of a matrix-memory block (Gated DeltaNet, fig. 1): q, k, v projections → short causal conv + SiLU →
/// L2-normalised q, k → β = σ(W_β x) and α = exp(−softplus(W_α x + b) · exp(A)).
/// </summary>
/// <remarks>
/// With <c>memories</c> M &gt; 1 it is the input side of M memories in the form of Mixture-of-Memories' reference (fla's
/// <c>mom</c> layer): the q projection, the three short-conv kernels and the decay parameters A_log, dt_bias are shared,
/// while k, v, α and β have one projection per memory. M = 1 is the single-memory block, parameters unchanged.
/// </remarks>
public sealed class MemoryFeatures : nn.Module
{
    private readonly LinearMemoryOptions _o;
    private readonly bool _decay, _writeStrength, _sharedConv;
    private readonly int _dk, _dv, _memories, _valueHeads;
    private readonly Linear q_proj, k_proj, v_proj;
    private readonly Linear? b_proj, a_proj;
    private readonly Parameter? A_log, dt_bias, q_conv, k_conv, v_conv;

    /// <param name="dModel">Input width.</param>
    /// <param name="options">Heads, dims and conv settings.</param>
    /// <param name="rule">Which of α and β are learned.</param>
    /// <param name="memories">Memories M sharing the q projection, short-conv kernels and decay parameters.</param>
    /// <param name="sharedConv">With M &gt; 1: one k and one v conv kernel shared by the M memories (MoM's), or false
    /// for a kernel per memory's channels (Gated DeltaProduct's, whose M Householder steps fla convolves separately).</param>
    public MemoryFeatures(int dModel, LinearMemoryOptions options, MemoryRule rule, int memories = 1, bool sharedConv = true) : base("MemoryFeatures")
    {
        _memories = memories;
        _sharedConv = sharedConv;
        _o = options;
        var (_, decay, writeStrength) = rule.Parts();
        (_decay, _writeStrength) = (decay, writeStrength);
        (_dk, _dv) = (options.KeyDimFor(dModel), options.ValueDimFor(dModel));
        _valueHeads = options.ValueHeadCount;
        // Value heads (grouped value attention) carry the value side: v, β, α and their parameters; q and k have H heads.
        int h = options.Heads, mh = memories * h, vh = _valueHeads, mvh = memories * vh;
        q_proj = nn.Linear(dModel, h * _dk, hasBias: false);
        k_proj = nn.Linear(dModel, mh * _dk, hasBias: false);
        v_proj = nn.Linear(dModel, mvh * _dv, hasBias: false);
        if (writeStrength) b_proj = nn.Linear(dModel, mvh, hasBias: false);
        if (decay)
        {
            a_proj = nn.Linear(dModel, mvh, hasBias: false);
            // Mamba-2 initialisation: A ~ U(a_init_min, 16) (1 by default; fla: 0); softplus(dt_bias) = dt log-uniform in [1e-3, 0.1].
            using var noGrad = no_grad();
            A_log = nn.Parameter(MambaDecayInit.ALog(vh, min: options.AInitMin));
            dt_bias = nn.Parameter(MambaDecayInit.DtBias(vh));
        }
        if (options.ShortConv)
        {
            q_conv = Conv(h * _dk);
            int convCopies = sharedConv ? 1 : memories;
            k_conv = Conv(convCopies * h * _dk);
            v_conv = Conv(convCopies * vh * _dv);
        }
        if (options.WeightInit == WeightInit.Normal)
            FlaInit.Normal(new[] { q_proj.weight!, k_proj.weight!, v_proj.weight!, b_proj?.weight, a_proj?.weight, q_conv, k_conv, v_conv });
        RegisterComponents();
    }

    /// <summary>Short-conv inputs kept in the state (kernel − 1, or 0 without the conv).</summary>
    public int Cached => _o.ShortConv ? _o.ConvSize - 1 : 0;

    /// <summary>Empty conv caches "q", "k", "v" [B, kernel − 1, channels] (k and v: channels of all M memories).</summary>
    public LayerState InitialCaches(long batch, Device device, ScalarType dtype) => Caches(
        zeros(new long[] { batch, Cached, _o.Heads * _dk }, dtype: dtype, device: device),
        zeros(new long[] { batch, Cached, (long)_memories * _o.Heads * _dk }, dtype: dtype, device: device),
        zeros(new long[] { batch, Cached, (long)_memories * _valueHeads * _dv }, dtype: dtype, device: device));

    /// <summary>Numbers in the conv caches per sequence.</summary>
    public long CacheSize => (long)Cached * (_o.Heads * _dk * (1L + _memories) + (long)_memories * _valueHeads * _dv);

    /// <summary>Op inputs for x [B, L, D], continuing the short conv from <paramref name="caches"/>.</summary>
    public MemoryInputs Compute(Tensor x, LayerState caches)
    {
        long b = x.shape[0], l = x.shape[1];
        int h = _o.Heads, mh = _memories * h, mvh = _memories * _valueHeads, group = _valueHeads / h;
        // q, k and v as one projection and one conv; k and v carry the M memories' channels over one shared kernel each.
        var (f, c) = ShortConvolution.Project(x, new Tensor[] { q_proj.weight!, k_proj.weight!, v_proj.weight! },
            _o.ShortConv ? new Tensor[] { q_conv!, PerMemoryConv(k_conv!), PerMemoryConv(v_conv!) } : null,
            new[] { caches["q"], caches["k"], caches["v"] });
        // fla applies the SiLU even without the conv (silu_without_conv); Zoo's default drops conv and activation together.
        if (!_o.ShortConv && _o.SiluWithoutConv) f = Array.ConvertAll(f, t => nn.functional.silu(t));
        var (q, k, v) = (f[0], f[1], f[2]);
        q = L2Norm(q.view(b, l, h, _dk), 1.0 / Math.Sqrt(_dk)).transpose(1, 2);
        k = L2Norm(k.view(b, l, mh, _dk), 1.0).transpose(1, 2);
        // Grouped value heads: value head h·g + j (of memory m) reads and writes through q/k head h (fla's repeat).
        if (group > 1) (q, k) = (q.repeat_interleave(group, dim: 1), k.repeat_interleave(group, dim: 1));
        // Head m·H + h of memory m uses the shared decay parameters of head h.
        var logDecay = _decay
            ? (-PerMemory(A_log!).exp() * nn.functional.softplus(a_proj!.forward(x) + PerMemory(dt_bias!))).transpose(1, 2)
            : zeros(new[] { b, (long)mvh, l }, dtype: x.dtype, device: x.device);
        var beta = _writeStrength
            ? (_o.AllowNegEigval ? 2 * sigmoid(b_proj!.forward(x)) : sigmoid(b_proj!.forward(x))).transpose(1, 2)
            : ones(new[] { b, (long)mvh, l }, dtype: x.dtype, device: x.device);
        return new MemoryInputs(q, k, HeadLayout.Split(v, mvh, _dv), logDecay, beta, Caches(c[0], c[1], c[2]));
    }

    // A parameter of the H shared heads (or their channels), tiled over the M memories; M = 1 passes it through.
    private Tensor PerMemory(Tensor shared)
    {
        if (_memories == 1) return shared;
        var times = new long[shared.dim()];
        Array.Fill(times, 1L);
        times[0] = _memories;
        return shared.repeat(times);
    }

    // A k or v conv kernel over the M memories' channels: tiled when shared, as it is otherwise.
    private Tensor PerMemoryConv(Tensor kernel) => _sharedConv ? PerMemory(kernel) : kernel;

    // fla's l2norm, x / √(Σx² + 1e-6) (times scale), over heads [B, L, H, d]: the eps inside the root, as fla has it,
    // so a port of fla weights gives fla's numbers (F.normalize's max(‖x‖, 1e-12) differs by ~1e-6 relative).
    private static Tensor L2Norm(Tensor x, double scale) =>
        x * (x.pow(2).sum(-1, keepdim: true) + 1e-6).rsqrt().mul(scale);

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
        (_heads, _dv) = (options.ValueHeadCount, options.ValueDimFor(dModel));
        o_proj = nn.Linear(_heads * _dv, dModel, hasBias: false);
        if (options.OutputGate) g_proj = nn.Linear(dModel, _heads * _dv, hasBias: false);
        o_norm = nn.Parameter(ones(_dv));
        if (options.WeightInit == WeightInit.Normal) FlaInit.Normal(new[] { o_proj.weight!, g_proj?.weight });
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

/// <summary>fla's weight initialisation for the matrix-memory blocks (<see cref="WeightInit.Normal"/>).</summary>
internal static class FlaInit
{
    /// <summary>N(0, 0.02) in place for every given weight (nulls, for parts a block lacks, are skipped).</summary>
    public static void Normal(IEnumerable<Tensor?> weights)
    {
        using var noGrad = no_grad();
        foreach (var w in weights) w?.normal_(0, 0.02);
    }
}
