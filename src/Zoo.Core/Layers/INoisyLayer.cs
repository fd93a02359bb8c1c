using TorchSharp;
using static TorchSharp.torch;

namespace Zoo.Core.Layers;

/// <summary>
/// A layer with intrinsic noise that can be set for evaluation (replay is the network running on noise alone).
/// </summary>
public interface INoisyLayer
{
    /// <summary>Noise σ used in evaluation mode.</summary>
    double ReplayNoise { get; set; }

    /// <summary>Generator for that noise; null uses torch's global generator.</summary>
    Generator? NoiseGenerator { get; set; }
}
