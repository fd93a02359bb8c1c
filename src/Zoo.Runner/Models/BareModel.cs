using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Tasks;
using static TorchSharp.torch;

namespace Zoo.Runner.Models;

/// <summary>
/// Neuroscience-style model: input linear → one recurrent layer → linear readout. <see cref="Hidden"/> exposes
/// the layer's trajectory (its output), the object of study in replay and fixed-point analyses. When the task gives a
/// per-sequence context (<see cref="TaskSignature.ContextDim"/> &gt; 0), a learned linear encoder sets the layer's initial
/// activity from it (the start-position encoder of the path-integration models; the layer must be an
/// <see cref="IActivityState"/>).
/// </summary>
public sealed class BareModel : SequenceModel, IDrivableModel
{
    private readonly nn.Module<Tensor, Tensor> encoder;
    private readonly SequenceLayer layer;
    private readonly Linear readout;
    private readonly Linear? initial;

    /// <summary>Builds the model around <paramref name="layer"/>.</summary>
    public BareModel(TaskSignature signature, ModelSpec spec, SequenceLayer layer) : base("BareModel")
    {
        encoder = signature.TokenInputs ? nn.Embedding(signature.InputVocab, spec.DModel) : nn.Linear(signature.InputDim, spec.DModel, hasBias: spec.Biases);
        this.layer = layer;
        readout = nn.Linear(spec.DModel, signature.OutputDim, hasBias: spec.Biases);
        if (signature.ContextDim > 0)
        {
            RequireActivityState(layer is IActivityState, layer.GetName(), null, null, "layer");
            initial = nn.Linear(signature.ContextDim, spec.DModel, hasBias: false);
        }
        RegisterComponents();
    }

    /// <summary>
    /// Refuses, with a config error on <paramref name="file"/>'s <paramref name="field"/>, a layer that cannot start from an
    /// encoded activity (not an <see cref="IActivityState"/>) for a task that gives each sequence a context. The suite plan
    /// asks before anything trains; the constructor asks again for models built another way (checkpoints, tests).
    /// </summary>
    public static void RequireActivityState(bool takesActivity, string layer, string? task, string? file, string field)
    {
        if (!takesActivity)
            throw new ZooConfigException(file, field, $"layer '{layer}' cannot start from an encoded initial state, which {(task is null ? "the task" : $"task '{task}'")} needs (its sequences come with a context); allowed: layers implementing IActivityState (leaky-rnn)");
    }

    /// <summary>The recurrent layer.</summary>
    public SequenceLayer Layer => layer;

    /// <inheritdoc />
    public override IReadOnlyList<SequenceLayer> SequenceLayers => new[] { layer };

    /// <summary>The layer's initial state for <paramref name="context"/> [B, C] (null: the layer's own initial state).</summary>
    public LayerState? InitialState(Tensor? context) =>
        context is null || initial is null ? null : ((IActivityState)layer).StateFromActivity(initial.forward(context));

    /// <summary>Hidden trajectory [B, L, D] for inputs <paramref name="x"/>, from <paramref name="state"/> (or the initial state).</summary>
    public (Tensor Hidden, LayerState State) Hidden(Tensor x, LayerState? state = null) => layer.Forward(encoder.forward(x), state);

    /// <summary>Readout of a hidden trajectory.</summary>
    public Tensor Readout(Tensor hidden) => readout.forward(hidden);

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => Run(x, null);

    /// <inheritdoc />
    public override Tensor Forward(TaskBatch batch) => Run(batch.Inputs, batch.Context);

    /// <inheritdoc />
    public Tensor Drive(Tensor inputs, Tensor? context, double noise, Generator? generator)
    {
        if (noise > 0 && layer is not INoisyLayer)
            throw new InvalidOperationException($"layer '{layer.GetName()}' has no intrinsic noise to set (σ = {noise}); replay needs an INoisyLayer");
        bool wasTraining = training;
        eval();
        var noisy = layer as INoisyLayer;
        var (oldNoise, oldGenerator) = (noisy?.ReplayNoise ?? 0, noisy?.NoiseGenerator);
        if (noisy is not null) (noisy.ReplayNoise, noisy.NoiseGenerator) = (noise, generator);
        try
        {
            using var noGrad = no_grad();
            var device = readout.weight!.device;
            return Run(inputs.to(device), context?.to(device));
        }
        finally
        {
            if (noisy is not null) (noisy.ReplayNoise, noisy.NoiseGenerator) = (oldNoise, oldGenerator);
            train(wasTraining);
        }
    }

    private Tensor Run(Tensor x, Tensor? context)
    {
        using var scope = NewDisposeScope();
        var (h, state) = Hidden(x, InitialState(context));
        state.Dispose();
        return readout.forward(h).MoveToOuterDisposeScope();
    }
}
