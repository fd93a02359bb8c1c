using System.Diagnostics;
using Zoo.Core.Options;
using Zoo.Runner;
using Zoo.Runner.Models;
using Zoo.Runner.Plots;
using Zoo.Runner.Results;
using Zoo.Runner.Suites;
using Zoo.Tasks.Recall;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>Resume, kill -9, sharding, merge, concurrency, leaderboard and checkpoints (issue: sweeps and reliability).</summary>
public sealed class ReliabilityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-rel-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Suite(int seeds, int steps = 3)
    {
        var path = Path.Combine(_dir, "tiny.json");
        File.WriteAllText(path, $$"""
            { "name": "tiny", "defaults": { "model": { "d_model": 8, "n_layers": 1, "mlp_ratio": 0 },
                                            "train": { "steps": {{steps}}, "batch": 4, "warmup": 1, "eval_every": {{steps}} },
                                            "seeds": [{{string.Join(", ", Enumerable.Range(0, seeds))}}] },
              "layers": [ "lstm", "gru" ],
              "tasks": [ { "name": "mqar", "options": { "vocab": 16, "length": 8, "pairs": 2, "test_examples": 8 } } ] }
            """);
        return path;
    }

    private string Out => Path.Combine(_dir, "out");

    [Fact]
    public void Resume_skips_finished_runs_and_force_reruns_them()
    {
        var suite = Suite(seeds: 2);
        var first = new SuiteRunner().Run(suite, new RunSettings(Out));
        Assert.Equal(4, first.Count);
        Assert.Empty(new SuiteRunner().Run(suite, new RunSettings(Out)));
        Assert.Equal(4, new SuiteRunner().Run(suite, new RunSettings(Out, Force: true)).Count);
        Assert.Equal(8, new CsvTable<ResultRow>(Path.Combine(Out, "tiny.csv")).Read().Count);
    }

    [Fact]
    public void Plots_only_redraws_the_figures_from_stored_curves_and_trains_nothing()
    {
        var suite = Suite(seeds: 1);
        new SuiteRunner().Run(suite, new RunSettings(Out));
        var png = LearningCurvePlot.PathFor(Path.Combine(Out, "tiny"), "mqar");
        File.Delete(png);
        var csv = Path.Combine(Out, "tiny.csv");
        var before = File.ReadAllText(csv);
        var (code, output, err) = BadInputTests.Zoo("run", suite, "--out", Out, "--plots-only");
        Assert.True(code == 0, err);
        Assert.Contains($"wrote {png}", output);
        Assert.True(File.Exists(png));
        Assert.Equal(before, File.ReadAllText(csv));
        // With a run pending (another seed), it still trains nothing.
        var more = Suite(seeds: 2);
        Assert.Equal(0, BadInputTests.Zoo("run", more, "--out", Out, "--plots-only").Code);
        Assert.Equal(before, File.ReadAllText(csv));
    }

    [Fact]
    public void Only_trains_the_named_entries_and_refuses_an_unknown_name()
    {
        var suite = Suite(seeds: 2);
        var rows = new SuiteRunner().Run(suite, new RunSettings(Out, Only: new[] { "gru" }));
        Assert.Equal(new[] { "gru", "gru" }, rows.Select(r => r.Layer));
        // The rest is still pending for a run without --only, and the plan of --only lists only its entries.
        Assert.Equal(new[] { "lstm", "lstm" }, new SuiteRunner().Run(suite, new RunSettings(Out)).Select(r => r.Layer));
        Assert.All(SuiteRunner.Schedule(suite, new RunSettings(Out, Only: new[] { "lstm" })).InShard, r => Assert.Equal("lstm", r.Run.Layer));
        var e = Assert.Throws<ZooConfigException>(() => SuiteRunner.Plan(suite, new RunSettings(Out, Only: new[] { "grux" })));
        Assert.Contains("--only", e.Message);
        Assert.Contains("allowed: lstm, gru", e.Message);
    }

    private sealed class PlanCounts : IRunReporter
    {
        public (int Total, int Pending)? Planned { get; private set; }
        public void SuitePlanned(int total, int pending) => Planned = (total, pending);
        public void RunStarted(int index, int total, RunSpec run) { }
        public void Progress(Zoo.Runner.Training.TrainProgress progress) { }
        public void RunFinished(ResultRow row) { }
    }

    [Fact]
    public void The_reported_plan_counts_only_the_runs_the_process_covers()
    {
        // The console's "N of M runs already have results" comes from these counts: runs left out by --only or by
        // the shard are neither done nor pending for this process.
        var suite = Suite(seeds: 2);
        var only = new PlanCounts();
        new SuiteRunner(only).Run(suite, new RunSettings(Out, Only: new[] { "gru" }));
        Assert.Equal((2, 2), only.Planned);
        var again = new PlanCounts();
        new SuiteRunner(again).Run(suite, new RunSettings(Out, Only: new[] { "gru" }));
        Assert.Equal((2, 0), again.Planned);
        var all = new PlanCounts();
        new SuiteRunner(all).Run(suite, new RunSettings(Out));
        Assert.Equal((4, 2), all.Planned);
        var shard = new PlanCounts();
        new SuiteRunner(shard).Run(suite, new RunSettings(Out, Shard: Shard.Parse("0/2")));
        Assert.Equal((2, 2), shard.Planned);   // half the runs; a shard keeps its own results file, so none done there
    }

    [Fact]
    public void Failed_runs_are_retried_on_resume()
    {
        var suite = Suite(seeds: 1);
        var (_, _, runs) = SuiteRunner.Plan(suite, new RunSettings(Out));
        var done = new[] { new ResultRow { ConfigHash = runs[0].ConfigHash, Status = "ok" }, new ResultRow { ConfigHash = runs[1].ConfigHash, Status = "error" } };
        Assert.Equal(new[] { runs[1].ConfigHash }, SuiteRunner.Pending(runs, done, new RunSettings(Out)).Select(r => r.ConfigHash));
    }

    [Fact]
    public void Kill_9_mid_suite_leaves_a_valid_csv_and_resume_completes_it()
    {
        var suite = Suite(seeds: 6, steps: 40);  // 12 runs of about a second each
        var csv = Path.Combine(Out, "tiny.csv");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { TestSupport.ZooDll, "run", suite, "--out", Out }) psi.ArgumentList.Add(a);
        using (var child = Process.Start(psi)!)
        {
            child.OutputDataReceived += (_, _) => { };
            child.ErrorDataReceived += (_, _) => { };
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (DateTime.UtcNow < deadline && !child.HasExited && RowCount(csv) < 2) Thread.Sleep(20);
            Assert.False(child.HasExited, "the suite finished before it could be killed; make it longer");
            child.Kill(entireProcessTree: true);   // SIGKILL: no chance to clean up
            child.WaitForExit();
        }
        var before = new CsvTable<ResultRow>(csv).Read();   // parses: no half row
        Assert.InRange(before.Count, 2, 11);
        Assert.All(before, r => Assert.Equal("ok", r.Status));

        var resumed = new SuiteRunner().Run(suite, new RunSettings(Out));
        var after = new CsvTable<ResultRow>(csv).Read();
        Assert.Equal(12, after.Count);
        Assert.Equal(12, after.Select(r => r.ConfigHash).Distinct().Count());
        Assert.Equal(12 - before.Count, resumed.Count);
        Assert.Equal(before.Select(r => r.ConfigHash), after.Take(before.Count).Select(r => r.ConfigHash));
    }

    private static int RowCount(string csv)
    {
        try
        {
            return File.Exists(csv) ? File.ReadAllLines(csv).Length - 1 : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    [Fact]
    public void Shards_partition_the_runs_and_merge_restores_the_whole()
    {
        var suite = Suite(seeds: 3);
        var (_, _, runs) = SuiteRunner.Plan(suite, new RunSettings(Out));
        var shards = Enumerable.Range(0, 3).Select(i => new Shard(i, 3)).ToList();
        var owned = runs.Select((r, i) => shards.Count(s => s.Contains(i))).ToList();
        Assert.All(owned, n => Assert.Equal(1, n));

        foreach (var s in shards.Take(2)) new SuiteRunner().Run(suite, new RunSettings(Out, Shard: s));
        var files = shards.Take(2).Select(s => SuiteRunner.ResultsPath(Out, "tiny", s)).ToList();
        Assert.All(files, f => Assert.True(File.Exists(f)));
        // Merge twice the same shard plus the other: duplicates are dropped, nothing conflicts.
        var report = ShardMerger.Merge(new[] { files[0], files[1], files[0] }, Path.Combine(Out, "merged.csv"));
        Assert.Equal(4, report.RowsWritten);
        Assert.Equal(2, report.Duplicates);
        Assert.Empty(report.Conflicts);
    }

    [Fact]
    public void Merge_reports_conflicting_results_for_one_hash()
    {
        var a = Path.Combine(_dir, "a.csv");
        var b = Path.Combine(_dir, "b.csv");
        new CsvTable<ResultRow>(a).Write(new[] { new ResultRow { ConfigHash = "h1", Status = "ok", Value = 0.5 }, new ResultRow { ConfigHash = "h2", Status = "error" } });
        new CsvTable<ResultRow>(b).Write(new[] { new ResultRow { ConfigHash = "h1", Status = "ok", Value = 0.7 }, new ResultRow { ConfigHash = "h2", Status = "ok", Value = 0.1 } });
        var (code, output, err) = BadInputTests.Zoo("merge", a, b, "--out", Path.Combine(_dir, "m.csv"));
        Assert.Equal(3, code);
        Assert.Contains("1 conflicts", output);
        Assert.Contains("h1", err);
        var merged = new CsvTable<ResultRow>(Path.Combine(_dir, "m.csv")).Read();
        Assert.Equal(new[] { ("h1", "ok", 0.5), ("h2", "ok", 0.1) }, merged.Select(r => (r.ConfigHash, r.Status, r.Value)));
    }

    [Fact]
    public async Task Concurrent_writers_never_interleave_rows()
    {
        var path = Path.Combine(_dir, "shared.csv");
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var table = new CsvTable<ResultRow>(path);
            for (int i = 0; i < 25; i++)
                table.Append(new[] { new ResultRow { ConfigHash = $"{w}-{i}", Message = new string('x', 2000), Status = "ok" } });
        })).ToArray();
        await Task.WhenAll(writers);
        var rows = new CsvTable<ResultRow>(path).Read();
        Assert.Equal(100, rows.Count);
        Assert.Equal(100, rows.Select(r => r.ConfigHash).Distinct().Count());
        Assert.All(rows, r => Assert.Equal(2000, r.Message.Length));
    }

    [Fact]
    public void Leaderboard_keeps_the_best_learning_rate_and_averages_seeds()
    {
        ResultRow R(string layer, double lr, long seed, double value, string status = "ok") => new()
        {
            Suite = "s", Task = "mqar", TaskOptionsHash = "t", TaskOptions = "{}", Layer = layer, LayerOptionsHash = "l", Metric = "accuracy",
            Lr = lr, Seed = seed, Value = value, Status = status, DModel = 64, Params = 1000, TrainTokensPerSecond = 10,
        };
        var rows = new[]
        {
            R("lstm", 1e-3, 0, 0.5), R("lstm", 1e-3, 1, 0.7), R("lstm", 3e-3, 0, 0.9), R("lstm", 3e-3, 1, 0.8),
            R("gru", 1e-3, 0, 0.95), R("gru", 1e-3, 1, 0.0, "error"),
        };
        var rerun = rows[0] with { ConfigHash = "again" };
        var entries = Leaderboard.Build(rows.Append(rerun with { Value = 0.1 }).Append(rerun));  // re-run twice: counts once, latest
        Assert.Equal(new[] { "gru", "lstm" }, entries.Select(e => e.Layer));
        var lstm = entries[1];
        Assert.Equal(3e-3, lstm.Lr);
        Assert.Equal(0.85, lstm.Mean, 12);
        Assert.Equal(Math.Sqrt(0.005), lstm.Spread, 12);
        Assert.Equal(new[] { 0.9, 0.8 }, lstm.SeedValues);            // the bar chart draws each seed
        Assert.Equal(1, entries[0].Seeds); // the error row is not a result
        var md = Leaderboard.Markdown(entries);
        Assert.Contains("| 2 | lstm | 0.8500 (0.900, 0.800) | 2 | – | – |", md);           // two seeds: their values, not ± SD
        var png = Path.Combine(_dir, "board.png");
        LeaderboardPlots.Bars(entries, png, "test");
        Assert.True(new FileInfo(png).Length > 1000);
    }

    [Fact]
    public void Checkpoint_round_trips_through_both_formats_and_zoo_eval_reproduces_the_metric()
    {
        var suite = Suite(seeds: 1, steps: 4);
        var ckpt = Path.Combine(_dir, "ckpt");
        var rows = new SuiteRunner().Run(suite, new RunSettings(Out, CheckpointDir: ckpt));
        var row = rows[0];
        var json = Path.Combine(ckpt, $"tiny-{row.ConfigHash}.json");
        Assert.True(File.Exists(json) && File.Exists(Path.ChangeExtension(json, ".weights")) && File.Exists(Path.ChangeExtension(json, ".pt")));

        var (code, output, err) = BadInputTests.Zoo("eval", json);
        Assert.True(code == 0, err);
        Assert.Contains($"accuracy {row.FinalValue:F6}", output);

        var registry = TestSupport.Registry();
        var (_, native, task) = Checkpoint.Load(registry, json);
        var (_, fromPy, _) = Checkpoint.Load(registry, json, fromPyTorch: true);
        using var scope = NewDisposeScope();
        using var batch = task.Batch(Zoo.Core.Tasks.Split.Test, 0, 0, 4);
        native.eval();
        fromPy.eval();
        Assert.Equal(0.0, TestSupport.MaxAbsDiff(native.forward(batch.Inputs), fromPy.forward(batch.Inputs)));
        Assert.Equal(native.named_parameters().Select(p => p.name), fromPy.named_parameters().Select(p => p.name));
    }
}
