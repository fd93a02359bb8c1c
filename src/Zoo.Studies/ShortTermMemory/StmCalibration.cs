using System.Diagnostics;
using static TorchSharp.torch;

namespace Zoo.Studies.ShortTermMemory;

/// <summary>What <see cref="StmCalibration.Measure"/> found, all from one run.</summary>
/// <param name="Delay">Delay (steps) the calibration trained at.</param>
/// <param name="EnsembleSize">Networks in the calibration ensemble.</param>
/// <param name="EnsembleRate">Network-epochs per second, as an ensemble.</param>
/// <param name="SingleRate">Network-epochs per second, one network at a time.</param>
/// <param name="EnsembleGflops">The ensemble's useful matrix-multiply rate (GFLOP/s, counting only the recurrent products).</param>
/// <param name="MatmulGflops">A plain square matrix multiply's rate on this device and thread count (GFLOP/s).</param>
/// <param name="EstimatedSeconds">The pending networks' training time at the ensemble rate, scaled by each delay's trial length.</param>
public sealed record StmCalibrationResult(int Delay, int EnsembleSize, double EnsembleRate, double SingleRate, double EnsembleGflops, double MatmulGflops, double EstimatedSeconds)
{
    /// <summary>Fraction of the plain matrix-multiply rate the ensemble step reaches.</summary>
    public double MatmulFraction => EnsembleGflops / MatmulGflops;
}

/// <summary>
/// Sizes a study before it runs (<c>zoo stm CONFIG --dry-run</c>): trains a few epochs of an ensemble and of single
/// networks at the middle delay, times a plain matrix multiply in the same run, and projects the pending work. The
/// recurrent products are 6·B·L·N² FLOPs per network-epoch (forward W_rec r, backward δ W_rec, and the weight
/// gradient Σ gᵀ r); the rest (elementwise gates, input and readout) is left out of the count, so the fraction is
/// a lower bound on how busy the multiply units are.
/// </summary>
public static class StmCalibration
{
    /// <summary>Measures on <paramref name="device"/>, spending about <paramref name="epochs"/> epochs per measurement.</summary>
    public static StmCalibrationResult Measure(StmConfig config, IReadOnlyList<StmEnsemble> plan, Device device, int epochs = 3)
    {
        var delays = config.Delays.OrderBy(d => d).ToArray();
        int delay = delays[delays.Length / 2];
        var layout = config.Layout(delay);
        var dtype = config.Dtype == Precision.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        double lr = config.LearningRates()[0];
        int e = Math.Min(config.EnsembleSize, Math.Max(1, plan.Select(p => p.Networks.Count).DefaultIfEmpty(config.EnsembleSize).Max()));

        double Rate(int size)
        {
            var members = Enumerable.Range(0, size).Select(i => new EnsembleMember(lr, 1_000_000 + i, epochs)).ToList();
            using var net = new RateRnnEnsemble(members.Select(m => m.Seed).ToList(), config.Network, dtype, device);
            EnsembleTraining.Train(net, members.Select(m => m with { Epochs = 1 }).ToList(), layout, config.Trials, config.Momentum, config.WeightDecay);  // warm-up
            var clock = Stopwatch.StartNew();
            EnsembleTraining.Train(net, members, layout, config.Trials, config.Momentum, config.WeightDecay);
            return size * epochs / clock.Elapsed.TotalSeconds;
        }

        double ensembleRate = Rate(e);
        // One at a time: as many single networks as time allows, at least two.
        double singleRate = new[] { Rate(1), Rate(1) }.Max();
        double flopsPerNetworkEpoch = 6.0 * config.Trials * layout.Length * Math.Pow(config.Network.Hidden, 2);
        double matmul = MatmulGflops(device, dtype);
        double seconds = plan.Sum(p => p.NetworkEpochs * (double)config.Layout(p.Delay).Length / layout.Length) / ensembleRate;
        return new StmCalibrationResult(delay, e, ensembleRate, singleRate, ensembleRate * flopsPerNetworkEpoch / 1e9, matmul, seconds);
    }

    /// <summary>Best-of-five rate of a 1024² × 1024² product (GFLOP/s): what a well-shaped multiply reaches here.</summary>
    public static double MatmulGflops(Device device, ScalarType dtype, int n = 1024)
    {
        using var scope = NewDisposeScope();
        var a = randn(new long[] { n, n }, dtype: dtype, device: device);
        var b = randn(new long[] { n, n }, dtype: dtype, device: device);
        a.matmul(b);  // warm-up
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            using var c = a.matmul(b);
            if (device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    }
}
