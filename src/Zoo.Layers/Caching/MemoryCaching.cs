using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Nn;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.Caching;

/// <summary>How Memory Caching combines the online memory with the cached ones (arXiv 2602.24281, §3).</summary>
public enum CachingRule
{
    /// <summary>y = M_t(q) + Σ_{i&lt;j} M⁽ⁱ⁾(q).</summary>
    Residual,
    /// <summary>Gated residual memory: y = γ_j M_t(q) + Σ_i γ_i M⁽ⁱ⁾(q), γ = softmax_i ⟨x W_u, MeanPool(segment i)⟩.</summary>
    GatedResidual,
    /// <summary>Memory soup: one memory with parameters Σ_i γ_i W⁽ⁱ⁾ over the cached memories, plus γ_j M_t(q).</summary>
    Soup,
    /// <summary>Sparse selective caching: only the top-k cached memories by router score, plus the online memory.</summary>
    SparseSelective,
}

/// <summary>Options of <see cref="MemoryCaching"/>.</summary>
public sealed record MemoryCachingOptions : IWrapperOptions
{
    /// <summary>The wrapped memory layer: any registered layer, plugins included, that implements <see cref="IReadableMemory"/>.</summary>
    [Option("wrapped memory layer (any registered layer that implements IReadableMemory)")]
    public string Base { get; init; } = "gated-deltanet";

    /// <summary>Options of the wrapped layer, as that layer takes them.</summary>
    [Option("options of the wrapped layer (a JSON object)")]
    public JsonElement? BaseOptions { get; init; }

    /// <summary>Segment length s: each segment's final memory is cached.</summary>
    [Option("segment length s; each segment's final memory is cached", Min = 1)]
    public int Segment { get; init; } = 64;

    /// <summary>Read-out rule.</summary>
    [Option("how cached memories are combined")]
    public CachingRule Rule { get; init; } = CachingRule.GatedResidual;

    /// <summary>Cached memories read per token by sparse selective caching.</summary>
    [Option("caches read per token (sparse_selective)", Min = 1)]
    public int TopK { get; init; } = 2;

    /// <summary>Start each segment from a fresh memory instead of continuing the previous one.</summary>
    [Option("reset the online memory at each segment start")]
    public bool ResetPerSegment { get; init; }

    /// <inheritdoc />
    Type IWrapperOptions.WrappedContract => typeof(IReadableMemory);
}

/// <summary>
/// Memory Caching (Behrouz et al. 2026, arXiv 2602.24281): an RNN with growing memory. The sequence is cut into segments
/// of length s; the wrapped memory runs inside each segment (continuing, or reset per segment), and each segment's final
/// memory is cached. A token in segment j reads its online memory and the cached ones, combined by <see cref="CachingRule"/>.
/// Cost O(L·N) for N = L/s caches: between an RNN (s ≥ L, where every rule reduces to the wrapped layer) and attention
/// (s = 1).
/// </summary>
/// <remarks>
/// State: the position in the segment, "segment_sum" (running sum of the segment's inputs, for the causal mean pool),
/// "online" (the wrapped layer's state) and "caches", one child per completed segment in order ("0", "1", …), each with
/// its mean-pooled segment input "pooled" and its final memory "memory". The state grows with L.
/// Router/gate scores are ⟨x_t W_u, MeanPool(segment)⟩ / √D, with the online segment pooled causally up to t.
/// Any registered layer that implements <see cref="IReadableMemory"/> can be wrapped, a plugin's included; it is built
/// through the registry (<see cref="ComponentRegistry.CreateWrapped"/>), with the registry's checks and messages.
/// </remarks>
[ZooLayer("memory-caching", typeof(MemoryCachingOptions), Summary = "Memory Caching: segment memories cached and read back (residual, gated residual, soup, sparse selective)")]
[ContractCase("{\"segment\": 4, \"rule\": \"gated_residual\", \"base_options\": {\"chunk_size\": 4}}")]
[ContractCase("{\"segment\": 3, \"rule\": \"residual\", \"base\": \"deltanet\", \"base_options\": {\"chunk_size\": 2}}")]
[ContractCase("{\"segment\": 4, \"rule\": \"soup\", \"base\": \"titans-lmm\", \"base_options\": {\"chunk_size\": 2}}")]
[ContractCase("{\"segment\": 2, \"rule\": \"sparse_selective\", \"top_k\": 1, \"reset_per_segment\": true, \"base_options\": {\"chunk_size\": 4}}")]
public sealed class MemoryCaching : SequenceLayer
{
    private readonly MemoryCachingOptions _o;
    private readonly SequenceLayer inner;
    private readonly Linear? gate_proj;

    /// <summary>Builds the wrapper and, through <paramref name="registry"/>, its wrapped layer.</summary>
    public MemoryCaching(int dModel, MemoryCachingOptions options, ComponentRegistry registry) : base("MemoryCaching", dModel)
    {
        _o = options;
        inner = registry.CreateWrapped(options, dModel);
        if (options.Rule != CachingRule.Residual) gate_proj = nn.Linear(dModel, dModel, hasBias: false);
        RegisterComponents();
    }

