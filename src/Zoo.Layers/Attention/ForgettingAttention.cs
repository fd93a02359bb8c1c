using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Nn;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.Attention;

/// <summary>Form of <see cref="ForgettingAttention"/>'s forward.</summary>
public enum ForgettingAttentionForm
{
    /// <summary>Masked softmax over the L × (cache + L) logits plus the forget bias D, as batched matmuls.</summary>
    Parallel,
    /// <summary>Per-token loop: decay the cache's biases, append the key, attend (the recurrent form).</summary>
    Reference,
}

/// <summary>Options of <see cref="ForgettingAttention"/>.</summary>
/// <remarks>
/// Defaults are the paper's basic FoX (the reference code's <c>ForgettingAttentionLayer</c> defaults: no RoPE, full
/// data-dependent forget gate with bias initialised to 0, no output gate/norm, no QK-norm, no shifts). The paper's
/// head dim is 64 (e.g. 24 heads at d_model 1536); at Zoo's d_model 64 that is 1 head, as <c>attention</c>'s default.
/// "FoX (Pro)" is <c>{"output_gate": true, "output_norm": true, "qk_norm": true, "kv_shift": true}</c>.
/// </remarks>
public sealed record ForgettingAttentionOptions : IValidatableOptions
{
    /// <summary>Number of heads, each with its own forget gate; d_model must be divisible by it.</summary>
    [Option("number of heads, each with its own forget gate (d_model must be divisible by it)", Min = 1)]
    public int Heads { get; init; } = 1;

    /// <summary>Pro: output gate o ⊙ σ(W_g x) before the output projection.</summary>
    [Option("Pro block: sigmoid output gate σ(W_g x)")]
    public bool OutputGate { get; init; }

    /// <summary>Pro: per-head RMSNorm of the attention output (before the gate).</summary>
    [Option("Pro block: per-head RMSNorm of the attention output")]
    public bool OutputNorm { get; init; }

    /// <summary>Pro: per-head RMSNorm of q and k (QK-norm), gains per channel and head.</summary>
    [Option("Pro block: per-head RMSNorm of q and k")]
    public bool QkNorm { get; init; }

    /// <summary>Pro: data-dependent shift of k and v, k'_t = α_t k_{t−1} + (1 − α_t) k_t, α_t = σ(W_α x_t) per head.</summary>
    [Option("Pro block: data-dependent key/value shift (KV-shift) with the previous token")]
    public bool KvShift { get; init; }

    /// <summary>Parallel form used by Forward.</summary>
    [Option("parallel form: parallel (masked softmax over L × L) or the per-token reference loop")]
    public ForgettingAttentionForm Form { get; init; } = ForgettingAttentionForm.Parallel;

    /// <summary>
    /// Initial bias b_f of the forget gate. The reference code's 0 starts every gate near ½, so a key 60 tokens back
    /// carries a logit bias near −42 and its softmax weight, and with it the gradient that could raise f, is ≈ 0;
    /// b_f = 4 starts at f ≈ 0.98 (bias ≈ −1.1 at 60 tokens), the regime of the paper's long-decay heads.
    /// </summary>
    [Option("initial bias b_f of the forget gate f = σ(w_fᵀx + b_f) (reference code: 0, f ≈ ½ at start)", AddedLater = true)]
    public double ForgetBias { get; init; }

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (dModel > 0 && dModel % Heads != 0)
            yield return ("heads", $"d_model {dModel} is not divisible by heads {Heads}; allowed: a divisor of {dModel}");
    }
}

/// <summary>
/// Forgetting Attention, the token mixer of the Forgetting Transformer (Lin, Nikishin, He, Courville 2025, "Forgetting
/// Transformer: Softmax Attention with a Forget Gate", arXiv 2503.02130, §2): causal softmax attention whose logits are
/// down-weighted by a data-dependent forget gate.
/// </summary>
/// <remarks>
/// Per head, with q_i, k_i, v_i the projections of x_i and a scalar forget gate f_t = σ(w_fᵀ x_t + b_f) (eq. 5):
/// <list type="bullet">
/// <item>o_i = Σ_{j≤i} F_ij exp(q_iᵀk_j/√d) v_j / Σ_{j≤i} F_ij exp(q_iᵀk_j/√d), F_ij = Π_{l=j+1}^{i} f_l (eq. 6);</item>
/// <item>in matrix form O = softmax(QKᵀ/√d + D) V with D_ij = log F_ij = c_i − c_j for j ≤ i (−∞ otherwise),
/// c_i = Σ_{l≤i} log f_l (eq. 7–8).</item>
/// </list>
/// No position encoding (FoX needs none: the forget gate carries position). Optional parts of the "Pro" block (§3):
/// QK-norm, KV-shift, output norm and output gate: o ← RMSNorm_h(o) ⊙ σ(W_g x), then W_o.
/// <para>
/// State: the K and V caches [B, H, P, d] and, per cached key j, its bias to the next query's position without that
/// query's gate, "log_f" [B, H, P] = Σ_{l=j+1}^{now} log f_l (so D for a new query i is c_i + log_f_j, with c the
/// segment's own cumulative log-gates: no absolute cumulative sum is carried, which would lose float precision as it
/// grows); with KV-shift also the previous token's unshifted k and v. It grows with L like attention's KV cache.
/// </para>
/// </remarks>
[ZooLayer("forgetting-attention", typeof(ForgettingAttentionOptions), Summary = "Forgetting Transformer (FoX, Lin et al. 2025): softmax attention with a data-dependent forget gate on the logits")]
[ContractCase("{}")]
[ContractCase("{\"heads\": 2}")]
[ContractCase("{\"heads\": 2, \"form\": \"reference\"}")]
[ContractCase("{\"heads\": 2, \"output_gate\": true, \"output_norm\": true, \"qk_norm\": true, \"kv_shift\": true}")]
public sealed class ForgettingAttention : SequenceLayer
{
    private readonly ForgettingAttentionOptions _o;
    private readonly int _headDim;
    private readonly Linear qkv, proj, fgate;
    private readonly Linear? ogate, shift;
    private readonly Parameter? q_norm, k_norm, out_norm;

