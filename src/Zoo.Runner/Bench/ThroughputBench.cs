using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using Zoo.Core.Native;
using Zoo.Core.Numerics;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Runner.Results;
using Zoo.Runner.Suites;
using static TorchSharp.torch;

namespace Zoo.Runner.Bench;

/// <summary>Settings of <c>zoo bench</c> (docs/architecture.md, 'Throughput').</summary>
public sealed record BenchSettings
{
    /// <summary>Subjects: registered layer names (optionally <c>name:{json}</c>) or baselines; empty = every registered layer.</summary>
    public IReadOnlyList<string> Layers { get; init; } = Array.Empty<string>();
    /// <summary>Sequence lengths.</summary>
    public IReadOnlyList<int> Lengths { get; init; } = new[] { 256, 1024, 4096 };
    /// <summary>Batch size.</summary>
    public int Batch { get; init; } = 4;
    /// <summary>Layer width.</summary>
    public int DModel { get; init; } = 256;
    /// <summary>cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Untimed calls before timing.</summary>
    public int Warmup { get; init; } = 1;
    /// <summary>Timed calls; the median and 20th/80th percentiles are reported.</summary>
    public int Iterations { get; init; } = 5;
    /// <summary>Modes to time: forward, forward_backward, step.</summary>
    public IReadOnlyList<string> Modes { get; init; } = AllModes;
    /// <summary>Skip a (layer, mode) at longer lengths once one call takes longer than this (0 = never).</summary>
    public double MaxSecondsPerCall { get; init; } = 20;
    /// <summary>CSV to append to.</summary>
    public string OutPath { get; init; } = Path.Combine(RunSettings.DefaultOutDir, "throughput.csv");

    /// <summary>Every mode.</summary>
    public static readonly IReadOnlyList<string> AllModes = new[] { "forward", "forward_backward", "step" };

    /// <summary>Checks ranges; errors name the option and what is allowed.</summary>
    public void Validate()
    {
        if (Lengths.Count == 0 || Lengths.Any(l => l < 1)) throw new ZooConfigException(null, "--lengths", "give positive lengths, e.g. 256,1024,4096");
        if (Batch < 1) throw new ZooConfigException(null, "--batch", $"{Batch} is not allowed; expected an integer ≥ 1");
        if (DModel < 1) throw new ZooConfigException(null, "--d-model", $"{DModel} is not allowed; expected an integer ≥ 1");
        if (Warmup < 0) throw new ZooConfigException(null, "--warmup", $"{Warmup} is not allowed; expected an integer ≥ 0");
        if (Iterations < 1) throw new ZooConfigException(null, "--iterations", $"{Iterations} is not allowed; expected an integer ≥ 1");
        var bad = Modes.FirstOrDefault(m => !AllModes.Contains(m));
        if (bad is not null || Modes.Count == 0) throw new ZooConfigException(null, "--modes", $"'{bad}' is not a mode; allowed: {string.Join(", ", AllModes)}");
    }
}

/// <summary>
/// Measures forward, forward+backward and recurrent-step (decode) throughput per layer × length, synchronising the
/// device around the clock, and appends one row per measurement to a CSV. Every iteration runs in its own dispose
/// scope. Timings are medians with 20th/80th percentiles; no test asserts on them.
/// </summary>
public sealed class ThroughputBench
{
    private readonly Action<string> _log;

    /// <summary>Logs progress lines to <paramref name="log"/>.</summary>
    public ThroughputBench(Action<string>? log = null) => _log = log ?? (_ => { });

    /// <summary>Runs the measurements and returns the rows (also appended to <c>OutPath</c>).</summary>
    public IReadOnlyList<ThroughputRow> Run(ComponentRegistry registry, BenchSettings settings)
    {
        settings.Validate();
        var device = NativeEnvironment.Device(settings.Device);
        var names = settings.Layers.Count > 0 ? settings.Layers : registry.Layers.Select(e => e.Name).ToList();
        // Every subject is built before anything is timed, so a bad name or option fails at once.
        var subjects = names.Select(n =>
        {
            manual_seed(0);
            return BenchSubject.Create(registry, n, settings.DModel);
        }).ToList();
        try
        {
            var table = new CsvTable<ThroughputRow>(settings.OutPath);
            Writable.File(table.Path, table.TemporaryPath, "--out");
            table.Read();
            var provenance = Provenance.Capture();
            return subjects.SelectMany(s => MeasureSubject(s, settings, device, table, provenance)).ToList();
        }
        finally
        {
            foreach (var s in subjects) s.Dispose();
        }
    }

