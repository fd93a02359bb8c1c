using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>Options of <see cref="MixtureOfMemories"/>.</summary>
public sealed record MixtureOfMemoriesOptions : IValidatableOptions
{
    /// <summary>Number K of routed memories.</summary>
    [Option("routed memories K", Min = 1, Max = 64)]
    public int Memories { get; init; } = 4;

    /// <summary>Memories each token is routed to.</summary>
    [Option("memories each token writes to and reads from (top-k)", Min = 1)]
    public int TopK { get; init; } = 2;

    /// <summary>One extra memory every token writes to and reads from.</summary>
    [Option("add one always-on shared memory")]
    public bool SharedMemory { get; init; } = true;

    /// <summary>How each memory is written.</summary>
    [Option("update rule of every memory")]
    public MemoryRule Rule { get; init; } = MemoryRule.GatedDelta;

    /// <summary>Weight of the load-balancing loss K · Σ_m f_m P_m added to the task loss.</summary>
    [Option("weight of the load-balancing auxiliary loss", Min = 0)]
    public double AuxLossWeight { get; init; } = 0.01;

    /// <summary>Heads, dims, chunking and conv of each memory.</summary>
    [Option("each memory's options (as for gated-deltanet)")]
    public LinearMemoryOptions Memory { get; init; } = new();

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (TopK > Memories) yield return ("top_k", $"{TopK} exceeds memories {Memories}; allowed: 1 … {Memories}");
    }
}

/// <summary>
/// Mixture-of-Memories (Du et al. 2025, arXiv 2502.13685): K independent matrix memories and a router. Each token
/// scores the memories (softmax), picks the top k, and writes its (key, value) only to those, with write strength
/// scaled by its renormalised router weight g_m (β → g_m β; unpicked memories neither decay nor write); the read-out
/// is Σ_{m picked} g_m S_m q plus, optionally, a shared memory every token writes and reads. State per token is
/// constant and time is linear. The auxiliary load-balancing loss (Switch Transformer, Fedus et al. 2021) is exposed
/// through <see cref="AuxiliaryLoss"/> for the trainer.
/// </summary>
/// <remarks>
/// Memories are independent, so they are computed as extra heads: one <see cref="MemoryFeatures"/> with M·H heads
/// (M = K routed + shared) gives every memory its own q, k, v, α and β projections and short convs in one matmul each,
/// and one call of the <see cref="GatedDelta"/> op runs all of them. Head index m·H + h is head h of memory m.
/// </remarks>
[ZooLayer("mom", typeof(MixtureOfMemoriesOptions), Summary = "Mixture-of-Memories: routed top-k gated-delta memories + shared memory (Du et al. 2025)")]
[ContractCase("{}")]
[ContractCase("{\"memories\": 3, \"top_k\": 2, \"memory\": {\"chunk_size\": 4}}")]
[ContractCase("{\"memories\": 4, \"top_k\": 1, \"shared_memory\": false, \"rule\": \"delta\", \"memory\": {\"heads\": 3, \"key_dim\": 5, \"value_dim\": 4, \"chunk_size\": 8}}")]
public sealed class MixtureOfMemories : SequenceLayer
{
    private readonly MixtureOfMemoriesOptions _o;
    private readonly MemoryFeatures memories;
    private readonly Linear router;
    private readonly MemoryReadout readout;
    private readonly bool _erase;
    private readonly int _heads, _dk, _dv;
    private Tensor? _aux;

    /// <summary>Builds the layer.</summary>
    public MixtureOfMemories(int dModel, MixtureOfMemoriesOptions options) : base("MixtureOfMemories", dModel)
    {
        _o = options;
        var m = options.Memory;
        (_heads, _dk, _dv) = (m.Heads, m.KeyDimFor(dModel), m.ValueDimFor(dModel));
        _erase = options.Rule.Parts().Erase;
        // Per-memory dims are fixed before widening the head count, so key_dim/value_dim default to d_model / heads.
        memories = new MemoryFeatures(dModel, m with { Heads = Total * m.Heads, KeyDim = _dk, ValueDim = _dv }, options.Rule);
        router = nn.Linear(dModel, options.Memories, hasBias: false);
        readout = new MemoryReadout(dModel, m);
        RegisterComponents();
    }

