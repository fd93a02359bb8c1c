using System.Diagnostics;
using System.Globalization;
using Zoo.Core.Native;
using Zoo.Runner.Results;
using Zoo.Tasks.ShortTermMemory;
using static TorchSharp.torch;

namespace Zoo.Studies.ShortTermMemory;

/// <summary>Networks of a study grouped for training: one delay, at most <see cref="StmConfig.EnsembleSize"/> networks.</summary>
/// <param name="Delay">Delay shared by the ensemble (it sets the trial length).</param>
/// <param name="Networks">The networks, longest budget first.</param>
public sealed record StmEnsemble(int Delay, IReadOnlyList<StmNetwork> Networks)
{
    /// <summary>Epochs the ensemble loop runs (its longest budget).</summary>
    public int Epochs => Networks.Max(n => n.Epochs);

    /// <summary>Epochs summed over the networks: what training costs, since each network leaves at its budget's end.</summary>
    public long NetworkEpochs => Networks.Sum(n => (long)n.Epochs);
}

/// <summary>What <see cref="StmStudy.Analyse"/> found and where it wrote the plot.</summary>
public sealed record StmAnalysis(IReadOnlyList<StmRow> Rows, IReadOnlyList<CriticalPoint> Points, IReadOnlyList<CriticalFit> Fits, string PlotPath);

/// <summary>
/// Runs a short-term memory study (Kurtkaya et al.): plans delays × learning rates × seeds, skips networks whose
/// configuration hash already has a row, trains the rest as ensembles (<see cref="RateRnnEnsemble"/>), judges and
/// classifies each network, and appends one row per network per ensemble atomically, so a killed study loses at most
/// the ensemble in flight and resumes where it stopped.
/// </summary>
public sealed class StmStudy
{
    private readonly Action<string> _log;

    /// <summary>Logs progress lines to <paramref name="log"/>.</summary>
    public StmStudy(Action<string>? log = null) => _log = log ?? (_ => { });

    /// <summary>
    /// Pending networks grouped into ensembles: by budget tier (epochs within a factor of 2: 1,000–1,999, 2,000–3,999,
    /// …), then by delay, each longest budget first. Cheap tiers come first, so a study cut short has the large
    /// learning rates of every delay rather than every rate of a few delays. Mixed budgets in one ensemble cost
    /// nothing extra: a network leaves the computation when its budget ends (<see cref="EnsembleTraining.Train"/>).
    /// </summary>
    public static IReadOnlyList<StmEnsemble> Plan(StmConfig config, IEnumerable<string> done)
    {
        var finished = done.ToHashSet();
        int minEpochs = Math.Max(1, config.Networks().Select(n => n.Epochs).DefaultIfEmpty(1).Min());
        int Tier(StmNetwork n) => (int)Math.Floor(Math.Log2(n.Epochs / (double)minEpochs));
        return config.Networks().Where(n => !finished.Contains(n.Hash))
            .GroupBy(n => (Tier: Tier(n), n.Delay))
            .OrderBy(g => g.Key.Tier).ThenBy(g => g.Key.Delay)
            .SelectMany(g => g.OrderByDescending(n => n.Epochs).ThenByDescending(n => n.Lr).ThenBy(n => n.Seed)
                .Chunk(config.EnsembleSize).Select(c => new StmEnsemble(g.Key.Delay, c)))
            .ToList();
    }