    private IReadableMemory Memory => (IReadableMemory)inner;

    /// <summary>State: position 0, a zero segment sum, the wrapped layer's initial state, no caches.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        State(0, zeros(batch, DModel, dtype: dtype, device: device), inner.InitialState(batch, device, dtype), new(), new());

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        state ??= InitialState(b, x.device, x.dtype);
        long pos = state.Counter("position");
        var segSum = state["segment_sum"];
        var online = state.Child("online");
        var caches = state.Child("caches").Children.Select(c => c.State).ToList();
        var pooled = caches.Select(c => c["pooled"]).ToList();
        var memories = caches.Select(c => c.Child("memory")).ToList();

        var outputs = new List<Tensor>();
        foreach (var xs in TimePieces.Split(x, 1, pos, _o.Segment))
        {
            long n = xs.shape[1];
            var (reads, queries, next) = Memory.Memorize(xs, online);
            if (memories.Count > 0)
            {
                // Causal mean pool of the current segment up to each token.
                var counts = arange(pos + 1, pos + n + 1, dtype: x.dtype, device: x.device).unsqueeze(-1);
                var onlinePool = (segSum.unsqueeze(1) + xs.cumsum(1)) / counts;               // [B, n, D]
                reads = Combine(reads, queries, xs, onlinePool, pooled, memories);
            }
            outputs.Add(Memory.Output(reads, xs));
            segSum = segSum + xs.sum(1);
            pos += n;
            if (pos == _o.Segment)
            {
                pooled.Add(segSum / _o.Segment);
                memories.Add(next);
                online = _o.ResetPerSegment ? inner.InitialState(b, x.device, x.dtype) : next;
                segSum = zeros_like(segSum);
                pos = 0;
            }
            else
            {
                online = next;
            }
        }
        // Fresh handles throughout: the online memory and the last cache may be the same tensors.
        var nextState = State(pos, segSum, online, pooled, memories).Map(t => t.alias()).MoveToOuterDisposeScope();
        return (cat(outputs, 1).MoveToOuterDisposeScope(), nextState);
    }

    private static LayerState State(long position, Tensor segmentSum, LayerState online, List<Tensor> pooled, List<LayerState> memories)
    {
        var caches = new LayerState();
        for (int i = 0; i < memories.Count; i++)
            caches.With(i.ToString(System.Globalization.CultureInfo.InvariantCulture), new LayerState().With("pooled", pooled[i]).With("memory", memories[i]));
        return new LayerState().WithCounter("position", position).With("segment_sum", segmentSum).With("online", online).With("caches", caches);
    }

    /// <summary>One token: the same segment bookkeeping as Forward.</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) =>
        AsOneToken(x, t => Forward(t, state));

    /// <summary>The wrapped state plus one cached memory and pooled summary per completed segment.</summary>
    public override long StateSize(long sequenceLength) =>
        inner.StateSize(sequenceLength) + DModel + sequenceLength / _o.Segment * (inner.StateSize(_o.Segment) + DModel);

    // Online reads [B, H, n, V] combined with the cached memories' reads by the chosen rule.
    private Tensor Combine(Tensor reads, Tensor queries, Tensor xs, Tensor onlinePool, List<Tensor> pooled, List<LayerState> memories)
    {
        if (_o.Rule == CachingRule.Residual)
            return memories.Aggregate(reads, (acc, m) => acc + Memory.Read(m, queries));

        var u = gate_proj!.forward(xs);                                                          // [B, n, D]
        var scale = 1.0 / Math.Sqrt(DModel);
        var cacheScores = stack(pooled.Select(p => (u * p.unsqueeze(1)).sum(-1) * scale).ToArray(), -1);  // [B, n, N]
        var onlineScore = ((u * onlinePool).sum(-1) * scale).unsqueeze(-1);                    // [B, n, 1]
        if (_o.Rule == CachingRule.SparseSelective && _o.TopK < memories.Count)
        {
            var (_, top) = cacheScores.topk(_o.TopK, dim: -1);
            var keep = zeros_like(cacheScores, dtype: ScalarType.Bool).scatter(-1, top, ones_like(top, dtype: ScalarType.Bool));
            cacheScores = cacheScores.masked_fill(keep.logical_not(), double.NegativeInfinity);
        }
        var gates = softmax(cat(new[] { cacheScores, onlineScore }, -1), -1);                   // [B, n, N + 1]
        Tensor Gate(int i) => gates[.., .., i][.., TensorIndex.None, .., TensorIndex.None];     // → [B, 1, n, 1]
        var combined = Gate(memories.Count) * reads;
        if (_o.Rule == CachingRule.Soup)
            return combined + Memory.ReadMixture(memories, gates[.., .., ..memories.Count], queries);
        for (int i = 0; i < memories.Count; i++)
            combined = combined + Gate(i) * Memory.Read(memories[i], queries);
        return combined;
    }
}
