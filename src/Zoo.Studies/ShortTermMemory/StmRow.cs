using CsvHelper.Configuration.Attributes;

namespace Zoo.Studies.ShortTermMemory;

/// <summary>One trained network of a short-term memory study (<c>zoo stm</c>), with provenance.</summary>
public sealed record StmRow
{
    [Name("study")] public string Study { get; init; } = "";
    /// <summary>Stable id of the network's configuration (shared settings + delay + lr + seed): resume skips it.</summary>
    [Name("config_hash")] public string ConfigHash { get; init; } = "";
    [Name("delay_steps")] public int DelaySteps { get; init; }
    [Name("delay_ms")] public double DelayMs { get; init; }
    [Name("lr")] public double Lr { get; init; }
    [Name("seed")] public long Seed { get; init; }
    /// <summary>Epochs trained (the budget, or the epoch where it diverged).</summary>
    [Name("epochs")] public int Epochs { get; init; }
    /// <summary>The paper's budget max(1000, 30/η) before any cap.</summary>
    [Name("paper_epochs")] public int PaperEpochs { get; init; }
    /// <summary><c>yes</c> when the trained criterion holds.</summary>
    [Name("trained")] public string Trained { get; init; } = "";
    /// <summary><c>trained</c>, <c>failed</c>, <c>unstable</c> or <c>diverged</c>.</summary>
    [Name("outcome")] public string Outcome { get; init; } = "";
    [Name("diverged")] public string Diverged { get; init; } = "";
    /// <summary>FFT test: <c>lc</c> or <c>sp</c> (trained networks only).</summary>
    [Name("mechanism_fft")] public string MechanismFft { get; init; } = "";
    /// <summary>Share of the correlation-matrix power within radius 3 of the centre (&lt; 0.5 → LC).</summary>
    [Name("power_share")] public double PowerShare { get; init; }
    /// <summary>Output-RMS test: <c>lc</c> or <c>sp</c> (trained networks only).</summary>
    [Name("mechanism_rms")] public string MechanismRms { get; init; } = "";
    [Name("output_rms")] public double OutputRms { get; init; }
    [Name("final_loss")] public double FinalLoss { get; init; }
    /// <summary>Mean accuracy over the last 10% of epochs.</summary>
    [Name("accuracy")] public double Accuracy { get; init; }
    /// <summary>Mean reliability over the last 10% of epochs.</summary>
    [Name("reliability")] public double Reliability { get; init; }
    [Name("hidden")] public int Hidden { get; init; }
    [Name("trials")] public int Trials { get; init; }
    [Name("post_steps")] public int PostSteps { get; init; }
    [Name("ensemble_size")] public int EnsembleSize { get; init; }
    /// <summary>Wall time of the whole ensemble this network trained in (training + analysis).</summary>
    [Name("ensemble_wall_s")] public double EnsembleWallSeconds { get; init; }
    [Name("device")] public string Device { get; init; } = "";
    [Name("torch_version")] public string TorchVersion { get; init; } = "";
    [Name("torchsharp_version")] public string TorchSharpVersion { get; init; } = "";
    [Name("commit")] public string Commit { get; init; } = "";
    [Name("utc")] public string Utc { get; init; } = "";
}

/// <summary>The three outcomes the authors count (no solution includes their "unstable" class, as ours does).</summary>
internal static class Outcomes
{
    public static bool NoSolution(StmRow r) => r.Trained != "yes";
    public static bool Lc(StmRow r) => r.Trained == "yes" && r.MechanismFft == "lc";
    public static bool Sp(StmRow r) => r.Trained == "yes" && r.MechanismFft == "sp";

    public static IEnumerable<(string Category, int Count)> Count(IReadOnlyCollection<StmRow> cell) => new[]
    {
        ("no_solution", cell.Count(NoSolution)), ("lc", cell.Count(Lc)), ("sp", cell.Count(Sp)),
    };
}
