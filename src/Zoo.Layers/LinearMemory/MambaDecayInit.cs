using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// Mamba-2's initialisation of the data-dependent decay log α = −A·softplus(W x + dt_bias), which Mamba-2, fla's Gated
/// DeltaNet, Gated DeltaProduct and KDA share. Call inside <c>no_grad</c>; each call draws from torch's generator, so
/// the order of calls is part of a layer's initialisation.
/// </summary>
internal static class MambaDecayInit
{
    /// <summary>A_log = log A, A ~ U(min, max) (mamba_ssm's <c>A_init_range</c>, (1, 16) by default).</summary>
    public static Tensor ALog(long n, double min = 1, double max = 16) => empty(n).uniform_(min, max).log();

    /// <summary>
    /// dt_bias = softplus⁻¹(Δ) with Δ log-uniform in [dtMin, dtMax] and floored at 1e-4 (mamba_ssm's dt_min, dt_max,
    /// dt_init_floor), so that a fresh model's step size softplus(dt_bias) is Δ.
    /// </summary>
    public static Tensor DtBias(long n, double dtMin = 1e-3, double dtMax = 0.1)
    {
        var (lo, hi) = (Math.Log(dtMin), Math.Log(dtMax));
        var dt = (rand(n) * (hi - lo) + lo).exp().clamp_min(1e-4);
        return dt + (-(-dt).expm1()).log();
    }
}
