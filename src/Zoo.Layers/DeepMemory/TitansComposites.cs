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
/// A Titans block that pairs the long-term memory with (sliding-window) attention: state handling shared by MAL and
/// MAG, which differ only in how the two are composed.
/// </summary>
public abstract class TitansHybrid : SequenceLayer
{
    private readonly TitansMemory memory;
    private readonly CausalAttention attention;

    /// <summary>Builds the memory and the attention.</summary>
    protected TitansHybrid(string name, int dModel, TitansHybridOptions options) : base(name, dModel)
    {
        memory = new TitansMemory(dModel, options.Memory);
        attention = new CausalAttention(dModel, options.Attention);
        RegisterComponents();
    }

    /// <summary>State: the children "memory" and "attention", each in its layer's own names.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        State(memory.InitialState(batch, device, dtype), attention.InitialState(batch, device, dtype));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => Run(x, state, step: false);

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) =>
        AsOneToken(x, t => Run(t, state, step: true));

    /// <inheritdoc />
    public override long StateSize(long sequenceLength) => memory.StateSize(sequenceLength) + attention.StateSize(sequenceLength);

    /// <summary>The block's output from x [B, L, D], given the memory and the attention as functions of their input.</summary>
    protected abstract Tensor Compose(Tensor x, Func<Tensor, Tensor> remember, Func<Tensor, Tensor> attend);

    // The parallel forms run on x [B, L, D] directly; Step runs them on one token (L = 1) through the recurrent forms.
    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state, bool step)
    {
        using var scope = NewDisposeScope();
        state ??= InitialState(x.shape[0], x.device, x.dtype);
        var memoryState = state.Child("memory");
        var attentionState = state.Child("attention");
        Tensor Call(SequenceLayer layer, Tensor input, ref LayerState s)
        {
            var (y, next) = step ? layer.Step(input.squeeze(1), s) : layer.Forward(input, s);
            s = next;
            return step ? y.unsqueeze(1) : y;
        }
        var y = Compose(x, input => Call(memory, input, ref memoryState), input => Call(attention, input, ref attentionState));
        return (y.MoveToOuterDisposeScope(), State(memoryState, attentionState).MoveToOuterDisposeScope());
    }

    private static LayerState State(LayerState memory, LayerState attention) =>
        new LayerState().With("memory", memory).With("attention", attention);
}

/// <summary>
/// Titans MAL, memory as a layer (Behrouz et al. 2024, §4.3): the long-term memory processes the sequence first and
/// sliding-window attention (with persistent memory tokens) runs on its output, y = SWA(LMM(x)).
/// </summary>
[ZooLayer("titans-mal", typeof(TitansHybridOptions), Summary = "Titans MAL: neural memory layer followed by sliding-window attention")]
[ContractCase("{}")]
[ContractCase("{\"memory\": {\"chunk_size\": 4}, \"attention\": {\"heads\": 2, \"window\": 4, \"persistent_tokens\": 2}}")]
public sealed class TitansMal : TitansHybrid
{
    /// <summary>Builds the layer.</summary>
    public TitansMal(int dModel, TitansHybridOptions options) : base("TitansMal", dModel, options) { }

    /// <inheritdoc />
    protected override Tensor Compose(Tensor x, Func<Tensor, Tensor> remember, Func<Tensor, Tensor> attend) => attend(remember(x));
}

/// <summary>
/// Titans MAG, memory as a gate (Behrouz et al. 2024, §4.2): sliding-window attention (short-term, with persistent
/// tokens) and the long-term memory read the same input in parallel and are mixed by a learned, input-dependent gate:
/// y = g ⊙ SWA(x) + (1 − g) ⊙ LMM(x), g = σ(W_g x).
/// </summary>
[ZooLayer("titans-mag", typeof(TitansHybridOptions), Summary = "Titans MAG: gated mix of sliding-window attention and the neural memory")]
[ContractCase("{}")]
[ContractCase("{\"memory\": {\"chunk_size\": 3}, \"attention\": {\"heads\": 2, \"window\": 5, \"persistent_tokens\": 1}}")]
public sealed class TitansMag : TitansHybrid
{
    private readonly Linear gate;

    /// <summary>Builds the layer.</summary>
    public TitansMag(int dModel, TitansHybridOptions options) : base("TitansMag", dModel, options)
    {
        gate = nn.Linear(dModel, dModel);
        register_module("gate", gate); // the base class already ran RegisterComponents, which runs only once

    }

    /// <inheritdoc />
    protected override Tensor Compose(Tensor x, Func<Tensor, Tensor> remember, Func<Tensor, Tensor> attend)
    {
        var g = sigmoid(gate.forward(x));
        return g * attend(x) + (1 - g) * remember(x);
    }
}
