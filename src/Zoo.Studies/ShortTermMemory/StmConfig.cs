using System.Text.Json;
using System.Text.Json.Nodes;
using Zoo.Core.Options;
using Zoo.Runner.Results;
using Zoo.Runner.Suites;
using Zoo.Tasks.ShortTermMemory;

namespace Zoo.Studies.ShortTermMemory;

/// <summary>Element type the ensembles train in.</summary>
public enum Precision
{
    /// <summary>float32 (the authors' default).</summary>
    Float32,
    /// <summary>float64.</summary>
    Float64,
}

/// <summary>
/// A short-term memory study (<c>zoo stm CONFIG.json</c>): delays × learning rates × seeds of the rate RNN of Kurtkaya
/// et al. on delayed cue discrimination, trained as ensembles. Bound strictly from JSON (snake_case; unknown fields
/// are errors). Defaults are the paper's main grid (21 delays × 30 learning rates × 100 seeds, 63,000 networks).
/// </summary>
public sealed record StmConfig : IValidatableOptions
{
    /// <summary>Study name, carried by every row.</summary>
    [Option("study name (every row carries it)")]
    public string Name { get; init; } = "stm";

    /// <summary>Delays T in steps of 5 ms.</summary>
    [Option("delays T in steps of dt = 5 ms, each in [0, 80] (paper: 0, 4, …, 80)")]
    public int[] Delays { get; init; } = Enumerable.Range(0, 21).Select(i => 4 * i).ToArray();

    /// <summary>Largest learning rate.</summary>
    [Option("largest learning rate", Min = 0, MinExclusive = true)]
    public double LrMax { get; init; } = 0.316;

    /// <summary>Smallest learning rate.</summary>
    [Option("smallest learning rate", Min = 0, MinExclusive = true)]
    public double LrMin { get; init; } = 0.001;

    /// <summary>Number of learning rates, log-spaced from lr_max down to lr_min.</summary>
    [Option("number of learning rates, log-spaced from lr_max down to lr_min", Min = 1, Max = 1000)]
    public int LrCount { get; init; } = 30;

    /// <summary>Explicit learning rates; when given, they replace the log grid of lr_max, lr_min and lr_count.</summary>
    [Option("explicit learning rates (each > 0); when given they replace the log grid of lr_max, lr_min and lr_count")]
    public double[] LrList { get; init; } = Array.Empty<double>();

    /// <summary>
    /// The slow-point boundary is fitted twice: over every learning rate, and over those above this value only, as
    /// the authors do (their plot_nopost.py leaves out lr ≤ 0.0037, the 5 smallest of their 30).
    /// </summary>
    [Option("analysis only: the second slow-point fit uses learning rates above this (the authors' exclusion: lr ≤ 0.0037 left out)", Min = 0)]
    public double SpFitMinLr { get; init; } = 0.004;

    /// <summary>Analysis only: a CSV of the authors' critical points (<see cref="AuthorsCriticalPoint"/>), relative to the config file.</summary>
    [Option("analysis only: CSV of the authors' critical points to overlay and compare with, relative to the config file (empty: none)")]
    public string ReferencePoints { get; init; } = "";

    /// <summary>
    /// Analysis only: a CSV of the authors' class fractions per (learning rate, delay) (<see cref="AuthorsFractions"/>),
    /// relative to the config file; with it the analysis compares outcome shares cell by cell and simulates how far
    /// the exponents scatter at this study's seed count.
    /// </summary>
    [Option("analysis only: CSV of the authors' class fractions per (lr, delay), relative to the config file (empty: none)")]
    public string ReferenceFractions { get; init; } = "";

    /// <summary>Seeds per (delay, learning rate).</summary>
    [Option("seeds per (delay, lr): first_seed, …, first_seed + seeds − 1", Min = 1, Max = 100000)]
    public int Seeds { get; init; } = 100;

    /// <summary>First seed.</summary>
    [Option("first seed", Min = 0)]
    public int FirstSeed { get; init; }

    /// <summary>Post-response steps (target 0); the paper's post variant uses 6.</summary>
    [Option("post-response steps with target 0 (0 = none; paper's post variant: 6)", Min = 0, Max = 1000)]
    public int PostSteps { get; init; }

    /// <summary>The network.</summary>
    public RateRnnOptions Network { get; init; } = new();

    /// <summary>Where accuracy and reliability are scored for the trained and stability tests (training does not read them).</summary>
    [Option("where the trained test scores accuracy and reliability: response (the window itself) or authors (one step early, as the authors' code)", AddedLater = true)]
    public ScoreWindow ScoreWindow { get; init; } = ScoreWindow.Response;

    /// <summary>Trials per full batch.</summary>
    [Option("trials per full batch (alternating cues)", Min = 2, Max = 100000)]
    public int Trials { get; init; } = 128;

    /// <summary>SGD momentum μ.</summary>
    [Option("SGD momentum", Min = 0, Max = 1, MaxExclusive = true)]
    public double Momentum { get; init; } = 0.9;

    /// <summary>SGD weight decay λ.</summary>
    [Option("SGD weight decay", Min = 0)]
    public double WeightDecay { get; init; } = 1e-7;

    /// <summary>Epochs = max(min_epochs, epochs_times_lr / lr).</summary>
    [Option("epochs per network = max(min_epochs, epochs_times_lr / lr)", Min = 1)]
    public int MinEpochs { get; init; } = 1000;

    /// <summary>See <see cref="MinEpochs"/>.</summary>
    [Option("epochs per network = max(min_epochs, epochs_times_lr / lr) (paper: 30; its post variant: 100)", Min = 0)]
    public double EpochsTimesLr { get; init; } = 30;

