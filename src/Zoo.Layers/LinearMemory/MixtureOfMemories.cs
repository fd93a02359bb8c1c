using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>How <see cref="MixtureOfMemories"/> computes its routed memories (both give the same result).</summary>
public enum RoutedCompute
{
    /// <summary>
    /// Each routed memory runs only over the tokens routed to it, gathered into a compacted stream of the host-known
    /// capacity (fast when <see cref="MixtureOfMemoriesOptions.CapacityFactor"/> is below K / top_k).
    /// </summary>
    Sparse,
    /// <summary>Every memory runs over every token, an unrouted token being a step that neither decays nor writes (the readable reference form).</summary>
    Dense,
}

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

    /// <summary>
    /// Shares the q projection, the short-conv kernels and the decay parameters A_log, dt_bias across all memories, as
    /// the reference does (only k, v, α and β are per memory); false gives every memory its own (Zoo's earlier form).
    /// </summary>
    [Option("share the q projection, short-conv kernels, A_log and dt_bias across memories (reference); false: one per memory")]
    public bool SharedQuery { get; init; } = true;

    /// <summary>
    /// Scales a routed memory's write strength by the token's router weight (β → g_m β; Zoo's earlier form); the
    /// reference leaves β as it is and uses g_m only to weight the read.
    /// </summary>
    [Option("scale each routed memory's write strength β by the router weight g_m (the reference: false, g_m weights only the read)")]
    public bool ScaleWriteByRouter { get; init; }

    /// <summary>Weight of the load-balancing loss K · Σ_m f_m P_m added to the task loss.</summary>
    [Option("weight of the load-balancing auxiliary loss", Min = 0)]
    public double AuxLossWeight { get; init; } = 0.01;

    /// <summary>
    /// Divides the load-balancing loss's routed fraction f_m by top_k, so the loss is 1 at balance (Zoo's earlier form);
    /// the reference's f_m is the fraction of tokens that picked m, and its loss is top_k at balance.
    /// </summary>
    [Option("divide the load-balancing loss by top_k (1 at balance; the reference: false, top_k at balance)")]
    public bool AuxLossPerSlot { get; init; }

    /// <summary>Sparse (each memory over its routed tokens) or dense (every memory over every token); same result.</summary>
    [Option("routed memories over their routed tokens only (sparse; fast with a capacity_factor) or over every token with no-op steps (dense)")]
    public RoutedCompute Compute { get; init; } = RoutedCompute.Dense;

    /// <summary>
    /// Token capacity of each routed memory per forward call, as a multiple of its balanced load: a memory takes at most
    /// C = ⌈capacity_factor · L · top_k / K⌉ of the tokens routed to it (the first C, in order) and drops the rest, which
    /// neither write to it nor read from it (Switch Transformer's token dropping, Fedus et al. 2021). 0 (the default): no
    /// capacity, C = L, nothing is dropped (the paper's layer). A capacity is what lets the sparse form run without a
    /// device-to-host read: its compacted streams have the host-known length C instead of the longest routed stream.
    /// Both forms apply it, so they stay equal; <see cref="MixtureOfMemories.Step"/> (L = 1) never drops, so it equals
    /// a forward call only when that call dropped nothing.
    /// </summary>
    [Option("routed tokens each memory takes per forward call, as a multiple of its balanced load L·top_k/K (overflow dropped, Switch-style); 0: no limit", Min = 0, AddedLater = true)]
    public double CapacityFactor { get; init; }

    /// <summary>Heads, dims, chunking and conv of each memory.</summary>
    [Option("each memory's options (as for gated-deltanet)")]
    public LinearMemoryOptions Memory { get; init; } = new();

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (TopK > Memories) yield return ("top_k", $"{TopK} exceeds memories {Memories}; allowed: 1 … {Memories}");
        if (Memory.ValueHeadCount != Memory.Heads)
            yield return ("memory.value_heads", $"grouped value heads ({Memory.ValueHeads}) are not supported by mom; allowed: 0 or heads ({Memory.Heads})");
    }
}