    /// <summary>Builds the layer.</summary>
    public ForgettingAttention(int dModel, ForgettingAttentionOptions options) : base("ForgettingAttention", dModel)
    {
        _o = options;
        int h = options.Heads;
        _headDim = dModel / h;
        qkv = nn.Linear(dModel, 3L * dModel, hasBias: false);   // q, k, v as attention's (same layout, no RoPE)
        proj = nn.Linear(dModel, dModel, hasBias: false);
        fgate = nn.Linear(dModel, h, hasBias: true);
        using (no_grad()) fgate.bias!.fill_(options.ForgetBias); // the reference code's 0: f ≈ σ(w_fᵀx) ≈ ½ at start
        if (options.OutputGate) ogate = nn.Linear(dModel, dModel, hasBias: false);
        if (options.KvShift) shift = nn.Linear(dModel, 2L * h, hasBias: false);   // α for k and for v, per head
        if (options.QkNorm) (q_norm, k_norm) = (nn.Parameter(ones(h, _headDim)), nn.Parameter(ones(h, _headDim)));
        if (options.OutputNorm) out_norm = nn.Parameter(ones(h, _headDim));
        RegisterComponents();
    }

    /// <summary>State: empty caches "k", "v" [B, H, 0, d] and "log_f" [B, H, 0]; with KV-shift "k_prev", "v_prev" [B, D] = 0.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype)
    {
        var s = new LayerState()
            .With("k", zeros(batch, _o.Heads, 0, _headDim, dtype: dtype, device: device))
            .With("v", zeros(batch, _o.Heads, 0, _headDim, dtype: dtype, device: device))
            .With("log_f", zeros(batch, _o.Heads, 0, dtype: dtype, device: device));
        if (shift is not null)
            s = s.With("k_prev", zeros(batch, DModel, dtype: dtype, device: device)).With("v_prev", zeros(batch, DModel, dtype: dtype, device: device));
        return s;
    }

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => Run(x, state, _o.Form);

    /// <summary>One token: the recurrent form.</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) =>
        AsOneToken(x, t => Run(t, state, ForgettingAttentionForm.Reference));

    /// <summary>2 · L · d_model (K and V caches) + H · L (the cached keys' log-forget sums), + 2 · d_model with KV-shift.</summary>
    public override long StateSize(long sequenceLength) =>
        2L * sequenceLength * DModel + (long)_o.Heads * sequenceLength + (shift is null ? 0 : 2L * DModel);

