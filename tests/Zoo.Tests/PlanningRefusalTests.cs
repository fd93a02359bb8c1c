using Zoo.Runner;
using Zoo.Runner.Results;
using static Zoo.Tests.NpyFiles;

namespace Zoo.Tests;

/// <summary>
/// Inputs that used to train and then fail (or be recorded as diverged at step 0) are refused when the suite is planned:
/// bad data values, absurd array headers, sizes that cannot fit in memory, out-of-range counts, empty sweeps. Each is one
/// line naming the file and what is allowed, exit code 2, and nothing is written. Runs the CLI in-process.
/// </summary>
public sealed class PlanningRefusalTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-plan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string OutDir => Path.Combine(_dir, "out");

    private string PathOf(string name) => Path.Combine(_dir, name);

    private const int N = 10, L = 4;

    private static long[] Tokens => Enumerable.Range(0, N * L).Select(i => (long)(i % 7)).ToArray();

    private static float[] Reals => Enumerable.Range(0, N * L).Select(i => i / 40f).ToArray();

    private static T[] With<T>(T[] values, int at, T value)
    {
        var copy = (T[])values.Clone();
        copy[at] = value;
        return copy;
    }

    private static string JsonRows(Func<int, string> inputs, Func<int, string> targets) =>
        string.Join("\n", Enumerable.Range(0, N).Select(r => $"{{\"inputs\": [{inputs(r)}], \"targets\": [{targets(r)}]}}"));

    /// <summary>Writes the data file of a case; the second item is the text the error must contain.</summary>
    private (string File, string Expected) Data(string kind)
    {
        var tokens = Npy("<i8", new long[] { N, L }, I64(Tokens));
        var reals = Npy("<f4", new long[] { N, L }, F32(Reals));
        return kind switch
        {
            "nan input" => (Npz(PathOf("a.npz"), ("inputs", Npy("<f4", new long[] { N, L }, F32(With(Reals, 9, float.NaN)))), ("targets", tokens)),
                "inputs: holds NaN at row 2, position 1; allowed: finite numbers"),
            "infinite target" => (Npz(PathOf("a.npz"), ("inputs", tokens), ("targets", Npy("<f4", new long[] { N, L }, F32(With(Reals, 6, float.PositiveInfinity))))),
                "targets: holds Infinity at row 1, position 2; allowed: finite numbers"),
            "float64 beyond float32" => (Npz(PathOf("a.npz"), ("inputs", Npy("<f8", new long[] { N, L }, F64(With(Reals.Select(x => (double)x).ToArray(), 0, 1e300)))), ("targets", tokens)),
                "inputs: holds 1E+300 at row 0, position 0; allowed: finite numbers within float32 range"),
            "jsonl overflowing number" => (Write("a.jsonl", JsonRows(r => r == 3 ? "0.5, 1e999, 0, 0" : "0.5, 0.25, 0, 0", _ => "1, 2, 3, 0")),
                "inputs: holds Infinity at row 3, position 1"),
            "every target unscored" => (Npz(PathOf("a.npz"), ("inputs", tokens), ("targets", Npy("<i8", new long[] { N, L }, I64(Enumerable.Repeat(-100L, N * L).ToArray())))),
                "targets: scores no position at all; allowed: data with at least one scored target"),
            "jsonl every target unscored" => (Write("a.jsonl", JsonRows(_ => "1, 2, 3, 4", _ => "-100, -100, -100, -100")),
                "scores no position at all"),
            "test split unscored" => (Write("a.jsonl", JsonRows(_ => "1, 2, 3, 4", r => r < 9 ? "1, 2, 3, 4" : "-100, -100, -100, -100")),
                "targets: the test split (1 row) scores no position"),
            "token id beyond any vocabulary" => (Npz(PathOf("a.npz"), ("inputs", Npy("<i8", new long[] { N, L }, I64(With(Tokens, 13, 1L << 40)))), ("targets", tokens)),
                "vocab: token id 1099511627776 (row 3, position 1) is too large; allowed: ids in [0, 2147483646]"),
            "absurd header shape" => (Npz(PathOf("a.npz"), ("inputs", Npy("<i8", "99999999999999999999, 8", Array.Empty<byte>())), ("targets", tokens)),
                "inputs: header claims shape (99999999999999999999, 8); allowed: dimensions that are integers in [0, 2147483647]"),
            "header shape beyond 2 GiB" => (Npz(PathOf("a.npz"), ("inputs", Npy("<i8", new long[] { 2147483647, 2147483647 }, Array.Empty<byte>())), ("targets", tokens)),
                "inputs: shape [2147483647, 2147483647] of <i8 is larger than 2 GiB"),
            "header shape beyond the file" => (Npz(PathOf("a.npz"), ("inputs", Npy("<i1", new long[] { 1 << 20, 1024 }, new byte[8])), ("targets", tokens)),
                "inputs: truncated: shape [1048576, 1024] of <i1 needs 1073741824 bytes"),
            _ => throw new ArgumentException(kind),
        };
    }

    public static TheoryData<string> DataCases => new()
    {
        "nan input", "infinite target", "float64 beyond float32", "jsonl overflowing number", "every target unscored",
        "jsonl every target unscored", "test split unscored", "token id beyond any vocabulary", "absurd header shape",
        "header shape beyond 2 GiB", "header shape beyond the file",
    };

    [Theory]
    [MemberData(nameof(DataCases))]
    public void Bad_data_is_refused_at_planning_naming_the_file(string kind)
    {
        var (file, expected) = Data(kind);
        var suite = Suite($$"""{ "name": "file", "options": { "train": "{{file}}" } }""");
        foreach (var dryRun in new[] { true, false })
        {
            var err = Refused(dryRun ? new[] { "run", suite, "--out", OutDir, "--dry-run" } : new[] { "run", suite, "--out", OutDir });
            Assert.Contains(file, err);
            Assert.Contains(expected, err);
        }
    }

    public static TheoryData<string, string, string> SizeCases => new()
    {
        // name, the replacement in the suite, text the error must contain
        { "d_model 1e5", "\"d_model\": 100000", "needs at least 596 GiB to train (4E+10 parameters" },
        { "d_model 1e9", "\"d_model\": 1000000000", "EiB to train (4E+18 parameters" },
        { "batch 1e9", "\"batch\": 1000000000", "with batch 1000000000 and length 16 needs at least" },
    };

    [Theory]
    [MemberData(nameof(SizeCases))]
    public void Configurations_that_cannot_fit_in_memory_are_refused_with_the_estimate(string name, string replacement, string expected)
    {
        var text = File.ReadAllText(Suite()).Replace(replacement.StartsWith("\"d_model") ? "\"d_model\": 16" : "\"batch\": 4", replacement);
        var suite = Write($"{name.Replace(' ', '-')}.json", text);
        foreach (var dryRun in new[] { true, false })
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var err = Refused(dryRun ? new[] { "run", suite, "--out", OutDir, "--dry-run" } : new[] { "run", suite, "--out", OutDir });
            Assert.Contains(suite, err);
            Assert.Contains(expected, err);
            Assert.Contains("more than this machine's", err);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"{name}: refusing took {watch.Elapsed}"); // no data generated, no weights allocated
        }
    }

    [Fact]
    public void A_real_allocation_failure_while_training_is_recorded_as_oom()
    {
        var suite = Suite(layers: "\"allocates-too-much\", \"lstm\"");
        var (code, _, err) = BadInputTests.Zoo("run", suite, "--out", OutDir, "--plugin", TestSupport.BadPluginPath);
        Assert.True(code == 1, err);
        var rows = new CsvTable<ResultRow>(Path.Combine(OutDir, "p.csv")).Read();
        Assert.Equal(new[] { "oom", "ok" }, rows.Select(r => r.Status));
        Assert.Contains("can't allocate memory", rows[0].Message);
    }

    public static TheoryData<string, string, string> FieldCases => new()
    {
        { "steps beyond int", "\"steps\": 2147483648", "train.steps: 2147483648 is not allowed; expected integer in [1, 2147483647]" },
        { "empty lr sweep", "\"lr\": [], \"steps\": 2", "tasks[0].train.lr: empty list, which sweeps over no value and leaves no runs; allowed: a value or a list of at least one" },
        { "empty d_model sweep", "\"steps\": 2 }, \"model\": { \"d_model\": [] ", "tasks[0].model.d_model: empty list" },
    };

    [Theory]
    [MemberData(nameof(FieldCases))]
    public void Out_of_range_and_empty_sweep_fields_are_refused(string name, string replacement, string expected)
    {
        var text = File.ReadAllText(Suite(task: """{ "name": "mqar", "options": { "vocab": 32, "length": 16, "pairs": 2, "test_examples": 8 }, "train": { "steps": 2 } }"""));
        var suite = Write($"{name.Replace(' ', '-')}.json", text.Replace("\"train\": { \"steps\": 2 }", "\"train\": { " + replacement + " }"));
        var err = Refused("run", suite, "--out", OutDir);
        Assert.Contains(suite, err);
        Assert.Contains(expected, err);
    }

    [Fact]
    public void Task_options_without_a_task_are_refused()
    {
        var (code, _, err) = BadInputTests.Zoo("eval", PathOf("no-such-checkpoint.json"), "--task-options", "{\"length\": 32}");
        Assert.True(code == 2, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("--task-options: given without --task", err);
    }

    [Fact]
    public void Malformed_task_options_are_refused_naming_the_option_before_anything_is_loaded()
    {
        var (code, _, err) = BadInputTests.Zoo("eval", PathOf("no-such-checkpoint.json"), "--task", "mqar", "--task-options", "{\"length\": ");
        Assert.True(code == 2, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("--task-options: not valid JSON", err);
    }

    // Runs the CLI and checks the refusal: exit code 2, one line, nothing in the output folder; returns the line.
    private string Refused(params string[] args)
    {
        var (code, _, err) = BadInputTests.Zoo(args);
        Assert.True(code == 2, $"{string.Join(' ', args)}: exit {code}, stderr: {err}");
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(Directory.Exists(OutDir) && Directory.EnumerateFileSystemEntries(OutDir).Any(), "something was written");
        return err;
    }

    private string Suite(string task = """{ "name": "mqar", "options": { "vocab": 32, "length": 16, "pairs": 2, "test_examples": 8 } }""", string layers = "\"lstm\"") =>
        Write($"suite-{Guid.NewGuid():N}.json", $$"""
            { "name": "p", "defaults": { "model": { "d_model": 16, "n_layers": 1, "mlp_ratio": 1 }, "train": { "steps": 2, "batch": 4, "warmup": 1, "eval_every": 1 } },
              "layers": [ {{layers}} ], "tasks": [ {{task}} ] }
            """);

    private string Write(string name, string text)
    {
        File.WriteAllText(PathOf(name), text);
        return PathOf(name);
    }
}
