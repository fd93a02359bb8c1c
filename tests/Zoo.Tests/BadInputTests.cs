using Zoo.Cli;
using Zoo.Runner.Results;

namespace Zoo.Tests;

/// <summary>
/// Every kind of bad input gets one line naming the file and the field and what is allowed, exit code 2, and
/// nothing written to the results folder. Runs the CLI in-process.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-bad-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string OutDir => Path.Combine(_dir, "out");

    internal static (int Code, string Out, string Err) Zoo(params string[] args)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        int code = new ZooCli(o, e, live: false).Run(args);
        return (code, o.ToString(), e.ToString());
    }

    private const string Good = """
        { "name": "s", "defaults": { "model": { "d_model": 16, "n_layers": 1, "mlp_ratio": 1 }, "train": { "steps": 2, "batch": 4, "warmup": 1, "eval_every": 1 } },
          "layers": [ LAYERS ], "tasks": [ TASKS ] }
        """;

    internal static string Suite(string layers = "\"lstm\"", string tasks = "{ \"name\": \"mqar\", \"options\": { \"vocab\": 32, \"length\": 16, \"pairs\": 2, \"test_examples\": 8 } }") =>
        Good.Replace("LAYERS", layers).Replace("TASKS", tasks);

    public static TheoryData<string, string, string> Cases => new()
    {
        // name, suite text, text the error must contain
        { "malformed json", "{ \"name\": \"s\", \"layers\": [", "malformed JSON" },
        { "unknown top-level key", Suite().Replace("\"layers\"", "\"layer\": [], \"layers\""), "unknown key" },
        { "unknown layer", Suite("\"lstn\""), "did you mean 'lstm'" },
        { "unknown task", Suite(tasks: "\"mqr\""), "did you mean 'mqar'" },
        { "unknown layer option", Suite("{ \"name\": \"attention\", \"options\": { \"head\": 2 } }"), "layers[0].options.head: unknown field (did you mean 'heads'?)" },
        { "unknown task option", Suite(tasks: "{ \"name\": \"mqar\", \"options\": { \"vocab_size\": 32 } }"), "tasks[0].options.vocab_size" },
        { "unknown train field", Suite().Replace("\"steps\"", "\"step\""), "did you mean 'steps'" },
        { "string for integer", Suite("{ \"name\": \"attention\", \"options\": { \"heads\": \"two\" } }"), "\"two\" is not allowed; expected integer" },
        { "bool for number", Suite("{ \"name\": \"leaky-rnn\", \"options\": { \"leak\": true } }"), "expected number in (0, 1]" },
        { "fraction for integer", Suite(tasks: "{ \"name\": \"mqar\", \"options\": { \"pairs\": 2.5 } }"), "tasks[0].options.pairs" },
        { "negative size", Suite().Replace("\"d_model\": 16", "\"d_model\": -16"), "d_model: -16 is not allowed; expected integer in [1, 2147483647]" },
        { "zero steps", Suite().Replace("\"steps\": 2", "\"steps\": 0"), "steps: 0 is not allowed" },
        { "zero lr", Suite().Replace("\"steps\": 2", "\"steps\": 2, \"lr\": 0"), "lr: 0 is not allowed; expected number in (0, inf)" },
        { "heads do not divide d_model", Suite("{ \"name\": \"attention\", \"options\": { \"heads\": 3 } }"), "not divisible by heads 3" },
        { "bad enum value", Suite("{ \"name\": \"leaky-rnn\", \"options\": { \"activation\": \"sigmoid\" } }"), "one of relu, tanh, leaky_relu" },
        { "leak out of range", Suite("{ \"name\": \"leaky-rnn\", \"options\": { \"leak\": 1.5 } }"), "(0, 1]" },
        { "zero chunk size", Suite("{ \"name\": \"gated-deltanet\", \"options\": { \"chunk_size\": 0 } }"), "chunk_size: 0 is not allowed" },
        { "top_k above memories", Suite("{ \"name\": \"mom\", \"options\": { \"memories\": 2, \"top_k\": 3 } }"), "top_k: 3 exceeds memories 2" },
        { "nested option typo", Suite("{ \"name\": \"mom\", \"options\": { \"memory\": { \"hedas\": 2 } } }"), "memory.hedas" },
        { "impossible task sizes", Suite(tasks: "{ \"name\": \"mqar\", \"options\": { \"vocab\": 32, \"length\": 16, \"pairs\": 5 } }"), "allowed: 1 … 4" },
        { "odd task length", Suite(tasks: "{ \"name\": \"mqar\", \"options\": { \"vocab\": 32, \"length\": 15 } }"), "allowed: an even length" },
        { "empty layer list", Suite("").Replace("\"layers\": [  ]", "\"layers\": []"), "missing or empty" },
        { "missing plugin file", Suite().Replace("\"defaults\"", "\"plugins\": [\"no/such/Plugin.dll\"], \"defaults\""), "no/such/Plugin.dll" },
        { "unusable suite name", Suite().Replace("\"name\": \"s\"", "\"name\": \"a b\""), "'a b' contains ' '; allowed: 1 to 100 letters" },
        { "suite name climbing out of --out", Suite().Replace("\"name\": \"s\"", "\"name\": \"..\""), "'..' does not start with a letter or digit" },
        { "suite name with a separator", Suite().Replace("\"name\": \"s\"", "\"name\": \"a/b\""), "'a/b' contains '/'" },
        { "suite name too long for a file", Suite().Replace("\"name\": \"s\"", $"\"name\": \"{new string('a', 300)}\""), "name: 300 characters is too long" },
        { "duplicate top-level key", Suite().Replace("\"name\": \"s\"", "\"name\": \"s\", \"name\": \"t\""), "name: key 'name' appears twice in the top-level object" },
        { "duplicate train key", Suite().Replace("\"steps\": 2", "\"steps\": 2, \"steps\": 3"), "defaults.train.steps: key 'steps' appears twice in defaults.train" },
        { "duplicate options key", Suite(tasks: "{ \"name\": \"mqar\", \"options\": { \"vocab\": 32, \"vocab\": 64 } }"), "tasks[0].options.vocab: key 'vocab' appears twice" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_suite_is_one_line_exit_2_and_writes_nothing(string name, string suiteText, string expected)
    {
        var suite = Path.Combine(_dir, "suite.json");
        File.WriteAllText(suite, suiteText);
        var (code, _, err) = Zoo("run", suite, "--out", OutDir);
        Assert.True(code == 2, $"{name}: exit {code}, stderr: {err}");
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains(suite, err);
        Assert.Contains(expected, err);
        Assert.False(Directory.Exists(OutDir) && Directory.EnumerateFileSystemEntries(OutDir).Any(), $"{name}: something was written");
    }

    [Fact]
    public void Plugin_without_layers_is_named_by_path()
    {
        var suite = Write(Suite());
        var path = typeof(Xunit.FactAttribute).Assembly.Location;
        var (code, _, err) = Zoo("run", suite, "--out", OutDir, "--plugin", path);
        Assert.Equal(2, code);
        Assert.Contains(path, err);
        Assert.Contains("no class marked", err);
    }

    [Fact]
    public void Plugin_whose_layer_throws_in_its_constructor_fails_before_training()
    {
        var suite = Write(Suite("\"lstm\", \"throws-on-build\""));
        var (code, _, err) = Zoo("run", suite, "--out", OutDir, "--plugin", TestSupport.BadPluginPath);
        Assert.Equal(2, code);
        Assert.Contains(TestSupport.BadPluginPath, err);
        Assert.Contains("deliberate failure in the constructor", err);
        Assert.False(Directory.Exists(OutDir) && Directory.EnumerateFiles(OutDir, "*.csv", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public void Duplicate_layer_names_across_plugins_name_both_files()
    {
        var (code, _, err) = Zoo("list", "layers", "--plugin", TestSupport.ExamplePluginPath, "--plugin", TestSupport.BadPluginPath);
        Assert.Equal(2, code);
        Assert.Contains("example-ema", err);
        Assert.Contains(TestSupport.ExamplePluginPath, err);
        Assert.Contains(TestSupport.BadPluginPath, err);
    }

    [Fact]
    public void Unwritable_output_folder_is_named()
    {
        var blocker = Path.Combine(_dir, "a-file");
        File.WriteAllText(blocker, "");
        var (code, _, err) = Zoo("run", Write(Suite()), "--out", Path.Combine(blocker, "results"));
        Assert.Equal(2, code);
        Assert.Contains("cannot write to", err);
        Assert.Contains(blocker, err);
    }

    [Fact]
    public void Results_file_of_an_older_schema_is_refused_and_left_alone()
    {
        Directory.CreateDirectory(OutDir);
        var csv = Path.Combine(OutDir, "s.csv");
        File.WriteAllText(csv, "suite,layer,metric,value\ns,lstm,accuracy,0.5\n");
        var (code, _, err) = Zoo("run", Write(Suite()), "--out", OutDir);
        Assert.Equal(2, code);
        Assert.Contains("another column layout", err);
        Assert.Equal("suite,layer,metric,value\ns,lstm,accuracy,0.5\n", File.ReadAllText(csv));
    }

    [Fact]
    public void Bad_shard_spec_is_refused()
    {
        var (code, _, err) = Zoo("run", Write(Suite()), "--out", OutDir, "--shard", "3/2");
        Assert.Equal(2, code);
        Assert.Contains("--shard", err);
        Assert.Contains("0 ≤ i < n", err);
    }

    [Fact]
    public void Nan_producing_learning_rate_is_recorded_as_diverged_and_the_suite_goes_on()
    {
        var suite = Write(Suite("{ \"name\": \"lstm\", \"train\": { \"lr\": 1e30, \"steps\": 20, \"grad_clip\": 0 } }, \"gru\""));
        var (code, _, err) = Zoo("run", suite, "--out", OutDir);
        Assert.True(code == 0, err);
        var rows = new CsvTable<ResultRow>(Path.Combine(OutDir, "s.csv")).Read();
        Assert.Equal(new[] { "diverged", "ok" }, rows.Select(r => r.Status));
        Assert.Contains("became", rows[0].Message);
    }

    [Fact]
    public void Out_of_memory_is_recorded_as_oom_and_the_suite_goes_on()
    {
        var suite = Write(Suite("\"oom-on-forward\", \"lstm\""));
        var (code, _, _) = Zoo("run", suite, "--out", OutDir, "--plugin", TestSupport.BadPluginPath);
        Assert.Equal(1, code); // a run failed: non-zero, but every row was written
        var rows = new CsvTable<ResultRow>(Path.Combine(OutDir, "s.csv")).Read();
        Assert.Equal(new[] { "oom", "ok" }, rows.Select(r => r.Status));
        Assert.Contains("out of memory", rows[0].Message);
    }

    private string Write(string text)
    {
        var path = Path.Combine(_dir, $"suite-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, text);
        return path;
    }
}
