using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Zoo.Runner.Training;

/// <summary>
/// Clips gradients to a total L2 norm on the device, returning the norm as a tensor: libtorch's
/// <c>clip_grad_norm_</c> (what TorchSharp's <c>nn.utils.clip_grad_norm_</c> calls) computes the same, op for op, but
/// returns the norm as a number, a device → host sync on every training step.
/// </summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales the gradients of <paramref name="parameters"/> by <c>min(1, maxNorm / (norm + 1e-6))</c>, where norm is
    /// their total L2 norm, and returns that norm (a 0-dim tensor; zero when no parameter has a gradient). The
    /// gradients are multiplied even when the factor is 1, exactly as libtorch does, so the results are bit-identical.
    /// </summary>
    public static Tensor ClipByTotalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return zeros(Array.Empty<long>());
        using var scope = NewDisposeScope();
        var norms = grads.Select(g => g.norm(2.0f)).ToArray();
        var total = norms.Length == 1 ? norms[0] : stack(norms).norm(2.0f);
        // libtorch writes max_norm / (total + 1e-6) as a tensor filled with max_norm divided in place.
        var denominator = total + 1e-6;
        var factor = full_like(denominator, maxNorm).div_(denominator).clamp_max(1.0);
        using (no_grad())
            foreach (var g in grads) g.mul_(factor);
        return total.MoveToOuterDisposeScope();
    }
}
