using Zoo.Core.Options;

namespace Zoo.Runner.Models;

/// <summary>Model shape (docs/architecture.md, 'Models').</summary>
public enum ModelKind
{
    /// <summary>Embedding → N × [RMSNorm → layer → residual; RMSNorm → SwiGLU → residual] → RMSNorm → head.</summary>
    Backbone,
    /// <summary>Input linear → one recurrent layer → linear readout (neuroscience tasks).</summary>
    Bare,
}

/// <summary>The <c>model</c> object of a suite file.</summary>
public sealed record ModelSpec
{
    /// <summary>Model shape.</summary>
    [Option("model shape")]
    public ModelKind Kind { get; init; } = ModelKind.Backbone;

    /// <summary>Width of the residual stream (and of the layer).</summary>
    [Option("width d_model", Min = 1)]
    public int DModel { get; init; } = 64;

    /// <summary>Number of blocks (backbone only).</summary>
    [Option("number of blocks (backbone)", Min = 1)]
    public int NLayers { get; init; } = 2;

    /// <summary>SwiGLU hidden size as a multiple of d_model; 0 leaves the MLP out (Zoology's identity state mixer).</summary>
    [Option("SwiGLU hidden / d_model (0 = no MLP)", Min = 0)]
    public double MlpRatio { get; init; } = 4.0;

    /// <summary>
    /// Biases in the bare model's input encoder and readout. On by default (Zoo's earlier form); the replay
    /// predecessor (Krishna et al. 2024) has none, and an input bias is a constant drive at zero input, which moves
    /// the replay fixed points that adaptation and momentum findings rest on.
    /// </summary>
    [Option("biases in the bare model's input encoder and readout (the replay predecessor: false)", AddedLater = true)]
    public bool Biases { get; init; } = true;

}
