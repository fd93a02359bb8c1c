using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Nn;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Layers.Attention;

/// <summary>Position encoding of <see cref="CausalAttention"/>.</summary>
public enum PositionEncoding
{
    /// <summary>Rotary embeddings on q and k (Su et al. 2021).</summary>
    Rope,
    /// <summary>No position information (attention is then permutation-invariant over the past).</summary>
    None,
}

/// <summary>Options of <see cref="CausalAttention"/>.</summary>
public sealed record AttentionOptions : IValidatableOptions
{
    /// <summary>Number of heads; d_model must be divisible by it.</summary>
    [Option("number of heads (d_model must be divisible by it)", Min = 1)]
    public int Heads { get; init; } = 1;

    /// <summary>Position encoding.</summary>
    [Option("position encoding")]
    public PositionEncoding Positions { get; init; } = PositionEncoding.Rope;

    /// <summary>RoPE base frequency.</summary>
    [Option("RoPE base θ", Min = 1)]
    public double RopeBase { get; init; } = 10000;

    /// <summary>Sliding window: each token attends to itself and the window − 1 tokens before it; 0 attends to all.</summary>
    [Option("sliding window in tokens (0 = full causal attention)", Min = 0)]
    public int Window { get; init; }

    /// <summary>Learned key/value pairs every token attends to (Titans' persistent memory); 0 for none.</summary>
    [Option("learned persistent key/value tokens every query sees", Min = 0, Max = 256)]
    public int PersistentTokens { get; init; }

    /// <summary>
    /// A causal depthwise conv + SiLU on q, k and v before the rotary (fla's <c>use_short_conv</c>, the conv the delta-rule
    /// layers carry). Zoology's MQAR attention baseline runs a short conv before attention for the same reason: a key
    /// then sees the token before it, so binding a key to its value needs no previous-token head.
    /// </summary>
    [Option("short causal conv + SiLU on q, k, v (as the delta-rule layers; Zoology's attention has a short conv before it)", AddedLater = true)]
    public bool ShortConv { get; init; }

    /// <summary>Kernel size of the short conv.</summary>
    [Option("short conv kernel size (short_conv = true)", Min = 2, Max = 16, AddedLater = true)]
    public int ConvSize { get; init; } = 4;

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (dModel > 0 && dModel % Heads != 0)
            yield return ("heads", $"d_model {dModel} is not divisible by heads {Heads}; allowed: a divisor of {dModel}");
        if (dModel > 0 && Positions == PositionEncoding.Rope && (dModel / Heads) % 2 != 0)
            yield return ("positions", $"rope needs an even head dim, got {dModel / Heads}; allowed: none, or heads making d_model/heads even");
    }
}