/// <summary>
/// Mixture-of-Memories (Du et al. 2025, arXiv 2502.13685) in the form of its reference (fla's <c>mom</c> layer,
/// OpenSparseLLMs/MoM): K gated-delta memories and a router. Each token scores the memories (softmax), picks the top k
/// and writes its (key, value) only to those, with each memory's own β; a memory's state advances only on the tokens
/// routed to it (an unpicked memory neither decays nor writes). The read-out is Σ_{m picked} g_m S_mᵀ q, g the
/// renormalised top-k router weights, plus, optionally, a shared memory every token writes and reads. The q projection,
/// short-conv kernels and decay parameters A_log, dt_bias are shared by all memories; k, v, α and β are per memory.
/// State per token is constant and time is linear. The load-balancing loss (Switch Transformer, Fedus et al. 2021, as
/// Mixtral's <c>load_balancing_loss_func</c>) is exposed through <see cref="AuxiliaryLoss"/> for the trainer.
/// </summary>
/// <remarks>
/// <para>Zoo's earlier form stays available: <c>scale_write_by_router</c> (β → g_m β), <c>shared_query: false</c> (every
/// memory its own q, convs, A_log, dt_bias) and <c>aux_loss_per_slot</c> (the balance loss divided by top_k).</para>
/// <para>Differences from the reference that remain: the short conv runs causally over positions, before routing (in
/// training the reference packs every memory's routed tokens into one stream before its conv, so a token sees later
/// tokens and other samples; at inference it convolves each memory's compacted stream); the balance loss is one per
/// layer (the reference pools router logits over layers); A_log is drawn from U(1, 16) (the reference: U(0, 16); <c>memory: {a_init_min: 0}</c> gives it); and the
/// defaults are Zoo's small ones (4 memories, top-2, shared memory, 2 heads of d_model / heads, expand_v 1) where the
/// reference's model config has 4 heads × head dim 256, 4 memories, top-2, a shared memory, and its layer's own defaults
/// are 8 memories, expand_v 2, no shared memory.</para>
/// <para>Compute: memories are independent, so they are extra heads of one <see cref="MemoryFeatures"/> (head m·H + h
/// is head h of memory m; the shared memory is m = K). The sparse form gathers each (sequence, memory)'s routed
/// tokens into a compacted stream and runs the <see cref="GatedDelta"/> op over those alone, as the reference does; the
/// dense form runs every memory over every token with the unrouted steps turned into no-ops (α = 1, β = 0), which leaves
/// the state exactly as skipping them, so both forms give the same outputs, states and gradients. The dense form is
/// the default because it is exact without a device-to-host read: the reference sizes its compacted streams by the
/// longest one (a data-dependent shape, read back from the device on every forward). Zoo's sparse form sizes them by a
/// host-known capacity instead (<c>capacity_factor</c>, Switch-style dropping of overflow tokens); with no capacity
/// its streams are L long and it costs what the dense form costs.</para>
/// </remarks>
[ZooLayer("mom", typeof(MixtureOfMemoriesOptions), Summary = "Mixture-of-Memories: routed top-k gated-delta memories + shared memory (Du et al. 2025)")]
[ContractCase("{}")]
[ContractCase("{\"compute\": \"sparse\"}")]
[ContractCase("{\"memories\": 3, \"top_k\": 2, \"memory\": {\"chunk_size\": 4}}")]
[ContractCase("{\"memories\": 3, \"top_k\": 2, \"shared_query\": false, \"scale_write_by_router\": true, \"aux_loss_per_slot\": true, \"memory\": {\"chunk_size\": 4}}")]
[ContractCase("{\"memories\": 4, \"top_k\": 1, \"shared_memory\": false, \"rule\": \"delta\", \"compute\": \"sparse\", \"memory\": {\"heads\": 3, \"key_dim\": 5, \"value_dim\": 4, \"chunk_size\": 8}}")]
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
        var perMemory = m with { KeyDim = _dk, ValueDim = _dv };
        memories = options.SharedQuery
            ? new MemoryFeatures(dModel, perMemory, options.Rule, memories: Total)
            : new MemoryFeatures(dModel, perMemory with { Heads = Total * m.Heads }, options.Rule);
        router = nn.Linear(dModel, options.Memories, hasBias: false);
        readout = new MemoryReadout(dModel, m);
        RegisterComponents();
    }

    private int Total => _o.Memories + (_o.SharedMemory ? 1 : 0);

    /// <inheritdoc />
    public override Tensor? AuxiliaryLoss => _aux;

    /// <summary>State: all memories stacked as "S" [B, M·H, K, V] and the q, k, v conv caches (child "conv").</summary>
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
        var s0 = state?["S"];        // null for a fresh sequence: the chunked op then skips its first chunk's reads
        var caches = state?.Child("conv") ?? memories.InitialCaches(x.shape[0], x.device, x.dtype);
        var inputs = memories.Compute(x, caches);                                     // k, v, α, β: [B, M·H, L, ·]
        var (gate, probs) = Route(x);
        var picked = gate.gt(0).to(x.dtype);                                          // [B, L, K]
        long capacity = Capacity(x.shape[1]);
        var (kept, keptGate) = capacity < x.shape[1] ? Keep(gate, picked, capacity) : (picked, gate);
        var (read, s) = step || _o.Compute == RoutedCompute.Dense
            ? Dense(inputs, keptGate, kept, s0)
            : Sparse(inputs, keptGate, kept, s0, capacity);
        var y = readout.Compute(read, x);

        if (training && !step && _o.AuxLossWeight > 0)
        {
            // Switch-style balance: K · Σ_m f_m P_m, f_m the fraction of tokens that picked m, P_m its mean router
            // probability (top_k at balance, as in the reference); per slot, f_m / top_k (1 at balance).
            var fraction = picked.mean(new long[] { 0, 1 });
            if (_o.AuxLossPerSlot) fraction = fraction / _o.TopK;
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

    /// <summary>Tokens each routed memory takes in a call over <paramref name="length"/> positions (see <see cref="MixtureOfMemoriesOptions.CapacityFactor"/>).</summary>
    public long Capacity(long length) => _o.CapacityFactor <= 0
        ? length
        : Math.Min(length, (long)Math.Ceiling(_o.CapacityFactor * length * _o.TopK / _o.Memories));

    // A memory's first `capacity` routed tokens (in order) stay routed; the rest are dropped from it: no write, no read.
    private static (Tensor Kept, Tensor Gate) Keep(Tensor gate, Tensor picked, long capacity)
    {
        var kept = picked * picked.cumsum(1).le(capacity).to(picked.dtype);
        return (kept, gate * kept);
    }

    // Queries of all M memories [B, M·H, L, K] (the shared query repeated when memories share it).
    private Tensor Queries(MemoryInputs inputs) => _o.SharedQuery ? inputs.Q.repeat(1, Total, 1, 1) : inputs.Q;

    private (Tensor Output, Tensor State) Op(Tensor q, Tensor k, Tensor v, Tensor logDecay, Tensor beta, Tensor? s0)
    {
        // As many chunks as chunk_size needs, made as even as possible: a compacted stream of n tokens then pads at most
        // one token per chunk instead of up to a whole chunk (the chunk size changes rounding only, not the result).
        long l = q.shape[2], chunks = (l + _o.Memory.ChunkSize - 1) / _o.Memory.ChunkSize;
        return GatedDelta.Apply(_o.Memory.Form, q, k, v, logDecay, beta, s0, (int)((l + chunks - 1) / chunks), _erase);
    }

    /// <summary>
    /// The reference form: every memory over every token. Routed memory m gets log α ← [m picked] log α and
    /// β ← [m picked] β (g_m β when scaling writes by the router), so on a token not routed to it a memory is left
    /// exactly as it was; the read is weighted by g_m (1 for the shared memory).
    /// </summary>
    private (Tensor Read, Tensor State) Dense(MemoryInputs inputs, Tensor gate, Tensor picked, Tensor? s0)
    {
        long b = gate.shape[0], l = gate.shape[1];
        var always = ones(b, l, Total - _o.Memories, dtype: gate.dtype, device: gate.device);
        var readWeight = cat(new[] { gate, always }, -1);                             // [B, L, M]
        var routed = cat(new[] { picked, always }, -1);
        Tensor PerHead(Tensor perMemory) =>                                            // [B, L, M] → [B, M·H, L]
            perMemory.transpose(1, 2).repeat_interleave(_heads, dim: 1);
        var beta = inputs.Beta * PerHead(_o.ScaleWriteByRouter ? readWeight : routed);
        var logDecay = inputs.LogDecay * PerHead(routed);
        var (o, s) = Op(Queries(inputs), inputs.K, inputs.V, logDecay, beta, s0);
        var weights = readWeight.transpose(1, 2)[.., .., TensorIndex.None, .., TensorIndex.None];  // [B, M, 1, L, 1]
        return ((o.view(b, Total, _heads, l, _dv) * weights).sum(1), s);
    }

    /// <summary>
    /// The fast form: routed memory m runs only over the tokens routed to it. Their positions, in order, are gathered
    /// into a compacted stream of the capacity's length n (host-known, so nothing is read back from the device), the
    /// shorter streams padded with steps that neither decay nor write; outputs are weighted by g_m and scattered back to
    /// their positions. It equals <see cref="Dense"/>, whose unrouted steps are no-ops, given the same kept tokens
    /// (<paramref name="picked"/> holds at most n per stream); the shared memory runs over every token.
    /// </summary>
    private (Tensor Read, Tensor State) Sparse(MemoryInputs inputs, Tensor gate, Tensor picked, Tensor? s0, long n)
    {
        long b = gate.shape[0], l = gate.shape[1], k = _o.Memories, h = _heads, kh = k * h;
        var device = gate.device;
        // Sort key t for a token routed to the memory, L + t otherwise: each (sequence, memory)'s routed positions first, in order.
        var routedLong = picked.to(ScalarType.Int64);
        var key = arange(l, dtype: ScalarType.Int64, device: device)[TensorIndex.None, .., TensorIndex.None] + l * (1 - routedLong);
        var counts = routedLong.sum(1);                                               // [B, K], each ≤ n
        var index = key.argsort(1)[.., ..(int)n].transpose(1, 2).contiguous();    // [B, K, n] positions
        var valid = (arange(n, device: device)[TensorIndex.None, TensorIndex.None] < counts.unsqueeze(-1)).to(gate.dtype);

        // [B, K, H, L(, d)] → [B·K, H, n(, d)]
        Tensor Compact(Tensor perMemory)
        {
            var i = perMemory.dim() == 5
                ? index[.., .., TensorIndex.None, .., TensorIndex.None].expand(b, k, h, n, perMemory.shape[4])
                : index[.., .., TensorIndex.None, ..].expand(b, k, h, n);
            var c = perMemory.gather(3, i);
            return c.reshape(perMemory.dim() == 5 ? new[] { b * k, h, n, perMemory.shape[4] } : new[] { b * k, h, n });
        }
        Tensor Routed(Tensor perHead) =>                                              // [B, M·H, …] → [B, K, H, …]
            perHead.narrow(1, 0, kh).reshape(perHead.shape.Take(1).Concat(new[] { k, h }).Concat(perHead.shape.Skip(2)).ToArray());
        var q = _o.SharedQuery ? inputs.Q.unsqueeze(1).expand(b, k, h, l, _dk) : Routed(inputs.Q);
        var g = gate.transpose(1, 2).gather(2, index) * valid;                      // [B, K, n] read weights, 0 on padding
        var perStep = (_o.ScaleWriteByRouter ? g : valid).reshape(b * k, 1, n);
        var (o, sRouted) = Op(Compact(q), Compact(Routed(inputs.K)), Compact(Routed(inputs.V)),
            Compact(Routed(inputs.LogDecay)) * valid.reshape(b * k, 1, n), Compact(Routed(inputs.Beta)) * perStep,
            s0?.narrow(1, 0, kh).reshape(b * k, h, _dk, _dv));
        // Back to positions: [B·K, H, n, V] → [B, H, K·n, V], summed into [B, H, L, V] (padding adds zeros).
        var weighted = (o * g.reshape(b * k, 1, n, 1)).view(b, k, h, n, _dv).permute(0, 2, 1, 3, 4).reshape(b, h, k * n, _dv);
        var target = index.reshape(b, 1, k * n, 1).expand(b, h, k * n, _dv);
        var read = zeros(new[] { b, h, l, _dv }, dtype: o.dtype, device: device).scatter_add(2, target, weighted);
        var s = sRouted.reshape(b, kh, _dk, _dv);
        if (_o.SharedMemory)
        {
            Tensor Shared(Tensor perHead) => perHead.narrow(1, kh, h);
            var (os, ss) = Op(_o.SharedQuery ? inputs.Q : Shared(inputs.Q), Shared(inputs.K), Shared(inputs.V),
                Shared(inputs.LogDecay), Shared(inputs.Beta), s0 is null ? null : Shared(s0));
            read = read + os;
            s = cat(new[] { s, ss }, 1);
        }
        return (read, s);
    }
}
