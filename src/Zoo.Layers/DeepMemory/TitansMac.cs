using Zoo.Core.Layers;
using Zoo.Core.Nn;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Layers.Attention;
using static TorchSharp.torch;

namespace Zoo.Layers.DeepMemory;

/// <summary>Options of <see cref="TitansMac"/>.</summary>
public sealed record TitansMacOptions
{
    /// <summary>The long-term memory.</summary>
    [Option("the neural long-term memory (as titans-lmm)")]
    public TitansMemoryOptions Memory { get; init; } = new();

    /// <summary>Attention within a segment (over retrieved memory and the segment's tokens), with persistent tokens.</summary>
    [Option("attention within each segment (as attention)")]
    public AttentionOptions Attention { get; init; } = new() { PersistentTokens = 4 };

    /// <summary>Segment length.</summary>
    [Option("segment length: attention sees one segment plus its retrieved memory", Min = 1)]
    public int Segment { get; init; } = 64;
}

/// <summary>
/// Titans MAC, memory as context (Behrouz et al. 2024, §4.1). Per segment S: retrieve h = M*(q) from the memory as it
/// was at the segment start (no update); attend over persistent tokens, h and S; write the attention output y into the
/// memory (RMS-normalised); output o = y ⊙ σ(M(y)), the memory read after its update.
/// </summary>
/// <remarks>
/// Causality: the retrieved token h_i depends on x_i, so a token may only see h_j for j ≤ i. The attention therefore runs
/// over the interleaved sequence h_1, x_1, h_2, x_2, … with an ordinary causal mask, which gives x_i exactly
/// {persistent, h_≤i, x_≤i}; outputs are taken at the x positions. The attention state restarts at each segment.
/// State: the children "memory", "segment_start" (the memory at the segment start) and "attention", the retrieval
/// queries' short-conv cache "recall_conv" (retrieval reads x, the memory writes y: two streams, two caches), and the
/// position in the segment.
/// </remarks>
[ZooLayer("titans-mac", typeof(TitansMacOptions), Summary = "Titans MAC: retrieved memory and persistent tokens as attention context per segment")]
[ContractCase("{}")]
[ContractCase("{\"segment\": 4, \"memory\": {\"chunk_size\": 2}, \"attention\": {\"heads\": 2, \"persistent_tokens\": 2}}")]
public sealed class TitansMac : SequenceLayer
{
    private readonly TitansMacOptions _o;
    private readonly TitansMemory memory;
    private readonly CausalAttention attention;
    private readonly RmsNorm write_norm;

    /// <summary>Builds the layer.</summary>
    public TitansMac(int dModel, TitansMacOptions options) : base("TitansMac", dModel)
    {
        _o = options;
        memory = new TitansMemory(dModel, options.Memory);
        attention = new CausalAttention(dModel, options.Attention);
        write_norm = new RmsNorm(dModel);
        RegisterComponents();
    }

    /// <summary>State: the memory, the same memory as the segment start, an empty attention cache, an empty retrieval conv cache, position 0.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype)
    {
        var m = memory.InitialState(batch, device, dtype);
        return State(m, m.Map(t => t.alias()), attention.InitialState(batch, device, dtype), memory.QueryCache(batch, device, dtype), 0);
    }

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        state ??= InitialState(b, x.device, x.dtype);
        var mem = state.Child("memory");
        var segmentStart = state.Child("segment_start");
        var att = state.Child("attention");
        var recallCache = state["recall_conv"];
        long pos = state.Counter("position");
        var outputs = new List<Tensor>();
        foreach (var xs in TimePieces.Split(x, 1, pos, _o.Segment))
        {
            long n = xs.shape[1];
            var (h, nextRecall) = memory.Recall(xs, segmentStart, recallCache);        // M*_{segment start}(q)
            var interleaved = stack(new[] { h, xs }, 2).reshape(b, 2 * n, DModel);      // h_1, x_1, h_2, x_2, …
            var (a, nextAtt) = attention.Forward(interleaved, att);
            var y = a.view(b, n, 2, DModel)[.., .., 1];                                 // outputs at the x positions
            // The attention output is not normalised; written raw, its size fed the memory's curvature and MAC's memory
            // overflowed on MQAR even with bounded θ and η. The memory sees y as titans-lmm sees a pre-normed input.
            var (m, nextMem) = memory.Forward(write_norm.forward(y), mem);             // write y, read M_t(y)
            outputs.Add(y * sigmoid(m));
            (mem, att, recallCache) = (nextMem, nextAtt, nextRecall);
            pos += n;
            if (pos == _o.Segment)
            {
                segmentStart = mem;
                att = attention.InitialState(b, x.device, x.dtype);
                pos = 0;
            }
        }
        // Fresh handles throughout: the memory and the segment start may be the same tensors.
        var next = State(mem, segmentStart, att, recallCache, pos).Map(t => t.alias()).MoveToOuterDisposeScope();
        return (cat(outputs, 1).MoveToOuterDisposeScope(), next);
    }

    /// <summary>One token with the same segment bookkeeping as Forward.</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) =>
        AsOneToken(x, t => Forward(t, state));

    private static LayerState State(LayerState memory, LayerState segmentStart, LayerState attention, Tensor recallCache, long position) =>
        new LayerState().With("memory", memory).With("segment_start", segmentStart).With("attention", attention)
            .With("recall_conv", recallCache).WithCounter("position", position);

    /// <summary>Two copies of the memory, an attention cache of at most 2 × segment tokens and the retrieval conv cache.</summary>
    public override long StateSize(long sequenceLength) =>
        2 * memory.StateSize(sequenceLength) + attention.StateSize(2 * Math.Min(sequenceLength, _o.Segment)) + memory.QueryCacheSize;
}
