using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Zoo.Core.Tasks;
using Zoo.Runner;

namespace Zoo.Benchmarks;

/// <summary>
/// Training-batch generation on the host, per task: the time to build one batch of <see cref="Batch"/> examples (what
/// the trainer asks for each step), and as tokens/s. A generator slower than the device's training step (about
/// 2 million tokens/s for a small model on a GPU) would leave the GPU waiting; the trainer prefetches the next batch
/// on a background thread so that only a generator slower than the whole step could.
/// </summary>
[Config(typeof(TaskBatchGenerationConfig))]
public class TaskBatchGeneration
{
    /// <summary>The tasks measured: the main tasks' suite settings (recall, selectivity, replay suites).</summary>
    public static readonly IReadOnlyDictionary<string, (string Task, string Options)> Cases = new Dictionary<string, (string, string)>
    {
        ["mqar-L64"] = ("mqar", """{ "vocab": 256, "length": 64, "pairs": 16, "train_examples": 0 }"""),
        ["mqar-L256"] = ("mqar", """{ "vocab": 8192, "length": 256, "pairs": 64, "train_examples": 0 }"""),
        ["selective-copying-L64"] = ("selective-copying", """{ "vocab": 16, "length": 64, "copies": 8, "train_examples": 0 }"""),
        ["selective-copying-L256"] = ("selective-copying", "{}"),
        ["path-integration"] = ("path-integration", """{ "environment": "open_box", "place_cells": 256 }"""),
    };

    /// <summary>Examples per batch.</summary>
    public const int Batch = 64;

    private ISequenceTask? _task;
    private long _next;

    [ParamsSource(nameof(CaseNames))]
    public string Case { get; set; } = "mqar-L64";

    public static IEnumerable<string> CaseNames => Cases.Keys;

    /// <summary>The task of <paramref name="name"/>.</summary>
    public static ISequenceTask CreateTask(string name)
    {
        var registry = ZooComponents.Create();
        var (task, options) = Cases[name];
        return registry.CreateTask(task, registry.BindTaskOptions(task, JsonDocument.Parse(options).RootElement));
    }

    [GlobalSetup]
    public void Setup() => _task = CreateTask(Case);

    /// <summary>One training batch of fresh examples (each call a new slice of the stream).</summary>
    [Benchmark]
    public long Generate()
    {
        using var batch = _task!.Batch(Split.Train, 0, _next, Batch);
        _next += Batch;
        return batch.Size;
    }

    [GlobalCleanup]
    public void Cleanup() => (_task as IDisposable)?.Dispose();
}

/// <summary>The in-process job with a tokens/s column.</summary>
public sealed class TaskBatchGenerationConfig : InProcessConfigBase
{
    public TaskBatchGenerationConfig() => AddColumn(new TokensPerSecondColumn());
}

/// <summary>Batch × sequence length over the mean time per batch.</summary>
public sealed class TokensPerSecondColumn : IColumn
{
    public string Id => nameof(TokensPerSecondColumn);
    public string ColumnName => "tokens/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "tokens generated per second (batch × length / mean time)";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (summary[benchmarkCase]?.ResultStatistics is not { } stats) return "NA";
        var name = (string)benchmarkCase.Parameters["Case"];
        var task = TaskBatchGeneration.CreateTask(name);
        long tokens = (long)TaskBatchGeneration.Batch * task.Signature.Length;
        (task as IDisposable)?.Dispose();
        return (tokens / (stats.Mean / 1e9)).ToString("N0");
    }
}
