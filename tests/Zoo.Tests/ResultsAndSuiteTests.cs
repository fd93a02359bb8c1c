using Zoo.Core.Options;
using Zoo.Runner;
using Zoo.Runner.Results;
using Zoo.Runner.Suites;

namespace Zoo.Tests;

public sealed class ResultsAndSuiteTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Csv_appends_keep_one_header_and_round_trip()
    {
        var table = new CsvTable<ResultRow>(Path.Combine(_dir, "r.csv"));
        table.Append(new[] { new ResultRow { Layer = "lstm", Value = 0.5, Message = "a, \"quoted\" message" } });
        table.Append(new[] { new ResultRow { Layer = "gru", Value = 0.25 } });
        var rows = table.Read();
        Assert.Equal(new[] { "lstm", "gru" }, rows.Select(r => r.Layer));
        Assert.Equal("a, \"quoted\" message", rows[0].Message);
        Assert.Single(File.ReadLines(table.Path), l => l.StartsWith("suite,"));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void Atomic_writes_go_through_a_temporary_file_of_this_process_own()
    {
        // Two zoo processes on one --out redraw the same plots: with one shared temporary name, one renamed the other's
        // half-written file into place and then failed on its own vanished one. A two-process race cannot be replayed
        // deterministically, so this checks what prevents it: the name is this process's, beside the file, same extension.
        var path = Path.Combine(_dir, "curves-mqar.png");
        var tmp = AtomicFile.TemporaryPath(path);
        Assert.Equal(_dir, Path.GetDirectoryName(tmp));
        Assert.EndsWith(".png", tmp);
        Assert.Contains($".{Environment.ProcessId}.", Path.GetFileName(tmp));
        AtomicFile.WriteAllText(path, "x");
        Assert.Equal("x", File.ReadAllText(path));
        Assert.False(File.Exists(tmp));
    }

    [Fact]
    public void Csv_of_another_schema_is_refused_not_appended_to()
    {
        var path = Write("old.csv", "suite,layer,value\nsmoke,lstm,0.5\n");
        var e = Assert.Throws<ZooConfigException>(() => new CsvTable<ResultRow>(path).Append(new[] { new ResultRow() }));
        Assert.Contains("another column layout", e.Message);
        Assert.Equal("suite,layer,value\nsmoke,lstm,0.5\n", File.ReadAllText(path));
    }

    private const string Suite = """
        { "name": "t", "defaults": { "model": { "d_model": 16, "n_layers": 1 }, "train": { "steps": 4, "lr": [0.001, 0.01] }, "seeds": [0, 1] },
          "layers": [ { "name": "lstm" }, { "name": "attention", "options": { "heads": [1, 2] } } ],
          "tasks": [ { "name": "mqar", "options": { "vocab": 32, "length": 16, "pairs": 2 } } ] }
        """;

    [Fact]
    public void Lists_sweep_and_runs_are_the_cross_product()
    {
        var (_, _, runs) = SuiteRunner.Plan(Write("s.json", Suite), new RunSettings());
        Assert.Equal((1 + 2) * 2 * 2, runs.Count);
        Assert.Equal(runs.Count, runs.Select(r => r.ConfigHash).Distinct().Count());
        Assert.Equal(new[] { 0.001, 0.01 }, runs.Select(r => r.Train.Lr).Distinct().Order());
    }

    [Theory]
    [InlineData("selectivity.json", 6 * (1 + 2 + 3) * 2)]      // 6 layers × (copying + T1 × 2 + T2, T3, T4) × 2 seeds
    [InlineData("long-timescale.json", 5 * 4 * 2)]            // 5 layers × (parity, DMS) × (single, multi) × 2 seeds
    public void Committed_selectivity_and_timescale_suites_plan(string file, int runs)
    {
        var planned = SuiteRunner.Plan(Path.Combine(TestSupport.RepoRoot, "tasks", file), new RunSettings()).Runs;
        Assert.Equal(runs, planned.Count);
    }

    [Fact]
    public void Config_hash_ignores_spelling_and_key_order()
    {
        var a = SuiteRunner.Plan(Write("a.json", Suite), new RunSettings()).Runs;
        var reordered = Suite.Replace("\"vocab\": 32, \"length\": 16", "\"length\": 16, \"vocab\": 32").Replace("{ \"name\": \"lstm\" }", "{ \"name\": \"lstm\", \"options\": { \"bias\": true } }");
        var b = SuiteRunner.Plan(Write("b.json", reordered), new RunSettings()).Runs;
        Assert.Equal(a.Select(r => r.ConfigHash), b.Select(r => r.ConfigHash));
    }

    [Theory]
    [InlineData("{ \"name\": \"t\", \"layer\": [], \"tasks\": [] }", "layer", "did you mean 'layers'")]
    [InlineData("{ \"name\": \"t\", \"layers\": [\"lstm\"], \"tasks\": [\"mqar\"], \"defaults\": { \"train\": { \"stpes\": 3 } } }", "stpes", "did you mean 'steps'")]
    [InlineData("{ \"name\": \"t\", \"layers\": [\"lstm\"], \"tasks\": [\"mqar\"], \"defaults\": { \"model\": { \"d_model\": 0 } } }", "d_model", "[1, 2147483647]")]
    [InlineData("{ \"name\": \"t\", \"layers\": [\"transformer\"], \"tasks\": [\"mqar\"] }", "layers[0].name", "unknown layer 'transformer'")]
    [InlineData("{ \"name\": \"t\", \"layers\": [\"lstm\"], \"tasks\": [{ \"name\": \"mqar\", \"options\": { \"pairs\": \"many\" } }] }", "tasks[0].options.pairs", "integer")]
    [InlineData("{ \"name\": \"t\", \"layers\": [{ \"name\": \"attention\", \"options\": { \"heads\": 3 } }], \"tasks\": [\"mqar\"] }", "layers[0].options.heads", "divisible")]
    [InlineData("{ \"name\": \"t\", \"plugins\": [\"missing/Plugin.dll\"], \"layers\": [\"lstm\"], \"tasks\": [\"mqar\"] }", "plugin", "missing/Plugin.dll")]
    [InlineData("{ \"name\": \"t\", \"layers\": [\"lstm\"], \"tasks\": [\"mqar\"], ", "", "malformed JSON")]
    [InlineData("{ \"name\": \"t\", \"layers\": [], \"tasks\": [\"mqar\"] }", "layers", "missing or empty")]
    public void Bad_suites_fail_before_training_with_file_and_field(string json, string field, string expected)
    {
        var path = Write("bad.json", json);
        var e = Assert.Throws<ZooConfigException>(() => SuiteRunner.Plan(path, new RunSettings()));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(field, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Suite_run_writes_rows_curves_and_a_plot()
    {
        var suite = Write("run.json", """
            { "name": "mini", "defaults": { "model": { "d_model": 16, "n_layers": 1, "mlp_ratio": 1 }, "train": { "steps": 6, "batch": 8, "warmup": 1, "eval_every": 3 } },
              "layers": [ "lstm", "leaky-rnn" ],
              "tasks": [ { "name": "mqar", "options": { "vocab": 32, "length": 16, "pairs": 2, "test_examples": 16 } } ] }
            """);
        var outDir = Path.Combine(_dir, "out");
        var rows = new SuiteRunner().Run(suite, new RunSettings(outDir));
        Assert.Equal(2, rows.Count);
        var stored = new CsvTable<ResultRow>(Path.Combine(outDir, "mini.csv")).Read();
        Assert.Equal(new[] { "ok", "ok" }, stored.Select(r => r.Status));
        Assert.All(stored, r => Assert.True(r.Params > 0 && r.TokensSeen == 6 * 8 * 16 && r.Commit.Length > 0 && r.TorchVersion.Length > 0));
        Assert.Equal(4, new CsvTable<CurveRow>(Path.Combine(outDir, "mini", "curves.csv")).Read().Count);
        Assert.True(new FileInfo(Path.Combine(outDir, "mini", "curves-mqar.png")).Length > 1000);
    }
}
