using Zoo.Core.Layers;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// Shared body of the matrix-memory layers, after the Gated DeltaNet block (Yang et al. 2024, fig. 1; fla's
/// <c>GatedDeltaNet</c>): <see cref="MemoryFeatures"/> → the <see cref="GatedDelta"/> op → <see cref="MemoryReadout"/>.
/// Subclasses choose the update rule (delta or additive) and which of α and β are learned.
/// </summary>
/// <remarks>
/// State: the memory "S" [B, H, K, V] (H value heads) and the short conv's last (kernel − 1) inputs for q, k and v (child "conv"), so a sequence can
/// be processed in segments or token by token. <see cref="Step"/> runs the per-token recurrence; Forward runs the
/// chunked form (or the reference loop, by option).
/// </remarks>
public abstract class LinearMemoryLayer : SequenceLayer, IMatrixMemory
{
    private readonly LinearMemoryOptions _o;
    private readonly bool _erase;
    private readonly MemoryFeatures features;
    private readonly MemoryReadout readout;

    /// <param name="name">Module name.</param>
    /// <param name="dModel">Layer width.</param>
    /// <param name="options">Shared options.</param>
    /// <param name="rule">How the memory is written.</param>
    protected LinearMemoryLayer(string name, int dModel, LinearMemoryOptions options, MemoryRule rule)
        : base(name, dModel)
    {
        _o = options;
        _erase = rule.Parts().Erase;
        features = new MemoryFeatures(dModel, options, rule);
        readout = new MemoryReadout(dModel, options);
        RegisterComponents();
    }

    /// <summary>The options this layer was built with.</summary>
    public LinearMemoryOptions Options => _o;

    /// <summary>State: the memory "S" [B, H, K, V] and the q, k, v conv caches (child "conv", [B, kernel − 1, channels]).</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        new LayerState()
            .With("S", zeros(new long[] { batch, _o.ValueHeadCount, _o.KeyDimFor(DModel), _o.ValueDimFor(DModel) }, dtype: dtype, device: device))
            .With("conv", features.InitialCaches(batch, device, dtype));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => Run(x, state);

    /// <summary>One token through the per-token recurrence (the reference form with L = 1).</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) =>
        AsOneToken(x, t => Run(t, state));

    /// <summary>Memory H·K·V (H value heads) plus the conv caches.</summary>
    public override long StateSize(long sequenceLength) =>
        (long)_o.ValueHeadCount * _o.KeyDimFor(DModel) * _o.ValueDimFor(DModel) + features.CacheSize;

    /// <inheritdoc />
    public (Tensor Reads, Tensor Queries, LayerState State) Memorize(Tensor x, LayerState? state)
    {
        using var scope = NewDisposeScope();
        var m = features.Compute(x, state?.Child("conv") ?? features.InitialCaches(x.shape[0], x.device, x.dtype));
        // A fresh sequence passes no memory rather than zeros, so the chunked op skips its first chunk's reads and erases.
        var (o, s) = GatedDelta.Apply(_o.Form, m.Q, m.K, m.V, m.LogDecay, m.Beta, state?["S"], _o.ChunkSize, _erase);
        var next = new LayerState().With("S", s).With("conv", m.ConvCaches).MoveToOuterDisposeScope();
        return (o.MoveToOuterDisposeScope(), m.Q.MoveToOuterDisposeScope(), next);
    }

    /// <summary>S_iᵀ q per head: [B, H, L, K] × [B, H, K, V].</summary>
    public Tensor Read(LayerState memory, Tensor queries) => queries.matmul(Matrix(memory));

    /// <inheritdoc />
    public Tensor Matrix(LayerState memory) => memory["S"];

    /// <summary>Linear in S, so the soup's read is the weighted sum of reads.</summary>
    public Tensor ReadMixture(IReadOnlyList<LayerState> memories, Tensor weights, Tensor queries)
    {
        using var scope = NewDisposeScope();
        Tensor Weighted(int i) => weights[.., .., i][.., TensorIndex.None, .., TensorIndex.None] * Read(memories[i], queries);
        var total = Weighted(0);
        for (int i = 1; i < memories.Count; i++) total = total + Weighted(i);
        return total.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor Output(Tensor reads, Tensor x) => readout.Compute(reads, x);

    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state)
    {
        using var scope = NewDisposeScope();
        var (o, _, next) = Memorize(x, state);
        return (readout.Compute(o, x).MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }
}
