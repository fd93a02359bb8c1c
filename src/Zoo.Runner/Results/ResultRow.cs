using CsvHelper.Configuration.Attributes;

namespace Zoo.Runner.Results;

/// <summary>
/// One leaderboard row (docs/architecture.md, 'Result row'): a finished or failed run with everything needed to reproduce and compare it.
/// Column names are the <see cref="NameAttribute"/>s, in declaration order.
/// </summary>
public sealed record ResultRow
{
    [Name("suite")] public string Suite { get; init; } = "";
    [Name("config_hash")] public string ConfigHash { get; init; } = "";
    [Name("layer")] public string Layer { get; init; } = "";
    [Name("layer_options_hash")] public string LayerOptionsHash { get; init; } = "";
    [Name("layer_options")] public string LayerOptions { get; init; } = "";
    [Name("task")] public string Task { get; init; } = "";
    [Name("task_options_hash")] public string TaskOptionsHash { get; init; } = "";
    [Name("task_options")] public string TaskOptions { get; init; } = "";
    [Name("model_kind")] public string ModelKind { get; init; } = "";
    [Name("d_model")] public int DModel { get; init; }
    [Name("n_layers")] public int NLayers { get; init; }
    [Name("params")] public long Params { get; init; }
    [Name("state_size")] public long StateSize { get; init; }
    [Name("seed")] public long Seed { get; init; }
    [Name("lr")] public double Lr { get; init; }
    [Name("steps")] public int Steps { get; init; }
    [Name("batch")] public int Batch { get; init; }
    [Name("tokens_seen")] public long TokensSeen { get; init; }
    [Name("metric")] public string Metric { get; init; } = "";
    [Name("value")] public double Value { get; init; }
    [Name("final_value")] public double FinalValue { get; init; }
    [Name("best_step")] public int BestStep { get; init; }
    [Name("train_tokens_per_s")] public double TrainTokensPerSecond { get; init; }
    [Name("wall_s")] public double WallSeconds { get; init; }
    [Name("device")] public string Device { get; init; } = "";
    [Name("torch_version")] public string TorchVersion { get; init; } = "";
    [Name("torchsharp_version")] public string TorchSharpVersion { get; init; } = "";
    [Name("commit")] public string Commit { get; init; } = "";
    [Name("status")] public string Status { get; init; } = "";
    [Name("message")] public string Message { get; init; } = "";
    [Name("utc")] public string Utc { get; init; } = "";

    /// <summary>The suite file's own git commit (empty outside a repository); <c>commit</c> is Zoo's. Added later: files without it are read and appended to in their layout.</summary>
    [Name("suite_commit"), Optional] public string SuiteCommit { get; init; } = "";

    /// <summary>The process's peak resident bytes over the run (Zoo.Runner.Bench.PeakMemory); empty on CUDA and in files written before this column existed.</summary>
    [Name("peak_memory_bytes"), Optional] public long? PeakMemoryBytes { get; init; }

    /// <summary>How the run ended: <c>steps</c> (fixed budget), <c>target</c>, <c>plateau</c> or <c>cap</c> (<c>train.until</c>); empty for a failed run or an older file.</summary>
    [Name("end"), Optional] public string End { get; init; } = "";

    /// <summary>First evaluation step with the test metric at half the range above chance; empty when never reached or the task has no chance level.</summary>
    [Name("steps_to_0.5"), Optional] public int? StepsToHalf { get; init; }

    /// <summary>The same at 0.9 of the range above chance.</summary>
    [Name("steps_to_0.9"), Optional] public int? StepsToNineTenths { get; init; }

    /// <summary>
    /// The suite entry's <c>label</c> (empty when it has none, and in files written before this column existed): a named
    /// variant of a layer, which the leaderboard shows as its own line instead of folding it into the layer's best.
    /// </summary>
    [Name("label"), Optional] public string Label { get; init; } = "";
}

/// <summary>One point of a run's learning curve, stored beside the results for plots.</summary>
public sealed record CurveRow
{
    [Name("config_hash")] public string ConfigHash { get; init; } = "";
    [Name("layer")] public string Layer { get; init; } = "";
    [Name("task")] public string Task { get; init; } = "";
    [Name("seed")] public long Seed { get; init; }
    [Name("step")] public int Step { get; init; }
    [Name("train_loss")] public double TrainLoss { get; init; }
    [Name("test_loss")] public double TestLoss { get; init; }
    [Name("metric")] public string Metric { get; init; } = "";
    [Name("value")] public double Value { get; init; }

    /// <summary>A curriculum's level (its N) being trained at this evaluation; empty for other tasks and older files.</summary>
    [Name("level"), Optional] public int? Level { get; init; }
}

/// <summary>One point of a trajectory kept by a post-training evaluation (decoded replays, for plots).</summary>
public sealed record TrajectoryRow
{
    [Name("config_hash")] public string ConfigHash { get; init; } = "";
    [Name("label")] public string Label { get; init; } = "";
    [Name("task")] public string Task { get; init; } = "";
    [Name("task_options_hash")] public string TaskOptionsHash { get; init; } = "";
    [Name("seed")] public long Seed { get; init; }
    [Name("kind")] public string Kind { get; init; } = "";
    [Name("index")] public int Index { get; init; }
    [Name("t")] public int T { get; init; }
    [Name("x")] public double X { get; init; }
    [Name("y")] public double Y { get; init; }
}
