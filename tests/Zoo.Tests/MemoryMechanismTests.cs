using Zoo.Tasks.ShortTermMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>The mechanism tests of Kurtkaya et al. on synthetic trajectories with a known answer.</summary>
public sealed class MemoryMechanismTests
{
    private const int Steps = 9 * 36;  // 9 × a trial of delay 20
    private const int Units = 12;

    // Rates [T, N] = offset + a(t) u + b(t) v with fixed random directions u, v.
    private static Tensor Trajectory(Func<double, double> a, Func<double, double> b)
    {
        var g = new Generator(7);
        var basis = randn(new long[] { 3, Units }, dtype: ScalarType.Float64, generator: g);
        var t = arange(Steps, dtype: ScalarType.Float64);
        var ca = tensor(Enumerable.Range(0, Steps).Select(s => a(s)).ToArray(), dtype: ScalarType.Float64).unsqueeze(1);
        var cb = tensor(Enumerable.Range(0, Steps).Select(s => b(s)).ToArray(), dtype: ScalarType.Float64).unsqueeze(1);
        return (0.3 * basis[0] + ca * basis[1] + cb * basis[2]).tanh();
    }

    [Theory]
    [InlineData(12.0)]
    [InlineData(25.0)]
    [InlineData(40.0)]
    public void A_sustained_oscillation_is_a_limit_cycle(double period)
    {
        var rates = Trajectory(s => Math.Cos(2 * Math.PI * s / period), s => Math.Sin(2 * Math.PI * s / period));
        double share = MemoryMechanism.CentralPowerShare(rates);
        Assert.True(share < MemoryMechanism.PowerThreshold, $"share {share}");
        Assert.Equal(Mechanism.LimitCycle, MemoryMechanism.FromPowerShare(share));
    }

    [Fact]
    public void A_decay_to_a_fixed_point_is_a_slow_point()
    {
        var rates = Trajectory(s => 1.5 * Math.Exp(-s / 20.0), s => 0.8 * Math.Exp(-s / 60.0));
        double share = MemoryMechanism.CentralPowerShare(rates);
        Assert.True(share >= MemoryMechanism.PowerThreshold, $"share {share}");
        Assert.Equal(Mechanism.SlowPoint, MemoryMechanism.FromPowerShare(share));
    }

    [Fact]
    public void A_state_that_never_moves_is_a_slow_point()
    {
        var rates = Trajectory(_ => 0.2, _ => -0.4);
        Assert.Equal(Mechanism.SlowPoint, MemoryMechanism.FromPowerShare(MemoryMechanism.CentralPowerShare(rates)));
    }

    [Fact]
    public void Time_correlation_of_two_coordinates_is_the_sign_product()
    {
        var points = tensor(new double[] { 1, 0, 0, 2, 3, 1, 5, 5 }, new long[] { 4, 2 });
        var c = MemoryMechanism.TimeCorrelation(points).data<double>().ToArray();
        double[] expected = { 1, -1, 1, 0, -1, 1, -1, 0, 1, -1, 1, 0, 0, 0, 0, 0 };
        Assert.Equal(expected, c.Select(v => Math.Round(v, 12)).ToArray());
    }

    [Fact]
    public void Output_rms_separates_oscillating_from_settled_outputs()
    {
        var t = arange(200, dtype: ScalarType.Float64);
        var oscillating = stack(new[] { 0.5 + 0.3 * (t * 0.5).sin(), 0.5 - 0.3 * (t * 0.5).sin() }, 1).unsqueeze(0);  // [1, T, 2]
        double rms = MemoryMechanism.OutputRms(oscillating, 50);
        Assert.InRange(rms, 0.18, 0.24);  // amplitude 0.3 / √2
        Assert.Equal(Mechanism.LimitCycle, MemoryMechanism.FromRms(rms));
        var settled = (0.9 - 0.8 * (-t / 10).exp()).unsqueeze(0).unsqueeze(-1).expand(2, 200, 2);
        Assert.Equal(Mechanism.SlowPoint, MemoryMechanism.FromRms(MemoryMechanism.OutputRms(settled, 50)));
    }

    [Fact]
    public void Central_disc_counts_bins_within_the_radius()
    {
        // 29 integer points lie within radius 3 of the origin.
        Assert.Equal(29.0, MemoryMechanism.CentralDisc(16, 3).sum().item<double>());
        Assert.Equal(1.0, MemoryMechanism.CentralDisc(16, 0)[8, 8].item<double>());
    }
}