    /// <summary>Trains every pending network of <paramref name="config"/>, appending rows to <paramref name="csvPath"/>; returns the new rows.</summary>
    public IReadOnlyList<StmRow> Run(StmConfig config, string csvPath, string deviceName, bool force = false)
    {
        var device = NativeEnvironment.Device(deviceName);
        var table = new CsvTable<StmRow>(csvPath, _log);
        Writable.File(table.Path, table.TemporaryPath, "--out");   // before hours of training, as zoo run checks
        var existing = table.Read();  // also refuses a file of another schema
        var plan = Plan(config, force ? Array.Empty<string>() : existing.Select(r => r.ConfigHash));
        int total = config.Networks().Count, pending = plan.Sum(p => p.Networks.Count);
        _log($"{config.Name}: {total} networks, {pending} pending in {plan.Count} ensembles of ≤ {config.EnsembleSize} ({plan.Sum(p => p.NetworkEpochs):N0} network-epochs)");
        var provenance = Provenance.Capture();
        var dtype = config.Dtype == Precision.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var rows = new List<StmRow>();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < plan.Count; i++)
        {
            var ens = plan[i];
            var layout = config.Layout(ens.Delay);
            var members = ens.Networks.Select(n => new EnsembleMember(n.Lr, n.Seed, n.Epochs)).ToList();
            var wall = Stopwatch.StartNew();
            var lastLog = Stopwatch.StartNew();
            using var net = new RateRnnEnsemble(members.Select(m => m.Seed).ToList(), config.Network, dtype, device);
            var histories = EnsembleTraining.Train(net, members, layout, config.Trials, config.Momentum, config.WeightDecay, (epoch, epochs) =>
            {
                if (lastLog.Elapsed.TotalSeconds < 30) return;
                lastLog.Restart();
                _log($"  ensemble {i + 1}/{plan.Count}: epoch {epoch}/{epochs}");
            }, config.ScoreWindow == ScoreWindow.Authors ? -1 : 0);
            double trainSeconds = wall.Elapsed.TotalSeconds;
            var results = EnsembleTraining.Analyse(net, histories, layout);
            double seconds = wall.Elapsed.TotalSeconds;
            string utc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            var batch = ens.Networks.Zip(results, (n, r) => ToRow(config, n, r, ens.Networks.Count, seconds, device, provenance, utc)).ToList();
            table.Append(batch);
            rows.AddRange(batch);
            long networkEpochs = histories.Sum(h => (long)h.Epochs);
            _log($"ensemble {i + 1}/{plan.Count}: delay {ens.Delay}, {members.Count} networks, {ens.Epochs} epochs, {seconds:F1} s " +
                 $"(training {networkEpochs / trainSeconds:F1} network-epochs/s, analysis {seconds - trainSeconds:F1} s), trained {results.Count(r => r.Outcome == TrainingOutcome.Trained)}/{members.Count}, " +
                 $"diverged {results.Count(r => r.Outcome == TrainingOutcome.Diverged)}");
        }
        if (rows.Count > 0)
            _log($"{rows.Count} networks in {clock.Elapsed.TotalSeconds:F0} s ({rows.Count / clock.Elapsed.TotalHours:F0} networks/hour)");
        return rows;
    }

    /// <summary>
    /// Reads the rows of <paramref name="config"/>'s networks from <paramref name="csvPath"/> (the latest row per
    /// network), computes the critical learning rates and their log-log fits, and writes <c>critical.csv</c>,
    /// <c>fits.csv</c>, <c>critical-lr.png</c> and <c>phase-diagram.png</c> (and, with
    /// <see cref="StmConfig.ReferencePoints"/>, <c>authors-comparison.csv</c>; with <see cref="StmConfig.ReferenceFractions"/>,
    /// <c>fractions-comparison.csv</c> and <c>sampling.csv</c>) into the folder beside the CSV named after
    /// it (<c>results/stm.csv</c> → <c>results/stm/</c>).
    /// </summary>
    public StmAnalysis Analyse(StmConfig config, string csvPath)
    {
        var hashes = config.Networks().Select(n => n.Hash).ToHashSet();
        var rows = new CsvTable<StmRow>(csvPath, _log).Read().Where(r => hashes.Contains(r.ConfigHash))
            .GroupBy(r => r.ConfigHash).Select(g => g.Last()).ToList();
        var points = CriticalLearningRate.PerDelay(rows).Concat(CriticalLearningRate.PerLearningRate(rows)).ToList();
        var fits = CriticalLearningRate.Fits(points, config.SpFitMinLr);
        var authors = config.ReferencePoints.Length > 0 ? new CsvTable<AuthorsCriticalPoint>(config.ReferencePoints).Read() : Array.Empty<AuthorsCriticalPoint>();
        var folder = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(csvPath))!, Path.GetFileNameWithoutExtension(csvPath));
        Directory.CreateDirectory(folder);
        new CsvTable<CriticalPoint>(Path.Combine(folder, "critical.csv")).Write(points);
        new CsvTable<CriticalFit>(Path.Combine(folder, "fits.csv")).Write(fits);
        var png = Path.Combine(folder, "critical-lr.png");
        var overlay = AuthorsCriticalPoint.AsCriticalPoints(authors).ToList();
        StmPlot.Write(points.Concat(overlay).ToList(), fits, png, $"{config.Name}: critical learning rate vs delay ({rows.Count} networks, log-log)");
        StmPhaseDiagram.Write(rows, fits, overlay, Path.Combine(folder, "phase-diagram.png"),
            $"{config.Name}: outcome per delay × learning rate ({rows.Count} networks; majority of seeds)");
        if (authors.Count > 0)
        {
            var comparison = CriticalComparison.Compare(points, authors);
            new CsvTable<CriticalComparison>(Path.Combine(folder, "authors-comparison.csv")).Write(comparison);
            foreach (var c in comparison)
                _log($"lr {c.Lr,-9:G6} {c.Category,-11}: zoo {(c.ZooMs is { } z ? $"{z,6:F1}" : "     -")} ms, authors {c.AuthorsMs,6:F1} ms");
        }
        if (config.ReferenceFractions.Length > 0)
        {
            var fractions = AuthorsFractions.Load(config.ReferenceFractions);
            var cells = FractionComparison.Compare(rows, fractions);
            new CsvTable<FractionComparison>(Path.Combine(folder, "fractions-comparison.csv")).Write(cells);
            foreach (var c in cells.GroupBy(c => c.Category))
                _log($"{c.Key,-11}: {c.Sum(x => x.ZooCount)} networks, {c.Sum(x => x.Seeds * x.AuthorsFraction):F1} expected from the authors' fractions " +
                     $"over {c.Count()} cells");
            var spread = SamplingSpread.Simulate(rows, fractions, fits, config.SpFitMinLr);
            new CsvTable<SamplingSpread>(Path.Combine(folder, "sampling.csv")).Write(spread);
            foreach (var s in spread)
                _log($"{s.Design} ({s.Seeds} seeds, {s.Delays} delays): {s.Category} ({s.FitRates}) slope median {s.Median:F2} [{s.P05:F2}, {s.P95:F2}]" +
                     (s.Observed is { } o ? $", this study {o:F2} (share of draws as flat: {s.ShareFlatter:F2})" : ""));
        }
        foreach (var d in rows.GroupBy(r => r.DelaySteps).OrderBy(g => g.Key))
            _log($"delay {d.Key,2} ({5 * d.Key,3} ms): {d.Count(r => r.Trained == "yes"),4}/{d.Count(),-4} trained, " +
                 $"sp {d.Count(r => r.MechanismFft == "sp"),4}, lc {d.Count(r => r.MechanismFft == "lc"),4} (rms test: lc {d.Count(r => r.MechanismRms == "lc"),4}), diverged {d.Count(r => r.Diverged == "yes")}");
        foreach (var f in fits)
            _log($"{f.Method} {f.Category} ({f.Rates}): slope {f.Slope:F2} ± {f.SlopeSe:F2} over {f.Points} points{(f.Paper.Length > 0 ? $" (paper {f.Paper})" : "")}");
        _log($"wrote {png}");
        return new StmAnalysis(rows, points, fits, png);
    }

    private static StmRow ToRow(StmConfig c, StmNetwork n, NetworkResult r, int ensembleSize, double seconds, Device device, Provenance p, string utc) => new()
    {
        Study = c.Name,
        ConfigHash = n.Hash,
        DelaySteps = n.Delay,
        DelayMs = 5.0 * n.Delay,
        Lr = n.Lr,
        Seed = n.Seed,
        Epochs = r.History.Epochs,
        PaperEpochs = n.PaperEpochs,
        Trained = r.Outcome == TrainingOutcome.Trained ? "yes" : "no",
        Outcome = TrainingVerdict.Code(r.Outcome),
        Diverged = r.Outcome == TrainingOutcome.Diverged ? "yes" : "no",
        MechanismFft = r.ByFft is { } f ? MemoryMechanism.Code(f) : "",
        PowerShare = r.PowerShare,
        MechanismRms = r.ByRms is { } m ? MemoryMechanism.Code(m) : "",
        OutputRms = r.OutputRms,
        FinalLoss = r.History.Loss.Length > 0 ? r.History.Loss[^1] : double.NaN,
        Accuracy = r.Accuracy,
        Reliability = r.Reliability,
        Hidden = c.Network.Hidden,
        Trials = c.Trials,
        PostSteps = c.PostSteps,
        EnsembleSize = ensembleSize,
        EnsembleWallSeconds = Math.Round(seconds, 3),
        Device = NativeEnvironment.DeviceLabel(device),
        TorchVersion = p.TorchVersion,
        TorchSharpVersion = p.TorchSharpVersion,
        Commit = p.Commit,
        Utc = utc,
    };
}
