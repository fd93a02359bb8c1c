using CsvHelper.Configuration.Attributes;

namespace Zoo.Runner.Bench;

/// <summary>One throughput measurement: a layer × length × batch × device × mode, with provenance.</summary>
public sealed record ThroughputRow
{
    [Name("layer")] public string Layer { get; init; } = "";
    [Name("layer_options")] public string LayerOptions { get; init; } = "";
    [Name("d_model")] public int DModel { get; init; }
    [Name("batch")] public int Batch { get; init; }
    [Name("length")] public int Length { get; init; }
    [Name("mode")] public string Mode { get; init; } = "";
    [Name("median_ms")] public double MedianMs { get; init; }
    [Name("p20_ms")] public double P20Ms { get; init; }
    [Name("p80_ms")] public double P80Ms { get; init; }
    [Name("iterations")] public int Iterations { get; init; }
    [Name("tokens_per_s")] public double TokensPerSecond { get; init; }
    /// <summary>The process's peak resident bytes over this measurement (<see cref="PeakMemory"/>); empty on CUDA, where TorchSharp 0.107 exposes no allocator statistics, and for rows not run.</summary>
    [Name("peak_memory_bytes")] public long? PeakMemoryBytes { get; init; }
    [Name("params")] public long Params { get; init; }
    [Name("device")] public string Device { get; init; } = "";
    [Name("torch_version")] public string TorchVersion { get; init; } = "";
    [Name("torchsharp_version")] public string TorchSharpVersion { get; init; } = "";
    [Name("commit")] public string Commit { get; init; } = "";
    [Name("status")] public string Status { get; init; } = "";
    [Name("message")] public string Message { get; init; } = "";
    [Name("utc")] public string Utc { get; init; } = "";
}
