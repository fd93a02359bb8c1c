using static TorchSharp.torch;

namespace Zoo.Tasks.ShortTermMemory;

/// <summary>How a trained network holds the cue across the delay (Kurtkaya et al.).</summary>
public enum Mechanism
{
    /// <summary>Slow-point manifold: the state drifts slowly near (approximate) fixed points.</summary>
    SlowPoint,
    /// <summary>Limit cycle: the state oscillates and the answer is timed by the phase.</summary>
    LimitCycle,
}

/// <summary>
/// The two mechanism tests of Kurtkaya et al., applied to a trained network run for 9× the trial length (cue, then
/// zeros). <see cref="CentralPowerShare"/> is the authors' test: project the rates on their top two principal
/// components, take the time-by-time correlation matrix of the projected trajectory, its 2-D FFT, and the share of
/// power within radius 3 of the zero frequency; below 0.5 the trajectory keeps returning to earlier states
/// (limit cycle), otherwise its correlation is slowly varying (slow points). <see cref="OutputRms"/> is the simpler
/// test the authors also wrote (output fluctuation over the last trial-length window above 0.1 → limit cycle).
/// </summary>
public static class MemoryMechanism
{
    /// <summary>Radius (in frequency bins) of the central disc of the FFT test.</summary>
    public const int Radius = 3;

    /// <summary>Central power share below which the FFT test says limit cycle.</summary>
    public const double PowerThreshold = 0.5;

    /// <summary>Output RMS above which the RMS test says limit cycle.</summary>
    public const double RmsThreshold = 0.1;

    /// <summary>FFT test verdict for a central power share.</summary>
    public static Mechanism FromPowerShare(double share) => share < PowerThreshold ? Mechanism.LimitCycle : Mechanism.SlowPoint;

    /// <summary>RMS test verdict for an output RMS.</summary>
    public static Mechanism FromRms(double rms) => rms > RmsThreshold ? Mechanism.LimitCycle : Mechanism.SlowPoint;

    /// <summary>Short name used in result rows: <c>sp</c> or <c>lc</c>.</summary>
    public static string Code(Mechanism m) => m == Mechanism.LimitCycle ? "lc" : "sp";

    /// <summary>
    /// Share of the power of the 2-D FFT of the time-by-time correlation matrix of the top-2 PC projection of
    /// <paramref name="rates"/> <c>[T, N]</c> that lies within <paramref name="radius"/> bins of the zero frequency.
    /// As in the authors' code, the principal axes come from the centred rates and the uncentred rates are projected
    /// on them; the correlation between time points t and s is the Pearson correlation of their two PC coordinates
    /// (a time point whose two coordinates are equal has zero variance and gets correlation 0, where the authors'
    /// <c>corrcoef</c> would give NaN).
    /// </summary>
    public static double CentralPowerShare(Tensor rates, int radius = Radius)
    {
        using var scope = NewDisposeScope();
        var x = rates.to(ScalarType.Float64);
        long n = x.shape[0];
        var centred = x - x.mean(new long[] { 0 }, keepdim: true);
        var (_, _, vh) = linalg.svd(centred, fullMatrices: false);
        var projected = x.matmul(vh.narrow(0, 0, Math.Min(2, vh.shape[0])).t());  // [T, 2]
        var correlation = TimeCorrelation(projected);
        var power = fft.fftshift(fft.fft2(correlation), new long[] { -2, -1 }).abs().square();
        var disc = CentralDisc(n, radius);
        var total = power.sum().item<double>();
        return total == 0 ? 1.0 : (power * disc).sum().item<double>() / total;
    }

    /// <summary>
    /// Pearson correlation between the rows of <paramref name="points"/> <c>[T, D]</c> (each row a time point's D
    /// coordinates): a <c>[T, T]</c> matrix; zero-variance rows correlate 0 with everything.
    /// </summary>
    public static Tensor TimeCorrelation(Tensor points)
    {
        var c = points - points.mean(new long[] { -1 }, keepdim: true);
        var norm = c.norm(-1, keepdim: true);
        var unit = where(norm > 0, c / norm, zeros_like(c));
        return unit.matmul(unit.t()).clamp(-1, 1);
    }

    /// <summary>Indicator [n, n] of the bins within <paramref name="radius"/> of the centre (n/2, n/2) of an fftshift-ed spectrum.</summary>
    public static Tensor CentralDisc(long n, int radius)
    {
        var i = arange(n, dtype: ScalarType.Float64) - n / 2;
        var d2 = i.unsqueeze(1).square() + i.unsqueeze(0).square();
        return (d2 <= radius * radius).to(ScalarType.Float64);
    }

    /// <summary>
    /// RMS of <paramref name="outputs"/> <c>[B, T, O]</c> around each trial's and channel's mean over the last
    /// <paramref name="window"/> steps: how much the output still moves long after the trial (the authors'
    /// oscillation check).
    /// </summary>
    public static double OutputRms(Tensor outputs, int window)
    {
        using var scope = NewDisposeScope();
        var last = outputs.to(ScalarType.Float64).narrow(-2, outputs.shape[^2] - window, window);
        var dev = last - last.mean(new long[] { -2 }, keepdim: true);
        return dev.square().mean().sqrt().item<double>();
    }
}