    // Every mode × length of one subject, longest lengths skipped once a shorter one exceeded the time limit.
    private List<ThroughputRow> MeasureSubject(BenchSubject subject, BenchSettings settings, Device device, CsvTable<ThroughputRow> table, Provenance provenance)
    {
        var rows = new List<ThroughputRow>();
        subject.Module.to(device);
        long parameters = subject.Module.parameters().Sum(p => p.numel());
        foreach (var mode in settings.Modes)
        {
            if (mode == "step" && subject.Layer is null) continue;
            bool tooSlow = false;
            foreach (var length in settings.Lengths.Order())
            {
                ThroughputRow row;
                if (tooSlow)
                {
                    row = Row(subject, settings, length, mode, device, provenance, parameters) with
                    {
                        Status = "skipped", Message = $"a shorter length already took over {settings.MaxSecondsPerCall} s per call",
                    };
                }
                else
                {
                    row = Measure(subject, settings, length, mode, device, provenance, parameters);
                    tooSlow = settings.MaxSecondsPerCall > 0 && (row.MedianMs > settings.MaxSecondsPerCall * 1000 || row.Status == "skipped");
                }
                table.Append(new[] { row });
                rows.Add(row);
                _log($"{row.Layer,-28} L {length,6} {mode,-16} {row.Status,-7} median {row.MedianMs,10:F2} ms  {row.TokensPerSecond,12:N0} tok/s{(row.Message.Length > 0 ? " — " + row.Message : "")}");
            }
        }
        return rows;
    }

    private static ThroughputRow Row(BenchSubject s, BenchSettings b, int length, string mode, Device device, Provenance p, long parameters) => new()
    {
        Layer = s.Label, LayerOptions = s.Options, DModel = b.DModel, Batch = b.Batch, Length = length, Mode = mode,
        Params = parameters, Device = NativeEnvironment.DeviceLabel(device), TorchVersion = p.TorchVersion,
        TorchSharpVersion = p.TorchSharpVersion, Commit = p.Commit,
        Utc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
    };

    private static ThroughputRow Measure(BenchSubject subject, BenchSettings b, int length, string mode, Device device, Provenance p, long parameters)
    {
        var row = Row(subject, b, length, mode, device, p, parameters);
        if (WontFit(b, length, mode, device) is { } why)
            return row with { Status = "oom", Message = why, MedianMs = double.NaN, TokensPerSecond = double.NaN };
        try
        {
            var peak = PeakMemory.Start(device); // before the input, which the measurement's peak includes
            using var x = randn(new long[] { b.Batch, length, b.DModel }, device: device, generator: new Generator(1, device));
            Action call = mode switch
            {
                "forward" => () => subject.Forward(x),
                "forward_backward" => () => subject.ForwardBackward(x),
                _ => () => subject.Decode(x),
            };
            subject.Module.train(mode == "forward_backward");
            var times = new List<double>();
            bool cuda = device.type == DeviceType.CUDA;
            for (int i = 0; i < b.Warmup + b.Iterations; i++)
            {
                using var scope = NewDisposeScope();
                if (cuda) torch.cuda.synchronize(device);
                var clock = Stopwatch.StartNew();
                call();
                if (cuda) torch.cuda.synchronize(device);
                double ms = clock.Elapsed.TotalMilliseconds;
                if (i >= b.Warmup) times.Add(ms);
                if (b.MaxSecondsPerCall > 0 && ms > b.MaxSecondsPerCall * 1000)
                {
                    // One slow call is enough to know; if it was a warm-up call there is no timed sample to report.
                    if (times.Count == 0)
                        return row with { Status = "skipped", MedianMs = Math.Round(ms, 3), Iterations = 0, TokensPerSecond = double.NaN, PeakMemoryBytes = peak.Bytes(),
                            Message = $"the warm-up call alone took {ms / 1000:F1} s (over --max-seconds)" };
                    break;
                }
            }
            times.Sort();
            double median = Percentile(times, 0.5);
            return row with
            {
                MedianMs = Math.Round(median, 3), P20Ms = Math.Round(Percentile(times, 0.2), 3), P80Ms = Math.Round(Percentile(times, 0.8), 3),
                Iterations = times.Count, TokensPerSecond = Math.Round(b.Batch * (double)length / (median / 1000), 1),
                Status = "ok", PeakMemoryBytes = peak.Bytes(),
            };
        }
        catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or OutOfMemoryException)
        {
            bool oom = AllocationFailure.Is(e);
            return row with { Status = oom ? "oom" : "error", Message = e.Message.Split('\n')[0], MedianMs = double.NaN, TokensPerSecond = double.NaN };
        }
    }

    /// <summary>
    /// Why a measurement cannot fit in this machine's memory, or null: a lower bound (the float32 input and output of
    /// B × L × d_model, and their gradients for forward+backward) against the memory .NET sees (physical or the
    /// container's limit). CPU only: TorchSharp exposes no GPU memory figures.
    /// </summary>
    public static string? WontFit(BenchSettings b, int length, string mode, Device device)
    {
        if (device.type != DeviceType.CPU) return null;
        double needed = 4.0 * b.Batch * length * b.DModel * (mode == "forward_backward" ? 4 : 2);
        double available = MemoryEstimate.AvailableBytes;
        return needed <= available ? null
            : $"not run: needs at least {MemoryEstimate.Size(needed)} (batch {b.Batch} × L {length} × d_model {b.DModel} float32 activations), the machine has {MemoryEstimate.Size(available)}";
    }

    /// <summary>Linear interpolation between order statistics of sorted <paramref name="sorted"/>.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double q) => Stats.Quantile(sorted, q);
}
