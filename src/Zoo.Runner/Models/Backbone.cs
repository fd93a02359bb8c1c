using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Nn;
using Zoo.Core.Tasks;
using static TorchSharp.torch;

namespace Zoo.Runner.Models;

/// <summary>
/// Language-style model: embedding → N × [RMSNorm → layer → residual; RMSNorm → SwiGLU → residual] → RMSNorm → head.
/// Real-valued inputs enter through a linear map instead of the embedding.
/// </summary>
public sealed class Backbone : SequenceModel
{
    private readonly nn.Module<Tensor, Tensor> embed;
    private readonly ModuleList<SequenceLayer> mixers;
    private readonly ModuleList<RmsNorm> mixerNorms;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> mlps;
    private readonly ModuleList<RmsNorm> mlpNorms;
    private readonly RmsNorm finalNorm;
    private readonly Linear head;

    /// <param name="signature">Task shapes.</param>
    /// <param name="spec">Model sizes.</param>
    /// <param name="makeLayer">Builds the i-th sequence layer.</param>
    public Backbone(TaskSignature signature, ModelSpec spec, Func<int, SequenceLayer> makeLayer) : base("Backbone")
    {
        int d = spec.DModel;
        embed = signature.TokenInputs ? nn.Embedding(signature.InputVocab, d) : nn.Linear(signature.InputDim, d);
        mixers = new ModuleList<SequenceLayer>(Enumerable.Range(0, spec.NLayers).Select(makeLayer).ToArray());
        mixerNorms = new ModuleList<RmsNorm>(Enumerable.Range(0, spec.NLayers).Select(_ => new RmsNorm(d)).ToArray());
        int hidden = (int)Math.Round(spec.MlpRatio * d);
        mlps = new ModuleList<nn.Module<Tensor, Tensor>>(hidden == 0 ? Array.Empty<nn.Module<Tensor, Tensor>>()
            : Enumerable.Range(0, spec.NLayers).Select(_ => (nn.Module<Tensor, Tensor>)new SwiGlu(d, hidden)).ToArray());
        mlpNorms = new ModuleList<RmsNorm>(Enumerable.Range(0, hidden == 0 ? 0 : spec.NLayers).Select(_ => new RmsNorm(d)).ToArray());
        finalNorm = new RmsNorm(d);
        head = nn.Linear(d, signature.OutputDim, hasBias: false);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override IReadOnlyList<SequenceLayer> SequenceLayers => mixers.ToList();

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = embed.forward(x);
        for (int i = 0; i < mixers.Count; i++)
        {
            h = h + mixers[i].forward(mixerNorms[i].forward(h));
            if (mlps.Count > 0) h = h + mlps[i].forward(mlpNorms[i].forward(h));
        }
        return head.forward(finalNorm.forward(h)).MoveToOuterDisposeScope();
    }
}