    /// <summary>Cap on the epochs of any network (0 = none), for CPU budgets.</summary>
    [Option("cap on epochs per network (0 = none): makes a CPU-sized study; small learning rates then get too few epochs", Min = 0)]
    public int EpochCap { get; init; }

    /// <summary>Networks trained together; activations cost about 4·E·B·L·N numbers.</summary>
    [Option("networks per ensemble (results do not depend on it; memory ≈ 4·E·trials·L·N numbers)", Min = 1, Max = 100000)]
    public int EnsembleSize { get; init; } = 32;

    /// <summary>Element type.</summary>
    [Option("float32 or float64")]
    public Precision Dtype { get; init; } = Precision.Float32;

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (Delays.Length == 0) yield return ("delays", "empty list; give at least one delay");
        foreach (var d in Delays.Where(d => d is < 0 or > 80))
            yield return ("delays", $"{d} is not allowed; expected integers in [0, 80]");
        if (Delays.Distinct().Count() != Delays.Length) yield return ("delays", "contains a delay twice");
        foreach (var lr in LrList.Where(lr => !(lr > 0) || double.IsInfinity(lr)))
            yield return ("lr_list", $"{lr} is not allowed; expected finite learning rates > 0");
        if (LrList.Distinct().Count() != LrList.Length) yield return ("lr_list", "contains a learning rate twice");
        if (LrMin > LrMax) yield return ("lr_min", $"{LrMin} is larger than lr_max {LrMax}");
        if (LrCount == 1 && LrMin != LrMax) yield return ("lr_count", "1 learning rate needs lr_min = lr_max");
        if (SafeFileName.Problem(Name) is { } problem) yield return ("name", $"{problem}; {SafeFileName.Rule}");
    }

    /// <summary>The learning rates, largest first: <see cref="LrList"/>, or else lr_max · (lr_min/lr_max)^(k/(n−1)).</summary>
    public double[] LearningRates() => LrList.Length > 0 ? LrList.OrderByDescending(lr => lr).ToArray() : Enumerable.Range(0, LrCount)
        .Select(k => LrCount == 1 ? LrMax : LrMax * Math.Pow(LrMin / LrMax, k / (double)(LrCount - 1))).ToArray();

    /// <summary>The task layout for delay <paramref name="delay"/> (cue 6, window 10, as in the paper).</summary>
    public DelayedCueLayout Layout(int delay) => DelayedCueLayout.From(new DelayedCueOptions { Delay = delay, PostSteps = PostSteps });

    /// <summary>Every network of the study, in a stable order (delay, then learning rate, then seed).</summary>
    public IReadOnlyList<StmNetwork> Networks()
    {
        var shared = SharedJson().ToJsonString();
        var lrs = LearningRates();
        return (from d in Delays
                from lr in lrs
                from s in Enumerable.Range(FirstSeed, Seeds)
                select new StmNetwork(d, lr, s, EnsembleTraining.Epochs(lr, MinEpochs, EpochsTimesLr, 0),
                    EnsembleTraining.Epochs(lr, MinEpochs, EpochsTimesLr, EpochCap),
                    RunSpec.Hash($"{shared}|delay={d}|lr={lr:R}|seed={s}"))).ToList();
    }

    // Everything that changes what a network learns; name, grid lists, ensemble size and analysis settings do not.
    private JsonObject SharedJson()
    {
        var all = OptionsBinder.ToJson(this);
        foreach (var k in new[] { "name", "delays", "lr_max", "lr_min", "lr_count", "lr_list", "seeds", "first_seed", "ensemble_size", "sp_fit_min_lr", "reference_points", "reference_fractions" }) all.Remove(k);
        return all;
    }

    /// <summary>Reads <paramref name="path"/> strictly (comments and trailing commas allowed).</summary>
    public static StmConfig Load(string path)
    {
        if (!File.Exists(path)) throw new ZooConfigException(path, null, "config file not found");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ZooConfigException(path, null, $"malformed JSON at line {e.LineNumber + 1}: {e.Message.Split('.')[0]}");
        }
        StmConfig config;
        using (doc)
        {
            DuplicateKeys.Check(doc.RootElement, path);
            config = OptionsBinder.Bind<StmConfig>(doc.RootElement.Clone(), path, "");
        }
        return config with
        {
            ReferencePoints = Beside(path, "reference_points", config.ReferencePoints),
            ReferenceFractions = Beside(path, "reference_fractions", config.ReferenceFractions),
        };
    }

    // A file named relative to the config, as a full path; empty stays empty.
    private static string Beside(string configPath, string field, string name)
    {
        if (name.Length == 0) return name;
        var full = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configPath))!, name);
        if (!File.Exists(full)) throw new ZooConfigException(configPath, field, $"'{full}' not found");
        return full;
    }
}

/// <summary>One network of a study.</summary>
/// <param name="Delay">Delay T in steps.</param>
/// <param name="Lr">Learning rate.</param>
/// <param name="Seed">Seed.</param>
/// <param name="PaperEpochs">The paper's budget max(1000, 30/η).</param>
/// <param name="Epochs">The budget it gets (after the cap).</param>
/// <param name="Hash">Stable id: shared settings + delay + learning rate + seed.</param>
public sealed record StmNetwork(int Delay, double Lr, long Seed, int PaperEpochs, int Epochs, string Hash);

/// <summary>Where a short-term-memory network's accuracy and reliability are scored.</summary>
public enum ScoreWindow
{
    /// <summary>The response window itself.</summary>
    Response,
    /// <summary>
    /// The authors' window: one step early (their <c>reaction_start = (input + delay)/dt − 1</c>), so it holds the last
    /// delay step, whose all-zero target counts channel 0 as right, and drops the last response step; a perfect network
    /// scores about 0.95 accuracy there, so their trained test is a little stricter.
    /// </summary>
    Authors,
}
