using System.Text.Json;
using Zoo.Cli;
using Zoo.Core.Options;
using Zoo.Runner.Results;
using Zoo.Studies.ShortTermMemory;

namespace Zoo.Tests;

/// <summary>The short-term memory study: config binding, planning, resume, rows, critical learning rates and fits.</summary>
public sealed class StmStudyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-stm-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static StmConfig Bind(string json) => OptionsBinder.Bind<StmConfig>(JsonDocument.Parse(json).RootElement, "test.json", "");

    [Fact]
    public void Defaults_are_the_papers_main_grid()
    {
        var c = new StmConfig();
        Assert.Equal(21 * 30 * 100, c.Networks().Count);
        var lrs = c.LearningRates();
        Assert.Equal(0.316, lrs[0], 12);
        Assert.Equal(0.001, lrs[^1], 12);
        Assert.Equal(lrs[1] / lrs[0], lrs[^1] / lrs[^2], 9);  // log-spaced
        Assert.Equal(30000, c.Networks().First(n => n.Lr == lrs[^1]).Epochs);
    }

    [Fact]
    public void Config_is_bound_strictly()
    {
        var c = Bind("""{"name": "x", "delays": [0, 40], "seeds": 2, "network": {"hidden": 10}, "dtype": "float64", "epoch_cap": 50}""");
        Assert.Equal(new[] { 0, 40 }, c.Delays);
        Assert.Equal(10, c.Network.Hidden);
        Assert.Equal(Precision.Float64, c.Dtype);
        var unknown = Assert.Throws<ZooConfigException>(() => Bind("""{"delay": [4]}"""));
        Assert.Contains("delays", unknown.Message);
        var range = Assert.Throws<ZooConfigException>(() => Bind("""{"delays": [4, 84]}"""));
        Assert.Contains("84", range.Message);
        Assert.Throws<ZooConfigException>(() => Bind("""{"lr_min": 0.5, "lr_max": 0.1}"""));
        Assert.Throws<ZooConfigException>(() => Bind("""{"network": {"alpha": 1.5}}"""));
    }

    [Fact]
    public void Network_hash_ignores_grid_lists_and_ensemble_size_but_not_what_training_sees()
    {
        var a = Bind("""{"delays": [8], "lr_count": 2, "seeds": 2, "ensemble_size": 1}""").Networks();
        var b = Bind("""{"name": "other", "delays": [4, 8], "lr_count": 2, "seeds": 3, "ensemble_size": 7}""").Networks();
        Assert.All(a, n => Assert.Contains(b, m => m.Hash == n.Hash));
        var capped = Bind("""{"delays": [8], "lr_count": 2, "seeds": 2, "epoch_cap": 10}""").Networks();
        Assert.DoesNotContain(capped, n => a.Any(m => m.Hash == n.Hash));
        Assert.Equal(a.Count, a.Select(n => n.Hash).Distinct().Count());
    }

    [Fact]
    public void Plan_groups_by_budget_tier_then_delay_chunks_and_skips_done_networks()
    {
        var c = Bind("""{"delays": [4, 8], "lr_count": 3, "lr_min": 0.01, "lr_max": 0.1, "seeds": 3, "ensemble_size": 4}""");
        var plan = StmStudy.Plan(c, Array.Empty<string>());
        // Budgets 1000, 1000 (30/0.0316 < 1000) and 3000 epochs: tier 0 holds 6 networks per delay (4 + 2), tier 1 holds 3.
        Assert.Equal(6, plan.Count);
        Assert.All(plan, e => Assert.All(e.Networks, n => Assert.Equal(e.Delay, n.Delay)));
        Assert.All(plan, e => Assert.True(e.Networks.Count <= 4));
        Assert.Equal(new[] { 1000, 1000, 1000, 1000, 3000, 3000 }, plan.Select(e => e.Epochs));  // cheap tier first, for every delay
        Assert.Equal(new[] { 4, 4, 8, 8, 4, 8 }, plan.Select(e => e.Delay));
        var done = c.Networks().Take(5).Select(n => n.Hash);
        Assert.Equal(13, StmStudy.Plan(c, done).Sum(e => e.Networks.Count));
    }

    [Fact]
    public void Tiny_study_writes_rows_resumes_and_plots()
    {
        var config = Bind("""
            {"name": "tiny", "delays": [0, 4, 8], "lr_max": 0.5, "lr_min": 0.1, "lr_count": 2, "seeds": 2,
             "network": {"hidden": 6}, "trials": 4, "min_epochs": 3, "epoch_cap": 3, "ensemble_size": 3}
            """);
        var csv = Path.Combine(_dir, "tiny.csv");
        var log = new List<string>();
        var study = new StmStudy(log.Add);
        var rows = study.Run(config, csv, "cpu");
        Assert.Equal(12, rows.Count);
        Assert.All(rows, r =>
        {
            Assert.Equal(3, r.Epochs);
            Assert.Contains(r.Outcome, new[] { "trained", "failed", "unstable", "diverged" });
            Assert.Equal(r.Outcome == "trained" ? "yes" : "no", r.Trained);
            Assert.Equal(5.0 * r.DelaySteps, r.DelayMs);
            Assert.False(string.IsNullOrEmpty(r.Commit));
            Assert.False(string.IsNullOrEmpty(r.TorchVersion));
            Assert.True(double.IsFinite(r.FinalLoss));
        });
        Assert.Equal(12, new CsvTable<StmRow>(csv).Read().Count);
        Assert.Empty(study.Run(config, csv, "cpu"));  // resume: nothing left
        var analysis = study.Analyse(config, csv);
        Assert.Equal(12, analysis.Rows.Count);
        Assert.True(new FileInfo(analysis.PlotPath).Length > 0);
        Assert.True(File.Exists(Path.Combine(_dir, "tiny", "critical.csv")));
        Assert.True(File.Exists(Path.Combine(_dir, "tiny", "fits.csv")));
    }

    [Fact]
    public void Command_reports_a_bad_config_in_one_line()
    {
        var path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, """{"delays": [4], "epoch_kap": 10}""");
        var (output, error) = (new StringWriter(), new StringWriter());
        int code = new ZooCli(output, error, live: false).Run(new[] { "stm", path, "--out", Path.Combine(_dir, "bad.csv") });
        Assert.Equal(2, code);
        Assert.Contains("epoch_kap", error.ToString());
        Assert.Contains("epoch_cap", error.ToString());
        Assert.False(File.Exists(Path.Combine(_dir, "bad.csv")));
    }

    [Fact]
    public void Dry_run_counts_pending_networks()
    {
        var path = Path.Combine(_dir, "dry.json");
        File.WriteAllText(path, """{"name": "dry", "delays": [4, 8], "lr_count": 2, "seeds": 3, "epoch_cap": 100, "ensemble_size": 4}""");
        var output = new StringWriter();
        int code = new ZooCli(output, new StringWriter(), live: false).Run(new[] { "stm", path, "--out", Path.Combine(_dir, "dry.csv"), "--dry-run" });
        Assert.Equal(0, code);
        Assert.Contains("12 networks, 12 pending in 4 ensembles, 1,200 network-epochs", output.ToString());
        // The calibration: both rates, the matmul fraction and an estimate, measured in the same run.
        Assert.Matches(@"ensemble of 4 [0-9.]+ network-epochs/s, one network at a time [0-9.]+ .*% of a 1024\^2 matmul's [0-9.]+ GFLOP/s; estimated training time", output.ToString());
    }

    [Fact]
    public void An_explicit_learning_rate_list_replaces_the_grid_and_is_validated()
    {
        var c = Bind("""{"delays": [8], "lr_list": [0.01, 0.316228, 0.05], "seeds": 1}""");
        Assert.Equal(new[] { 0.316228, 0.05, 0.01 }, c.LearningRates());
        Assert.Equal(3000, c.Networks().Single(n => n.Lr == 0.01).Epochs);
        // The list is a grid choice: the same network keeps its hash whichever grid it came from.
        var grid = Bind("""{"delays": [8], "lr_max": 0.316228, "lr_min": 0.316228, "lr_count": 1, "seeds": 1}""");
        Assert.Equal(grid.Networks().Single().Hash, c.Networks().Single(n => n.Lr == 0.316228).Hash);
        var e = Assert.Throws<ZooConfigException>(() => Bind("""{"lr_list": [0.1, -0.5]}"""));
        Assert.Contains("lr_list", e.Message);
        Assert.Contains("-0.5", e.Message);
    }

    [Fact]
    public void Committed_configs_bind_and_have_the_documented_size()
    {
        var full = StmConfig.Load(Path.Combine(TestSupport.RepoRoot, "tasks", "stm.json"));
        Assert.Equal(1024, full.Networks().Count);
        Assert.All(full.Networks(), n => Assert.True(n.Lr * n.Epochs >= 30 - 1e-9, $"lr {n.Lr} × {n.Epochs} epochs"));
        Assert.Equal(8, StmStudy.Plan(full, Array.Empty<string>()).Count);  // one ensemble per delay
        Assert.Equal(32, StmConfig.Load(Path.Combine(TestSupport.RepoRoot, "tasks", "stm-smoke.json")).Networks().Count);
        var paper = StmConfig.Load(Path.Combine(TestSupport.RepoRoot, "tasks", "stm-paper-budget.json"));
        Assert.Equal(11 * 13 * 8, paper.Networks().Count);
        Assert.All(paper.Networks(), n => Assert.Equal(Math.Max(1000, (int)Math.Floor(30 / n.Lr)), n.Epochs));  // uncapped
        Assert.Equal(0.316228, paper.LearningRates()[0]);
        Assert.Equal(0.001, paper.LearningRates()[^1]);
    }

    [Fact]
    public void Refitting_the_authors_points_gives_their_published_exponents()
    {
        var config = StmConfig.Load(Path.Combine(TestSupport.RepoRoot, "tasks", "stm-paper-budget.json"));
        var authors = new CsvTable<AuthorsCriticalPoint>(config.ReferencePoints).Read();
        Assert.Equal(30, authors.Count);
        // As the authors' own points, but under Zoo's method name, so Fits applies the slow-point exclusion to them.
        var points = AuthorsCriticalPoint.AsCriticalPoints(authors).Select(p => p with { Method = "paper_fit" }).ToList();
        var fits = CriticalLearningRate.Fits(points, config.SpFitMinLr);
        var onset = fits.Single(f => f.Category == "no_solution");
        var spAll = fits.Single(f => f.Category == "sp" && f.Rates == "all");
        var spAuthors = fits.Single(f => f.Category == "sp" && f.Rates != "all");
        // The points were read from figures to 0.1 ms, so the slopes agree to the published two decimals within 0.01.
        void Near(double expected, double actual) => Assert.True(Math.Abs(expected - actual) <= 0.01 + 1e-12, $"{actual} vs {expected}");
        Near(-2.72, onset.Slope);
        Near(0.07, onset.SlopeSe);
        Near(-4.05, spAuthors.Slope);
        Near(0.10, spAuthors.SlopeSe);
        Assert.Equal(25, spAuthors.Points);
        Assert.Equal(authors.Count(a => a.SpUsedInFit == "yes"), spAuthors.Points);
        Near(-4.78, spAll.Slope);
        Near(0.17, spAll.SlopeSe);

        // Point by point: a Zoo point at one of the authors' rates pairs with it; a rate Zoo has no point for stays empty.
        var zoo = new List<CriticalPoint> { new() { Method = "paper_fit", Category = "no_solution", DelayMs = 50, Lr = 0.316228 } };
        var rows = CriticalComparison.Compare(zoo, authors);
        Assert.Equal(2, rows.Count);
        Assert.Equal(50 - 33.6, rows.Single(r => r.Category == "no_solution").DifferenceMs!.Value, 9);
        Assert.Null(rows.Single(r => r.Category == "sp").ZooMs);
    }

    [Fact]
    public void Log_log_fit_recovers_a_power_law()
    {
        var x = new[] { 20.0, 50, 100, 200, 400 };
        var (slope, se, intercept) = CriticalLearningRate.LogLog(x, x.Select(v => 2 * Math.Pow(v, -3)).ToArray());
        Assert.Equal(-3, slope, 9);
        Assert.Equal(0, se, 9);
        Assert.Equal(Math.Log(2), intercept, 9);
    }

    [Fact]
    public void Curve_fits_recover_onset_and_midpoint()
    {
        var x = Enumerable.Range(0, 21).Select(i => 20.0 * i).ToArray();
        var (x0, a, _) = CriticalLearningRate.FitOnset(x, x.Select(v => CriticalLearningRate.Onset(v, 130, 0.02)).ToArray());
        Assert.InRange(x0, 127, 133);
        Assert.InRange(a, 0.017, 0.023);
        var (m, k, _) = CriticalLearningRate.FitLogistic(x, x.Select(v => CriticalLearningRate.Logistic(v, 210, -0.05)).ToArray());
        Assert.InRange(m, 207, 213);
        Assert.InRange(k, -0.06, -0.04);
    }

    [Fact]
    public void Critical_learning_rates_of_synthetic_phases_follow_their_power_laws()
    {
        // A network trains when lr < 1e6 T⁻³ (T in ms, times a seed-dependent factor), and then uses slow points when
        // lr < 2.3e8 T⁻⁵, else a limit cycle: both boundaries should come back with their exponents.
        var rows = new List<StmRow>();
        var lrs = Enumerable.Range(0, 16).Select(k => 0.3 * Math.Pow(0.01 / 0.3, k / 15.0)).ToArray();
        foreach (var t in Enumerable.Range(1, 40).Select(i => 10.0 * i))
            foreach (var lr in lrs)
                for (int s = 0; s < 8; s++)
                {
                    double jitter = 0.7 + 0.6 * s / 7;
                    bool trained = lr < jitter * 1e6 * Math.Pow(t, -3);
                    bool sp = trained && lr < jitter * 2.3e8 * Math.Pow(t, -5);
                    rows.Add(new StmRow { DelayMs = t, DelaySteps = (int)(t / 5), Lr = lr, Seed = s, Trained = trained ? "yes" : "no", MechanismFft = trained ? (sp ? "sp" : "lc") : "" });
                }
        var fits = CriticalLearningRate.Fits(CriticalLearningRate.PerDelay(rows).Concat(CriticalLearningRate.PerLearningRate(rows)).ToList());
        double Slope(string method, string category) => fits.Single(f => f.Method == method && f.Category == category).Slope;
        Assert.InRange(Slope("half_seeds", "trained"), -3.4, -2.6);
        Assert.InRange(Slope("paper_fit", "no_solution"), -3.4, -2.6);
        Assert.InRange(Slope("half_seeds", "sp"), -5.6, -4.4);
        Assert.InRange(Slope("paper_fit", "sp"), -5.6, -4.4);
    }
}
