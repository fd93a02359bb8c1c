using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Layers.Attention;
using static TorchSharp.torch;

namespace Zoo.Layers.DeepMemory;

/// <summary>Options of the Titans variants that pair the long-term memory with sliding-window attention.</summary>
public sealed record TitansHybridOptions
{
    /// <summary>The long-term memory.</summary>
    [Option("the neural long-term memory (as titans-lmm)")]
    public TitansMemoryOptions Memory { get; init; } = new();

    /// <summary>The short-term memory: sliding-window attention with persistent tokens.</summary>
    [Option("the attention (as attention); Titans uses a sliding window and persistent tokens")]
    public AttentionOptions Attention { get; init; } = new() { Window = 64, PersistentTokens = 4 };
}

/// <summary>
/// Titans MAL, memory as a layer (Behrouz et al. 2024, §4.3): the long-term memory processes the sequence first and
/// sliding-window attention (with persistent memory tokens) runs on its output, y = SWA(LMM(x)).
/// </summary>
[ZooLayer("titans-mal", typeof(TitansHybridOptions), Summary = "Titans MAL: neural memory layer followed by sliding-window attention")]
public sealed class TitansMal : SequenceLayer
{
    private readonly TitansMemory memory;
    private readonly CausalAttention attention;
    private readonly int _memoryParts;

    /// <summary>Builds the layer.</summary>
    public TitansMal(int dModel, TitansHybridOptions options) : base("TitansMal", dModel)
    {
        memory = new TitansMemory(dModel, options.Memory);
        attention = new CausalAttention(dModel, options.Attention);
        _memoryParts = 3 * options.Memory.Depth + 1;
        RegisterComponents();
    }

    /// <summary>Memory state parts, then attention state parts.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        new(memory.InitialState(batch, device, dtype).Parts.Concat(attention.InitialState(batch, device, dtype).Parts).ToArray());

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) =>
        Run(x, state, (layer, input, s) => layer.Forward(input, s));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) =>
        Run(x, state, (layer, input, s) => layer.Step(input, s!));

    /// <inheritdoc />
    public override long StateSize(long sequenceLength) => memory.StateSize(sequenceLength) + attention.StateSize(sequenceLength);

    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state, Func<SequenceLayer, Tensor, LayerState?, (Tensor, LayerState)> call)
    {
        using var scope = NewDisposeScope();
        state ??= InitialState(x.shape[0], x.device, x.dtype);
        var (m, ms) = call(memory, x, new LayerState(state.Parts.Take(_memoryParts).ToArray()));
        var (y, ats) = call(attention, m, new LayerState(state.Parts.Skip(_memoryParts).ToArray()));
        var next = new LayerState(ms.Parts.Concat(ats.Parts).ToArray()).MoveToOuterDisposeScope();
        return (y.MoveToOuterDisposeScope(), next);
    }
}

/// <summary>
/// Titans MAG, memory as a gate (Behrouz et al. 2024, §4.2): sliding-window attention (short-term, with persistent
/// tokens) and the long-term memory read the same input in parallel and are mixed by a learned, input-dependent gate:
/// y = g ⊙ SWA(x) + (1 − g) ⊙ LMM(x), g = σ(W_g x).
/// </summary>
[ZooLayer("titans-mag", typeof(TitansHybridOptions), Summary = "Titans MAG: gated mix of sliding-window attention and the neural memory")]
public sealed class TitansMag : SequenceLayer
{
    private readonly TitansMemory memory;
    private readonly CausalAttention attention;
    private readonly Linear gate;
    private readonly int _memoryParts;

    /// <summary>Builds the layer.</summary>
    public TitansMag(int dModel, TitansHybridOptions options) : base("TitansMag", dModel)
    {
        memory = new TitansMemory(dModel, options.Memory);
        attention = new CausalAttention(dModel, options.Attention);
        gate = nn.Linear(dModel, dModel);
        _memoryParts = 3 * options.Memory.Depth + 1;
        RegisterComponents();
    }

    /// <summary>Memory state parts, then attention state parts.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        new(memory.InitialState(batch, device, dtype).Parts.Concat(attention.InitialState(batch, device, dtype).Parts).ToArray());

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) =>
        Run(x, state, (layer, input, s) => layer.Forward(input, s));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) =>
        Run(x, state, (layer, input, s) => layer.Step(input, s!));

    /// <inheritdoc />
    public override long StateSize(long sequenceLength) => memory.StateSize(sequenceLength) + attention.StateSize(sequenceLength);

    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state, Func<SequenceLayer, Tensor, LayerState?, (Tensor, LayerState)> call)
    {
        using var scope = NewDisposeScope();
        state ??= InitialState(x.shape[0], x.device, x.dtype);
        var (m, ms) = call(memory, x, new LayerState(state.Parts.Take(_memoryParts).ToArray()));
        var (a, ats) = call(attention, x, new LayerState(state.Parts.Skip(_memoryParts).ToArray()));
        var g = sigmoid(gate.forward(x));
        var next = new LayerState(ms.Parts.Concat(ats.Parts).ToArray()).MoveToOuterDisposeScope();
        return ((g * a + (1 - g) * m).MoveToOuterDisposeScope(), next);
    }
}