    private int Total => _o.Memories + (_o.SharedMemory ? 1 : 0);

    /// <inheritdoc />
    public override Tensor? AuxiliaryLoss => _aux;

    /// <summary>State: all memories stacked as "S" [B, M·H, K, V] and the q, k, v conv caches of all memories (child "conv").</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        new LayerState()
            .With("S", zeros(new long[] { batch, (long)Total * _heads, _dk, _dv }, dtype: dtype, device: device))
            .With("conv", memories.InitialCaches(batch, device, dtype));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => Run(x, state, step: false);

    /// <summary>One token through the per-token recurrence.</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) =>
        AsOneToken(x, t => Run(t, state, step: true));

    /// <summary>All memories and their conv caches (constant in L).</summary>
    public override long StateSize(long sequenceLength) =>
        (long)Total * _heads * _dk * _dv + memories.CacheSize;

    /// <summary>Router weights [B, L, K] (zero for unpicked memories) and router probabilities.</summary>
    public (Tensor Gate, Tensor Probabilities) Route(Tensor x)
    {
        var probs = softmax(router.forward(x), -1);
        var (top, index) = probs.topk(_o.TopK, dim: -1);
        var gate = zeros_like(probs).scatter(-1, index, top / top.sum(-1, keepdim: true));
        return (gate, probs);
    }

    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state, bool step)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        state ??= InitialState(b, x.device, x.dtype);
        var inputs = memories.Compute(x, state.Child("conv"));               // heads: [B, M·H, L, ·]
        var (gate, probs) = Route(x);
        var picked = gate.gt(0).to(x.dtype);                                          // [B, L, K]

        // Routed memory m: β ← g_m β and log α ← [m picked] log α, so an unpicked memory is left exactly as it was.
        // Read weights: g_m for routed memories, 1 for the shared one.
        var always = ones(b, l, Total - _o.Memories, dtype: x.dtype, device: x.device);
        var writeScale = cat(new[] { gate, always }, -1);                             // [B, L, M]
        var decayMask = cat(new[] { picked, always }, -1);
        Tensor PerHead(Tensor perMemory) =>                                            // [B, L, M] → [B, M·H, L]
            perMemory.transpose(1, 2).repeat_interleave(_heads, dim: 1);
        var beta = inputs.Beta * PerHead(writeScale);
        var logDecay = inputs.LogDecay * PerHead(decayMask);
        var m0 = _o.Memory;
        var (o, s) = step || m0.Form == MemoryForm.Reference
            ? GatedDelta.Reference(inputs.Q, inputs.K, inputs.V, logDecay, beta, state["S"], _erase)
            : GatedDelta.Chunked(inputs.Q, inputs.K, inputs.V, logDecay, beta, state["S"], m0.ChunkSize, _erase);

        var weights = writeScale.transpose(1, 2)[.., .., TensorIndex.None, .., TensorIndex.None];  // [B, M, 1, L, 1]
        var read = (o.view(b, Total, _heads, l, _dv) * weights).sum(1);              // [B, H, L, V]
        var y = readout.Compute(read, x);

        if (training && !step && _o.AuxLossWeight > 0)
        {
            // Switch-style balance: K · Σ_m (fraction of routing slots taken by m) · (mean router probability of m).
            var fraction = picked.mean(new long[] { 0, 1 }) / _o.TopK;
            var meanProb = probs.mean(new long[] { 0, 1 });
            // Held outside every dispose scope (the model's own forward scope would free it before the trainer reads
            // it); the previous step's loss is released here, so one lives at a time.
            _aux?.Dispose();
            _aux = (_o.AuxLossWeight * _o.Memories * (fraction * meanProb).sum()).DetachFromDisposeScope();
        }
        else
        {
            _aux?.Dispose();
            _aux = null;
        }
        var next = new LayerState().With("S", s).With("conv", inputs.ConvCaches).MoveToOuterDisposeScope();
        return (y.MoveToOuterDisposeScope(), next);
    }
}