/// <summary>
/// Causal multi-head softmax attention (Vaswani et al. 2017), the reference baseline. The parallel form uses
/// <c>scaled_dot_product_attention</c>; <see cref="Step"/> decodes one token against a KV cache with the
/// plain softmax(q kᵀ/√d) v maths. State: the K and V caches [B, H, P, d_h] and the absolute position; the cache grows
/// with the sequence, or keeps the last window − 1 tokens with a sliding window. Optional learned persistent key/value
/// tokens (Titans' persistent memory) are visible to every query and never enter the cache. `short_conv` adds the
/// delta-rule layers' short conv on q, k and v (its cache is part of the state).
/// </summary>
[ZooLayer("attention", typeof(AttentionOptions), Summary = "causal softmax attention with RoPE and a KV cache (baseline)")]
[ContractCase("{}")]
[ContractCase("{\"heads\": 2}")]
[ContractCase("{\"heads\": 1, \"positions\": \"none\"}")]
[ContractCase("{\"heads\": 2, \"window\": 3, \"persistent_tokens\": 2}")]
[ContractCase("{\"heads\": 2, \"window\": 1}")]
[ContractCase("{\"heads\": 2, \"short_conv\": true, \"window\": 3}")]
public sealed class CausalAttention : SequenceLayer
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly Parameter? persistent_k, persistent_v;
    private readonly QkvShortConvolution? conv;
    private readonly AttentionOptions _o;
    private readonly int _headDim;

    /// <summary>Builds attention of width <paramref name="dModel"/>.</summary>
    public CausalAttention(int dModel, AttentionOptions options) : base("CausalAttention", dModel)
    {
        _o = options;
        _headDim = dModel / options.Heads;
        qkv = nn.Linear(dModel, 3L * dModel, hasBias: false);
        proj = nn.Linear(dModel, dModel, hasBias: false);
        if (options.PersistentTokens > 0)
        {
            persistent_k = nn.Parameter(randn(options.Heads, options.PersistentTokens, _headDim) / Math.Sqrt(_headDim));
            persistent_v = nn.Parameter(randn(options.Heads, options.PersistentTokens, _headDim) / Math.Sqrt(_headDim));
        }
        if (options.ShortConv) conv = new QkvShortConvolution(dModel, dModel, options.ConvSize);
        RegisterComponents();
    }

    /// <summary>State: empty K and V caches "k", "v" [B, H, 0, d_h], the absolute position 0 and, with the short conv, its zero cache "conv".</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        State(zeros(batch, _o.Heads, 0, _headDim, dtype: dtype, device: device),
              zeros(batch, _o.Heads, 0, _headDim, dtype: dtype, device: device), 0,
              conv?.EmptyCache(batch, device, dtype));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        state ??= InitialState(b, x.device, x.dtype);
        long cached = state["k"].shape[2], position = state.Counter("position");
        var (q, k, v, convCache) = Project(x, position, ConvCache(state));
        var keys = cached == 0 ? k : cat(new[] { state["k"], k }, 2);
        var values = cached == 0 ? v : cat(new[] { state["v"], v }, 2);
        Tensor o;
        if (cached == 0 && _o.Window == 0 && persistent_k is null)
        {
            o = nn.functional.scaled_dot_product_attention(q, keys, values, is_casual: true);
        }
        else
        {
            // Query i sees cache-or-new key j when j ≤ cached + i and, with a window, j > cached + i − window.
            var i = arange(l, device: x.device).unsqueeze(1) + cached;
            var j = arange(cached + l, device: x.device).unsqueeze(0);
            var mask = j.le(i);
            if (_o.Window > 0) mask = mask.logical_and(j.gt(i - _o.Window));
            var (pk, pv) = WithPersistent(keys, values);
            if (persistent_k is not null)
                mask = cat(new[] { ones(l, _o.PersistentTokens, dtype: ScalarType.Bool, device: x.device), mask }, 1);
            o = nn.functional.scaled_dot_product_attention(q, pk, pv, attn_mask: mask);
        }
        var y = proj.forward(o.transpose(1, 2).reshape(b, l, DModel));
        var next = Next(keys, values, position + l, convCache).MoveToOuterDisposeScope();
        return (y.MoveToOuterDisposeScope(), next);
    }

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], position = state.Counter("position");
        var (q, k, v, convCache) = Project(x.unsqueeze(1), position, ConvCache(state));
        var keys = cat(new[] { state["k"], k }, 2);          // the cache holds at most window − 1 tokens: all visible
        var values = cat(new[] { state["v"], v }, 2);
        var (pk, pv) = WithPersistent(keys, values);
        var scores = q.matmul(pk.transpose(2, 3)) / Math.Sqrt(_headDim); // [B, H, 1, P + cache + 1]
        var o = softmax(scores, -1).matmul(pv);
        var y = proj.forward(o.reshape(b, DModel));
        var next = Next(keys, values, position + 1, convCache).MoveToOuterDisposeScope();
        return (y.MoveToOuterDisposeScope(), next);
    }

    /// <summary>The K and V caches: 2 · L · d_model numbers (2 · (window − 1) · d_model at most with a window), plus the short conv's cache.</summary>
    public override long StateSize(long sequenceLength) =>
        2L * (_o.Window > 0 ? Math.Min(sequenceLength, _o.Window - 1) : sequenceLength) * DModel
        + (conv is null ? 0 : (conv.Size - 1) * conv.Channels);

    private (Tensor Keys, Tensor Values) WithPersistent(Tensor keys, Tensor values)
    {
        if (persistent_k is null) return (keys, values);
        long b = keys.shape[0];
        return (cat(new[] { persistent_k.to(keys.dtype).unsqueeze(0).expand(b, -1, -1, -1), keys }, 2),
                cat(new[] { persistent_v!.to(values.dtype).unsqueeze(0).expand(b, -1, -1, -1), values }, 2));
    }

    // The cache after this call: everything, or the last window − 1 tokens.
    private LayerState Next(Tensor keys, Tensor values, long position, Tensor? convCache)
    {
        if (_o.Window > 0 && keys.shape[2] > _o.Window - 1)
        {
            var keep = TensorIndex.Slice(keys.shape[2] - (_o.Window - 1), keys.shape[2]);
            (keys, values) = (keys[.., .., keep], values[.., .., keep]);
        }
        return State(keys.contiguous(), values.contiguous(), position, convCache);
    }

    private static LayerState State(Tensor keys, Tensor values, long position, Tensor? convCache)
    {
        var state = new LayerState().With("k", keys).With("v", values).WithCounter("position", position);
        return convCache is null ? state : state.With("conv", convCache);
    }

    private Tensor? ConvCache(LayerState state) => conv is null ? null : state["conv"];

    // q, k, v [B, H, L, d] at absolute positions offset…, and the short conv's next cache (null without the conv).
    private (Tensor Q, Tensor K, Tensor V, Tensor? ConvCache) Project(Tensor x, long offset, Tensor? convCache)
    {
        long b = x.shape[0], l = x.shape[1];
        var projected = qkv.forward(x);                                                       // [B, L, 3·D]: q, k, v
        Tensor? nextConv = null;
        if (conv is not null) (projected, nextConv) = ShortConvolution.Apply(projected, conv.Kernel(), convCache!);
        var parts = projected.view(b, l, 3, _o.Heads, _headDim).permute(2, 0, 3, 1, 4);      // [3, B, H, L, d]
        Tensor q = parts[0], k = parts[1], v = parts[2];
        if (_o.Positions == PositionEncoding.Rope)
        {
            var (cos, sin) = Rotary.Tables(_headDim, _o.RopeBase, offset, l, x.dtype, x.device);
            q = Rotary.Rotate(q, cos, sin);
            k = Rotary.Rotate(k, cos, sin);
        }
        return (q, k, v, nextConv);
    }
}