    /// <summary>
    /// The parallel form over a segment: softmax over [cache | segment] of qkᵀ/√d + D, with D_ij = c_i + logF_j for a
    /// cached key and c_i − c_j for a segment key j ≤ i (c the segment's cumulative log f). Shapes: q, k, v [B, H, L, d];
    /// logF [B, H, L]; keys, values [B, H, P, d] and cacheLogF [B, H, P]. Returns o and the next cache's log-forget sums.
    /// </summary>
    public static (Tensor Output, Tensor LogF) Parallel(Tensor q, Tensor k, Tensor v, Tensor logF, Tensor keys, Tensor values, Tensor cacheLogF)
    {
        using var scope = NewDisposeScope();
        long l = q.shape[2], p = keys.shape[2];
        var c = logF.cumsum(-1);                                                     // c_i  [B, H, L]
        var future = ones(l, l, dtype: ScalarType.Bool, device: q.device).triu(1);
        var bias = (c.unsqueeze(-1) - c.unsqueeze(-2)).masked_fill(future, double.NegativeInfinity);   // D over the segment
        if (p > 0) bias = cat(new[] { c.unsqueeze(-1) + cacheLogF.unsqueeze(-2), bias }, -1);          // D over the cache
        var allK = p > 0 ? cat(new[] { keys, k }, 2) : k;
        var allV = p > 0 ? cat(new[] { values, v }, 2) : v;
        var logits = q.matmul(allK.transpose(-1, -2)) / Math.Sqrt(q.shape[3]) + bias;
        var o = softmax(logits, -1).matmul(allV);
        var last = c[.., .., TensorIndex.Slice(l - 1)];                                                 // c_L
        var next = cat(new[] { cacheLogF + last, last - c }, -1);                     // Σ_{l=j+1}^{L} log f_l
        return (o.MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The recurrent definition, token by token: every earlier key's bias log F_tj gains log f_t, the new key enters with
    /// bias 0 (F_tt = 1), o_t = softmax(q_t Kᵀ/√d + bias) V. Same shapes and results as <see cref="Parallel"/>; keys
    /// not yet seen carry bias −∞, so each step reads the whole [cache | segment] without growing tensors.
    /// </summary>
    public static (Tensor Output, Tensor LogF) Reference(Tensor q, Tensor k, Tensor v, Tensor logF, Tensor keys, Tensor values, Tensor cacheLogF)
    {
        using var scope = NewDisposeScope();
        long b = q.shape[0], h = q.shape[1], l = q.shape[2], p = keys.shape[2];
        var allK = cat(new[] { keys, k }, 2).transpose(-1, -2);                        // [B, H, d, P + L]
        var allV = cat(new[] { values, v }, 2);
        var bias = cat(new[] { cacheLogF, full(new[] { b, h, l }, double.NegativeInfinity, dtype: q.dtype, device: q.device) }, -1);
        var position = arange(p + l, device: q.device);
        var (qs, fs) = (q.unsqueeze(3).unbind(2), logF.unsqueeze(-1).unbind(2));
        var outputs = new Tensor[l];
        for (int t = 0; t < l; t++)
        {
            bias = (bias + fs[t]).masked_fill(position.eq(p + t), 0.0);                 // log F_tj = log F_{t−1,j} + log f_t; log F_tt = 0
            var logits = qs[t].matmul(allK).squeeze(2) / Math.Sqrt(q.shape[3]) + bias;  // [B, H, P + L]
            outputs[t] = softmax(logits, -1).unsqueeze(2).matmul(allV).squeeze(2);
        }
        return (stack(outputs, 2).MoveToOuterDisposeScope(), bias.MoveToOuterDisposeScope());
    }

    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state, ForgettingAttentionForm form)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        int h = _o.Heads;
        state ??= InitialState(b, x.device, x.dtype);
        var parts = qkv.forward(x).chunk(3, -1);
        Tensor q = parts[0], k = parts[1], v = parts[2];
        var next = new LayerState();
        if (shift is not null)
        {
            var alpha = sigmoid(shift.forward(x)).view(b, l, 2, h, 1);
            next = next.With("k_prev", k[.., -1].contiguous()).With("v_prev", v[.., -1].contiguous());
            k = Shift(k, state["k_prev"], alpha[.., .., 0]);
            v = Shift(v, state["v_prev"], alpha[.., .., 1]);
        }
        q = q.view(b, l, h, _headDim);
        k = k.view(b, l, h, _headDim);
        if (q_norm is not null)
            (q, k) = (RmsNorm.Apply(q, q_norm), RmsNorm.Apply(k, k_norm!));
        (q, k) = (q.transpose(1, 2), k.transpose(1, 2));
        v = HeadLayout.Split(v, h, _headDim);
        var logF = nn.functional.logsigmoid(fgate.forward(x)).transpose(1, 2);         // log f_t  [B, H, L]
        var (o, logFNext) = form == ForgettingAttentionForm.Reference
            ? Reference(q, k, v, logF, state["k"], state["v"], state["log_f"])
            : Parallel(q, k, v, logF, state["k"], state["v"], state["log_f"]);
        var keys = state["k"].shape[2] > 0 ? cat(new[] { state["k"], k }, 2) : k;
        var values = state["v"].shape[2] > 0 ? cat(new[] { state["v"], v }, 2) : v;
        o = o.transpose(1, 2);                                                          // [B, L, H, d]
        if (out_norm is not null) o = RmsNorm.Apply(o, out_norm);
        var y = o.reshape(b, l, DModel);
        if (ogate is not null) y = y * sigmoid(ogate.forward(x));
        next = next.With("k", keys.contiguous()).With("v", values.contiguous()).With("log_f", logFNext);
        return (proj.forward(y).MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }

    // x'_t = α_t x_{t−1} + (1 − α_t) x_t per head, x_{−1} from the carried state. x [B, L, D], previous [B, D], α [B, L, H, 1].
    private Tensor Shift(Tensor x, Tensor previous, Tensor alpha)
    {
        long b = x.shape[0], l = x.shape[1];
        var before = cat(new[] { previous.unsqueeze(1), x[.., ..(int)(l - 1)] }, 1);
        var mixed = alpha * before.view(b, l, _o.Heads, _headDim) + (1 - alpha) * x.view(b, l, _o.Heads, _headDim);
        return mixed.reshape(b, l, DModel);
    }
}
