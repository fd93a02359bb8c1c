using Zoo.Core.Layers;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Tests.BadPlugin;

/// <summary>No options.</summary>
public sealed record NoOptions;

/// <summary>A layer that behaves until asked for state; the base of the broken ones below.</summary>
public abstract class IdentityLayer : SequenceLayer
{
    protected IdentityLayer(string name, int dModel) : base(name, dModel) { }
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) => new();
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => (x.alias(), new());
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) => (x.alias(), state);
    public override long StateSize(long sequenceLength) => 0;
}

/// <summary>Throws in its constructor.</summary>
[ZooLayer("throws-on-build", typeof(NoOptions))]
public sealed class ThrowsOnBuild : IdentityLayer
{
    public ThrowsOnBuild(int dModel, NoOptions options) : base("ThrowsOnBuild", dModel) =>
        throw new InvalidOperationException("deliberate failure in the constructor");
}

/// <summary>Fails every forward the way libtorch reports an exhausted device.</summary>
[ZooLayer("oom-on-forward", typeof(NoOptions))]
public sealed class OomOnForward : IdentityLayer
{
    public OomOnForward(int dModel, NoOptions options) : base("OomOnForward", dModel) { }
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) =>
        throw new System.Runtime.InteropServices.ExternalException("CUDA out of memory. Tried to allocate 20.00 GiB");
}

/// <summary>Asks libtorch's CPU allocator for 2^47 bytes (all of x86-64's user address space) on every forward: a real allocation failure.</summary>
[ZooLayer("allocates-too-much", typeof(NoOptions))]
public sealed class AllocatesTooMuch : IdentityLayer
{
    public AllocatesTooMuch(int dModel, NoOptions options) : base("AllocatesTooMuch", dModel) { }
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) =>
        (x + empty(1L << 45, dtype: ScalarType.Float32).sum(), new());
}

/// <summary>Takes a name the example plugin already uses.</summary>
[ZooLayer("example-ema", typeof(NoOptions))]
public sealed class DuplicateEma : IdentityLayer
{
    public DuplicateEma(int dModel, NoOptions options) : base("DuplicateEma", dModel) { }
}

/// <summary>
/// A working exponential moving average h_t = ½ h_{t−1} + ½ W x_t in its parallel form, whose <see cref="Step"/> forgets
/// the state it is given and starts from zero at every token. It trains and benchmarks without complaint; only the
/// contract (step == parallel) catches it.
/// </summary>
[ZooLayer("step-ignores-state", typeof(NoOptions))]
public sealed class StepIgnoresState : SequenceLayer
{
    private readonly TorchSharp.Modules.Linear proj;

    public StepIgnoresState(int dModel, NoOptions options) : base("StepIgnoresState", dModel)
    {
        proj = nn.Linear(dModel, dModel, hasBias: false);
        RegisterComponents();
    }

    public override LayerState InitialState(long batch, Device device, ScalarType dtype) => new LayerState().With("h", zeros(batch, DModel, dtype: dtype, device: device));

    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null)
    {
        var h = state?["h"] ?? zeros(x.shape[0], DModel, dtype: x.dtype, device: x.device);
        var outputs = new List<Tensor>();
        foreach (var token in proj.forward(x).unbind(1))
        {
            h = 0.5 * h + 0.5 * token;
            outputs.Add(h);
        }
        return (stack(outputs, 1), new LayerState().With("h", h));
    }

    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state)
    {
        var h = 0.5 * proj.forward(x); // the bug: ½ h_{t−1} is missing
        return (h, new LayerState().With("h", h));
    }

    public override long StateSize(long sequenceLength) => DModel;
}
