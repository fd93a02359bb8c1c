using TorchSharp;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Zoo.Runner;
using Zoo.Runner.Bench;
using static TorchSharp.torch;

namespace Zoo.Benchmarks;

/// <summary>
/// In-process job: the benchmark runs inside this process, so it loads the libLibTorchSharp.so that the build
/// patched in this project's output (docs/architecture.md, 'Native loading') instead of a freshly generated project's copy.
/// </summary>
public class InProcessConfigBase : ManualConfig
{
    public InProcessConfigBase()
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance)
            .WithWarmupCount(2).WithIterationCount(8).WithInvocationCount(1).WithUnrollFactor(1));
        AddExporter(CsvExporter.Default);
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }
}

/// <summary>The in-process job as an attribute-usable config.</summary>
public sealed class InProcessConfig : InProcessConfigBase;

/// <summary>
/// Forward, forward+backward and recurrent-step time of one sequence layer (or a built-in TorchSharp baseline) at
/// the CPU shape of docs/architecture.md, 'Throughput' (d_model 256, B 4), per sequence length and device — the measurements of <c>zoo bench</c>.
/// Every registered layer is a parameter value, so new layers join without edits here.
/// </summary>
[Config(typeof(LayerThroughputConfig))]
public class LayerThroughput
{
    private BenchSubject? _subject;
    private Tensor? _x;
    private Device _device = CPU;

    public static IEnumerable<string> Layers => ZooComponents.Create().Layers.Select(e => e.Name).Concat(BenchSubject.Baselines);

    public static IEnumerable<string> Devices => cuda.is_available() ? new[] { "cpu", "cuda" } : new[] { "cpu" };

    [ParamsSource(nameof(Layers))]
    public string Layer { get; set; } = "lstm";

    [Params(256, 1024)]
    public int Length { get; set; }

    [ParamsSource(nameof(Devices))]
    public string Device { get; set; } = "cpu";

    public const int Batch = 4, DModel = 256;

    [GlobalSetup]
    public void Setup()
    {
        manual_seed(0);
        _device = Zoo.Core.Native.NativeEnvironment.Device(Device);
        _subject = BenchSubject.Create(ZooComponents.Create(), Layer, DModel);
        _subject.Module.to(_device);
        _x = randn(new long[] { Batch, Length, DModel }, device: _device);
    }

    [Benchmark]
    public float Forward() => _subject!.Forward(_x!);

    [Benchmark]
    public float ForwardBackward() => _subject!.ForwardBackward(_x!);

    /// <summary>Token-by-token decode through the layer's recurrent form.</summary>
    [Benchmark]
    public void Step() => _subject!.Decode(_x!);

    [GlobalCleanup]
    public void Cleanup()
    {
        _x?.Dispose();
        _subject?.Dispose();
    }
}

/// <summary><see cref="InProcessConfigBase"/> without Step for the baselines, which have no recurrent form here.</summary>
public sealed class LayerThroughputConfig : InProcessConfigBase
{
    public LayerThroughputConfig() =>
        AddFilter(new BenchmarkDotNet.Filters.SimpleFilter(b => !(b.Descriptor.WorkloadMethod.Name == nameof(LayerThroughput.Step)
            && BenchSubject.Baselines.Contains((string)b.Parameters["Layer"]))));
}
