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
    /// <summary>
    /// Memory soup: one memory with parameters Σ_i γ_i W⁽ⁱ⁾ over the cached memories and the online one, read once (the
    /// paper's form; for a memory linear in its parameters, such as the matrix memories, it equals gated residual; a
    /// deep memory implements <see cref="ISoupMemory"/>).
    /// </summary>
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

    // Non-null when the wrapped memory is a matrix per head, read linearly: the fast reads below need it.
    private IMatrixMemory? MatrixMemory => inner as IMatrixMemory;

    // The residual rule over a matrix memory reads Σ_i q S⁽ⁱ⁾ = q Σ_i S⁽ⁱ⁾, so the state carries that sum.
    private bool CarriesSum => _o.Rule == CachingRule.Residual && MatrixMemory is not null;

    /// <summary>
    /// How the cached memories are read: <see cref="CacheReads.Batched"/> (default) when the wrapped memory is an
    /// <see cref="IMatrixMemory"/>, else each through <see cref="IReadableMemory.Read"/>; both give the same result.
    /// Not an option (it changes no number), so tests can compare the forms.
    /// </summary>
    public CacheReads Reads { get; set; } = CacheReads.Batched;

    private bool Batched => Reads == CacheReads.Batched && MatrixMemory is not null;

    /// <summary>
    /// Sparse selective caching gathers each token's top-k matrices once there are more than this many caches; below
    /// it one product over all caches (the unselected weighted by zero) is faster. Measured on CPU (B 8, d_model 64,
    /// segment 64, top-2): the gather cost 1.3–1.8× the product at 16 caches and 0.9× at 64. Same result either way.
    /// </summary>
    public int GatherAbove { get; set; } = 32;

    /// <summary>State: position 0, a zero segment sum, the wrapped layer's initial state, no caches (and a zero cache sum).</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype)
    {
        var online = inner.InitialState(batch, device, dtype);
        var sum = CarriesSum ? zeros_like(MatrixMemory!.Matrix(online)) : null;
        return State(0, zeros(batch, DModel, dtype: dtype, device: device), online, new(), new(), sum);
    }

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
        var sum = CarriesSum ? state["cache_sum"] : null;

        var outputs = new List<Tensor?>();  // null: a segment whose cache reads are deferred (below)
        // Batched gated reads wait for the loop's end (they do not feed the recurrence): then every cache is stacked
        // once and each segment reads a prefix view of that stack. Stacked per segment, the copies (and autograd's
        // saved copies) grew with the square of the number of caches.
        var deferred = new List<(int Output, Tensor Reads, Tensor Queries, Tensor Xs, Tensor OnlinePool, int Caches)>();
        foreach (var xs in TimePieces.Split(x, 1, pos, _o.Segment))
        {
            long n = xs.shape[1];
            Tensor? reads;
            LayerState next;
            if (memories.Count == 0)
            {
                (reads, _, next) = Memory.Memorize(xs, online);
            }
            else
            {
                // Causal mean pool of the current segment up to each token.
                var counts = arange(pos + 1, pos + n + 1, dtype: x.dtype, device: x.device).unsqueeze(-1);
                var onlinePool = (segSum.unsqueeze(1) + xs.cumsum(1)) / counts;               // [B, n, D]
                if (_o.Rule == CachingRule.Soup && inner is ISoupMemory soup)
                {
                    // The paper's soup: the online memory is mixed in with the cached ones, read once.
                    var (cacheScores, onlineScore) = Scores(xs, onlinePool, pooled);
                    (reads, _, next) = soup.MemorizeSoup(xs, online, memories, softmax(cat(new[] { cacheScores, onlineScore }, -1), -1));
                }
                else
                {
                    (reads, var queries, next) = Memory.Memorize(xs, online);
                    if (Batched && _o.Rule != CachingRule.Residual)
                    {
                        deferred.Add((outputs.Count, reads, queries, xs, onlinePool, memories.Count));
                        reads = null;
                    }
                    else
                    {
                        reads = Combine(reads, queries, xs, onlinePool, pooled, memories, sum);
                    }
                }
            }
            outputs.Add(reads is null ? null : Memory.Output(reads, xs));
            segSum = segSum + xs.sum(1);
            pos += n;
            if (pos == _o.Segment)
            {
                pooled.Add(segSum / _o.Segment);
                memories.Add(next);
                if (sum is not null) sum = sum + MatrixMemory!.Matrix(next);
                online = _o.ResetPerSegment ? inner.InitialState(b, x.device, x.dtype) : next;
                segSum = zeros_like(segSum);
                pos = 0;
            }
            else
            {
                online = next;
            }
        }
        if (deferred.Count > 0)
        {
            var stacked = stack(memories.ConvertAll(m => MatrixMemory!.Matrix(m)), 2);                 // [B, H, N, K, V]
            foreach (var d in deferred)
            {
                var reads = Combine(d.Reads, d.Queries, d.Xs, d.OnlinePool, pooled.GetRange(0, d.Caches), memories.GetRange(0, d.Caches), sum,
                    stacked.narrow(2, 0, d.Caches));
                outputs[d.Output] = Memory.Output(reads, d.Xs);
            }
        }
        // Fresh handles throughout: the online memory and the last cache may be the same tensors.
        var nextState = State(pos, segSum, online, pooled, memories, sum).Map(t => t.alias()).MoveToOuterDisposeScope();
        return (cat(outputs.ConvertAll(o => o!), 1).MoveToOuterDisposeScope(), nextState);
    }

    private static LayerState State(long position, Tensor segmentSum, LayerState online, List<Tensor> pooled, List<LayerState> memories, Tensor? sum)
    {
        var caches = new LayerState();
        for (int i = 0; i < memories.Count; i++)
            caches.With(i.ToString(System.Globalization.CultureInfo.InvariantCulture), new LayerState().With("pooled", pooled[i]).With("memory", memories[i]));
        var state = new LayerState().WithCounter("position", position).With("segment_sum", segmentSum).With("online", online).With("caches", caches);
        return sum is null ? state : state.With("cache_sum", sum);
    }

    /// <summary>One token: the same segment bookkeeping as Forward.</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) =>
        AsOneToken(x, t => Forward(t, state));

    /// <summary>
    /// The wrapped state plus one cached memory and pooled summary per completed segment. The residual rule's
    /// "cache_sum" is not counted: it is derived from the caches (a speed-up, not more memory in the model's sense).
    /// </summary>
    public override long StateSize(long sequenceLength) =>
        inner.StateSize(sequenceLength) + DModel + sequenceLength / _o.Segment * (inner.StateSize(_o.Segment) + DModel);

    // Online reads [B, H, n, V] combined with the cached memories' reads by the chosen rule.
    private Tensor Combine(Tensor reads, Tensor queries, Tensor xs, Tensor onlinePool, List<Tensor> pooled, List<LayerState> memories, Tensor? sum,
        Tensor? stacked = null)
    {
        if (_o.Rule == CachingRule.Residual)
            return Batched ? reads + queries.matmul(sum!) : memories.Aggregate(reads, (acc, m) => acc + Memory.Read(m, queries));

        var (cacheScores, onlineScore) = Scores(xs, onlinePool, pooled);
        bool selective = _o.Rule == CachingRule.SparseSelective && _o.TopK < memories.Count;
        if (Batched)
        {
            // The cached matrices [B, H, N, K, V]: a prefix view of the stack Forward builds once (it defers these reads).
            var matrices = stacked ?? throw new InvalidOperationException("batched gated reads take Forward's stacked caches");
            if (selective && memories.Count > GatherAbove)
            {
                var (top, index) = cacheScores.topk(_o.TopK, dim: -1);                         // [B, n, k]
                var g = softmax(cat(new[] { top, onlineScore }, -1), -1);
                return Gate(g, _o.TopK) * reads + ReadSelected(matrices, index, g[.., .., .._o.TopK], queries);
            }
            if (selective) cacheScores = KeepTop(cacheScores);
            var gates = softmax(cat(new[] { cacheScores, onlineScore }, -1), -1);              // [B, n, N + 1]
            // Soup and gated residual are one rule for a matrix memory (the read is linear in S); sparse selective's
            // unselected caches have weight 0.
            return Gate(gates, memories.Count) * reads + ReadWeighted(matrices, gates[.., .., ..memories.Count], queries);
        }
        if (selective) cacheScores = KeepTop(cacheScores);
        var all = softmax(cat(new[] { cacheScores, onlineScore }, -1), -1);                     // [B, n, N + 1]
        var combined = Gate(all, memories.Count) * reads;
        if (_o.Rule == CachingRule.Soup)
            return combined + Memory.ReadMixture(memories, all[.., .., ..memories.Count], queries);
        for (int i = 0; i < memories.Count; i++)
            combined = combined + Gate(all, i) * Memory.Read(memories[i], queries);
        return combined;
    }

    // Router/gate scores ⟨x_t W_u, pooled⟩ / √D of the caches [B, n, N] and of the online segment so far [B, n, 1].
    private (Tensor Caches, Tensor Online) Scores(Tensor xs, Tensor onlinePool, List<Tensor> pooled)
    {
        var u = gate_proj!.forward(xs);                                                          // [B, n, D]
        var caches = u.matmul(stack(pooled, 1).transpose(1, 2)) / Math.Sqrt(DModel);
        var online = ((u * onlinePool).sum(-1) / Math.Sqrt(DModel)).unsqueeze(-1);
        return (caches, online);
    }

    // Scores of the caches outside each token's top-k set to −∞, so the softmax gives them weight 0.
    private Tensor KeepTop(Tensor cacheScores)
    {
        var (_, top) = cacheScores.topk(_o.TopK, dim: -1);
        var keep = zeros_like(cacheScores, dtype: ScalarType.Bool).scatter(-1, top, ones_like(top, dtype: ScalarType.Bool));
        return cacheScores.masked_fill(keep.logical_not(), double.NegativeInfinity);
    }

    // Gate i of [B, n, ·] as [B, 1, n, 1], to weight per-head reads [B, H, n, V].
    private static Tensor Gate(Tensor gates, int i) => gates[.., .., i][.., TensorIndex.None, .., TensorIndex.None];

    /// <summary>
    /// Σ_i w_ti q_t S⁽ⁱ⁾ for every cache at once: the weighted queries [B, H, n, N·K] times the stacked matrices
    /// [B, H, N·K, V], one product instead of N reads.
    /// </summary>
    private static Tensor ReadWeighted(Tensor matrices, Tensor weights, Tensor queries)
    {
        long b = matrices.shape[0], h = matrices.shape[1], caches = matrices.shape[2], k = matrices.shape[3], v = matrices.shape[4], n = queries.shape[2];
        var weighted = weights[.., TensorIndex.None, .., .., TensorIndex.None] * queries.unsqueeze(3);   // [B, H, n, N, K]
        return weighted.reshape(b, h, n, caches * k).matmul(matrices.reshape(b, h, caches * k, v));
    }

    /// <summary>
    /// Σ_j w_tj q_t S⁽ⁱ⁽ᵗ'ʲ⁾⁾ over each token's selected caches only: the top-k matrices are gathered per token, so the
    /// cost per token is k reads, however many caches there are.
    /// </summary>
    private static Tensor ReadSelected(Tensor matrices, Tensor index, Tensor weights, Tensor queries)
    {
        long b = matrices.shape[0], h = matrices.shape[1], k = matrices.shape[3], v = matrices.shape[4], n = index.shape[1], top = index.shape[2];
        var at = index.reshape(b, 1, n * top, 1, 1).expand(b, h, n * top, k, v);
        var selected = matrices.gather(2, at).view(b, h, n, top, k, v);                          // [B, H, n, k, K, V]
        var read = queries[.., .., .., TensorIndex.None, TensorIndex.None, ..].matmul(selected).squeeze(4);   // [B, H, n, k, V]
        return (weights[.., TensorIndex.None, .., .., TensorIndex.None] * read).sum(3);
    }
}

/// <summary>How <see cref="MemoryCaching"/> reads its cached memories; both give the same result.</summary>
public enum CacheReads
{
    /// <summary>
    /// For a matrix memory (<see cref="IMatrixMemory"/>): the residual rule reads a running sum of the cached
    /// matrices once, the gated rules read all caches in one product, sparse selective gathers only each token's top-k
    /// (above <see cref="MemoryCaching.GatherAbove"/> caches; below, one product with zero weights).
    /// Other memories are read each.
    /// </summary>
    Batched,
    /// <summary>The readable reference: every cache read through <see cref="IReadableMemory.Read"/>, unselected ones weighted by zero.</summary>
    Each,
}
