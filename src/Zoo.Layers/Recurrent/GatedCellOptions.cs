using Zoo.Core.Options;

namespace Zoo.Layers.Recurrent;

/// <summary>Options of the gated cells <see cref="Lstm"/> and <see cref="Gru"/>.</summary>
public sealed record GatedCellOptions
{
    /// <summary>Learned biases in the gates.</summary>
    [Option("learned gate biases")]
    public bool Bias { get; init; } = true;
}
