using TorchSharp;
using static TorchSharp.torch;

namespace Zoo.Core.Layers;

/// <summary>
/// A layer whose state can start from a given activity vector, e.g. a path integrator's hidden state encoded from the
/// start position (Krishna et al. 2024; docs/architecture.md, 'Tasks'). The bare model uses it when a task supplies a context.
/// </summary>
public interface IActivityState
{
    /// <summary>A state whose activity is <paramref name="h0"/> <c>[B, D]</c> and whose other parts are at rest.</summary>
    LayerState StateFromActivity(Tensor h0);
}
