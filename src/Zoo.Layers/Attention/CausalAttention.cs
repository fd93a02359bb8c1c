using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Registry;
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
/// plain softmax(q kᵀ/√d) v maths. State: the K and V caches [B, H, P, d_h]; it grows with the sequence.
/// </summary>
[ZooLayer("attention", typeof(AttentionOptions), Summary = "causal softmax attention with RoPE and a KV cache (baseline)")]
public sealed class CausalAttention : SequenceLayer
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly AttentionOptions _o;
    private readonly int _headDim;

    /// <summary>Builds attention of width <paramref name="dModel"/>.</summary>
    public CausalAttention(int dModel, AttentionOptions options) : base("CausalAttention", dModel)
    {
        _o = options;
        _headDim = dModel / options.Heads;
        qkv = nn.Linear(dModel, 3L * dModel, hasBias: false);
        proj = nn.Linear(dModel, dModel, hasBias: false);
        RegisterComponents();
    }

    /// <summary>Empty K and V caches.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        new(zeros(batch, _o.Heads, 0, _headDim, dtype: dtype, device: device),
            zeros(batch, _o.Heads, 0, _headDim, dtype: dtype, device: device));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        state ??= InitialState(b, x.device, x.dtype);
        long past = state[0].shape[2];
        var (q, k, v) = Project(x, past);
        var keys = past == 0 ? k : cat(new[] { state[0], k }, 2);
        var values = past == 0 ? v : cat(new[] { state[1], v }, 2);
        Tensor o;
        if (past == 0)
        {
            o = nn.functional.scaled_dot_product_attention(q, keys, values, is_casual: true);
        }
        else
        {
            // Query i (absolute position past + i) sees keys 0 … past + i.
            var mask = ones(l, past + l, dtype: ScalarType.Bool, device: x.device).tril(past);
            o = nn.functional.scaled_dot_product_attention(q, keys, values, attn_mask: mask);
        }
        var y = proj.forward(o.transpose(1, 2).reshape(b, l, DModel));
        var next = new LayerState(keys.alias(), values.alias()).MoveToOuterDisposeScope();
        return (y.MoveToOuterDisposeScope(), next);
    }

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        var (q, k, v) = Project(x.unsqueeze(1), state[0].shape[2]);
        var keys = cat(new[] { state[0], k }, 2);
        var values = cat(new[] { state[1], v }, 2);
        var scores = q.matmul(keys.transpose(2, 3)) / Math.Sqrt(_headDim); // [B, H, 1, P+1]
        var o = softmax(scores, -1).matmul(values);
        var y = proj.forward(o.reshape(b, DModel));
        var next = new LayerState(keys, values).MoveToOuterDisposeScope();
        return (y.MoveToOuterDisposeScope(), next);
    }

    /// <summary>The K and V caches: 2 · L · d_model numbers.</summary>
    public override long StateSize(long sequenceLength) => 2L * sequenceLength * DModel;

    private (Tensor Q, Tensor K, Tensor V) Project(Tensor x, long offset)
    {
        long b = x.shape[0], l = x.shape[1];
        var parts = qkv.forward(x).view(b, l, 3, _o.Heads, _headDim).permute(2, 0, 3, 1, 4); // [3, B, H, L, d]
        Tensor q = parts[0], k = parts[1], v = parts[2];
        if (_o.Positions == PositionEncoding.Rope)
        {
            var (cos, sin) = RotaryTables(offset, l, x.dtype, x.device);
            q = Rotate(q, cos, sin);
            k = Rotate(k, cos, sin);
        }
        return (q, k, v);
    }

    private (Tensor Cos, Tensor Sin) RotaryTables(long offset, long length, ScalarType dtype, Device device)
    {
        var inv = pow(_o.RopeBase, -arange(0, _headDim, 2, dtype: ScalarType.Float64, device: device) / _headDim);
        var pos = arange(offset, offset + length, dtype: ScalarType.Float64, device: device);
        var angles = outer(pos, inv); // [L, d/2]
        return (angles.cos().to(dtype), angles.sin().to(dtype));
    }

    // Rotates consecutive pairs (x1, x2) of the head dimension by the position's angle.
    private static Tensor Rotate(Tensor x, Tensor cos, Tensor sin)
    {
        var shape = x.shape;
        var pairs = x.reshape(shape[0], shape[1], shape[2], shape[3] / 2, 2);
        var x1 = pairs[.., .., .., .., 0];
        var x2 = pairs[.., .., .., .., 1];
        return stack(new[] { x1 * cos - x2 * sin, x1 * sin + x2 * cos }, -1).reshape(shape);
    }
}
