using TorchSharp;
using static TorchSharp.torch;

namespace Zoo.Core.Tasks;

/// <summary>
/// A trained model a task can drive itself after training (docs/architecture.md, 'Tasks': replay runs the trained RNN with zero input).
/// </summary>
public interface IDrivableModel
{
    /// <summary>
    /// Runs the model in evaluation mode on <paramref name="inputs"/> <c>[B, T, I]</c> from the initial condition
    /// <paramref name="context"/> <c>[B, C]</c> (or the layer's initial state when null), with the recurrent layer's
    /// noise set to <paramref name="noise"/> drawn from <paramref name="generator"/>; returns the readout <c>[B, T, O]</c>.
    /// </summary>
    Tensor Drive(Tensor inputs, Tensor? context, double noise, Generator? generator);
}
