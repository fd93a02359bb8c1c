using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Tests.MemoryPlugin;

/// <summary>No options.</summary>
public sealed record AdditiveMemoryOptions;

/// <summary>
/// The smallest readable memory: one head, S_t = S_{t−1} + k_t v_tᵀ, read o_t = q_t S_t, output W_o o_t. A plugin layer
/// that Memory Caching must be able to wrap like a built-in one.
/// </summary>
[ZooLayer("plugin-additive-memory", typeof(AdditiveMemoryOptions), Summary = "test plugin: additive outer-product memory")]
public sealed class AdditiveMemory : SequenceLayer, IReadableMemory
{
    private readonly Linear q_proj, k_proj, v_proj, o_proj;

    /// <summary>Builds the layer.</summary>
    public AdditiveMemory(int dModel, AdditiveMemoryOptions options) : base("AdditiveMemory", dModel)
    {
        q_proj = nn.Linear(dModel, dModel, hasBias: false);
        k_proj = nn.Linear(dModel, dModel, hasBias: false);
        v_proj = nn.Linear(dModel, dModel, hasBias: false);
        o_proj = nn.Linear(dModel, dModel, hasBias: false);
        RegisterComponents();
    }

    /// <summary>State: the memory "S" [B, 1, D, D], zero.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        new LayerState().With("S", zeros(new long[] { batch, 1, DModel, DModel }, dtype: dtype, device: device));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null)
    {
        using var scope = NewDisposeScope();
        var (reads, _, next) = Memorize(x, state);
        return (Output(reads, x).MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) => AsOneToken(x, t => Forward(t, state));

    /// <inheritdoc />
    public override long StateSize(long sequenceLength) => (long)DModel * DModel;

    /// <summary>o_t = q_t (S_0 + Σ_{s≤t} k_s v_sᵀ), as (q S_0) + causal(q kᵀ) v.</summary>
    public (Tensor Reads, Tensor Queries, LayerState State) Memorize(Tensor x, LayerState? state)
    {
        using var scope = NewDisposeScope();
        state ??= InitialState(x.shape[0], x.device, x.dtype);
        Tensor Head(Linear p) => p.forward(x).unsqueeze(1);                                // [B, 1, L, D]
        var (q, k, v) = (Head(q_proj), Head(k_proj), Head(v_proj));
        long l = x.shape[1];
        var causal = ones(l, l, dtype: ScalarType.Bool, device: x.device).tril();
        var reads = q.matmul(state["S"]) + q.matmul(k.transpose(-1, -2)).masked_fill(causal.logical_not(), 0).matmul(v);
        var next = new LayerState().With("S", state["S"] + k.transpose(-1, -2).matmul(v));
        return (reads.MoveToOuterDisposeScope(), q.MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    public Tensor Read(LayerState memory, Tensor queries) => queries.matmul(memory["S"]);

    /// <summary>Linear in S, so the soup's read is the weighted sum of reads.</summary>
    public Tensor ReadMixture(IReadOnlyList<LayerState> memories, Tensor weights, Tensor queries) =>
        Enumerable.Range(0, memories.Count)
            .Select(i => weights[.., .., i][.., TensorIndex.None, .., TensorIndex.None] * Read(memories[i], queries))
            .Aggregate((a, b) => a + b);

    /// <inheritdoc />
    public Tensor Output(Tensor reads, Tensor x) => o_proj.forward(reads.squeeze(1));
}
