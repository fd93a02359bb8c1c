using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Zoo.Core.Layers;
using Zoo.Runner;
using static TorchSharp.torch;

namespace Zoo.Benchmarks;

/// <summary>
/// In-process job: the benchmark runs inside this process, so it loads the libLibTorchSharp.so that the build
/// patched in this project's output (DESIGN §6) instead of a freshly generated project's copy.
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
/// Forward and forward+backward time of one sequence layer at DESIGN §5's CPU shape (d_model 256, B 4), per
/// sequence length. Every registered layer is a parameter value, so new layers join without edits here.
/// </summary>
[Config(typeof(InProcessConfig))]
public class LayerThroughput
{
    private SequenceLayer? _layer;
    private Tensor? _x;

    public static IEnumerable<string> Layers => ZooComponents.Create().Layers.Select(e => e.Name);

    [ParamsSource(nameof(Layers))]
    public string Layer { get; set; } = "lstm";

    [Params(256, 1024)]
    public int Length { get; set; }

    public const int Batch = 4, DModel = 256;

    [GlobalSetup]
    public void Setup()
    {
        var registry = ZooComponents.Create();
        manual_seed(0);
        _layer = registry.CreateLayer(Layer, DModel, registry.BindLayerOptions(Layer, null, DModel));
        _x = randn(Batch, Length, DModel);
    }

    [Benchmark]
    public float Forward()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return _layer!.forward(_x!).sum().item<float>();
    }

    [Benchmark]
    public float ForwardBackward()
    {
        using var scope = NewDisposeScope();
        _layer!.zero_grad();
        var loss = _layer.forward(_x!).pow(2).mean();
        loss.backward();
        return loss.item<float>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _x?.Dispose();
        _layer?.Dispose();
    }
}
