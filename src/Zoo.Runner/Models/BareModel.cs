using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Tasks;
using static TorchSharp.torch;

namespace Zoo.Runner.Models;

/// <summary>
/// Neuroscience-style model: input linear → one recurrent layer → linear readout. <see cref="Hidden"/> exposes
/// the layer's trajectory (its output), the object of study in replay and fixed-point analyses.
/// </summary>
public sealed class BareModel : SequenceModel
{
    private readonly nn.Module<Tensor, Tensor> encoder;
    private readonly SequenceLayer layer;
    private readonly Linear readout;

    /// <summary>Builds the model around <paramref name="layer"/>.</summary>
    public BareModel(TaskSignature signature, ModelSpec spec, SequenceLayer layer) : base("BareModel")
    {
        encoder = signature.TokenInputs ? nn.Embedding(signature.InputVocab, spec.DModel) : nn.Linear(signature.InputDim, spec.DModel);
        this.layer = layer;
        readout = nn.Linear(spec.DModel, signature.OutputDim);
        RegisterComponents();
    }

    /// <summary>The recurrent layer.</summary>
    public SequenceLayer Layer => layer;

    /// <inheritdoc />
    public override IReadOnlyList<SequenceLayer> SequenceLayers => new[] { layer };

    /// <summary>Hidden trajectory [B, L, D] for inputs <paramref name="x"/>, from <paramref name="state"/> (or the initial state).</summary>
    public (Tensor Hidden, LayerState State) Hidden(Tensor x, LayerState? state = null) => layer.Forward(encoder.forward(x), state);

    /// <summary>Readout of a hidden trajectory.</summary>
    public Tensor Readout(Tensor hidden) => readout.forward(hidden);

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (h, state) = Hidden(x);
        state.Dispose();
        return readout.forward(h).MoveToOuterDisposeScope();
    }
}
