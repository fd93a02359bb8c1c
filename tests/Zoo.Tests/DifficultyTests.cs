using System.Text.Json.Nodes;
using Zoo.Core.Options;
using Zoo.Core.Tasks;
using Zoo.Runner;
using Zoo.Runner.Suites;
using Zoo.Tasks.Recall;
using Zoo.Tasks.Selectivity;

namespace Zoo.Tests;

/// <summary>MAD's difficulty protocol: ladders, their expansion in suite files, and the errors for bad names.</summary>
public sealed class DifficultyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-difficulty-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Suite(string task, string layers = "[\"lstm\"]")
    {
        var path = Path.Combine(_dir, $"s{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""
            { "name": "d", "defaults": { "model": { "d_model": 16, "n_layers": 1 }, "train": { "steps": 2 } },
              "layers": {{layers}}, "tasks": [ {{task}} ] }
            """);
        return path;
    }

    private static IReadOnlyList<RunSpec> Plan(string path) => SuiteRunner.Plan(path, new RunSettings()).Runs;

    private static JsonObject Options(RunSpec r) => OptionsBinder.ToJson(r.TaskOptions);

    [Fact]
    public void Ladders_follow_mads_task_configs()
    {
        Assert.Equal(new[] { "vocab=32", "vocab=64", "vocab=128", "length=256", "length=512", "length=1024",
                "train_examples=6400", "train_examples=3200", "train_examples=1600", "train_examples=800" },
            new InContextRecallOptions().DifficultyChanges().Select(c => c.Name));
        // Noisy recall: the vocabulary changes keep the 16 noise tokens on top (MAD: 48, 80, 144), and noise rises.
        var noisy = new InContextRecallOptions { Vocab = 32, NoiseVocab = 16, NoiseFraction = 0.2 }.DifficultyChanges().Select(c => c.Name).ToList();
        Assert.Equal(new[] { "vocab=48", "vocab=80", "vocab=144" }, noisy.Take(3));
        Assert.Equal(new[] { "noise_fraction=0.4", "noise_fraction=0.6", "noise_fraction=0.8" }, noisy.TakeLast(3));
        Assert.Equal(13, noisy.Count);
        Assert.Equal(new[] { "copies=32", "copies=64", "copies=96" }, new SelectiveCopyingOptions().DifficultyChanges().Select(c => c.Name).TakeLast(3));
        Assert.Equal(10, new FuzzyInContextRecallOptions().DifficultyChanges().Count);
        Assert.Equal("length=256", new CompressionOptions().DifficultyChanges()[5].Name);
        Assert.Equal("vocab=8192", new MemorizationOptions().DifficultyChanges()[^1].Name);
        Assert.Equal(0.4, new InContextRecallOptions { NoiseVocab = 16, NoiseFraction = 0.2 }.DifficultyChanges()[^3].Overrides["noise_fraction"]!.GetValue<double>());
    }

    [Fact]
    public void All_expands_to_the_baseline_and_every_change_one_at_a_time()
    {
        var runs = Plan(Suite("""{ "name": "in-context-recall", "options": { "test_examples": 8 }, "difficulty": "all" }""", "[\"lstm\", \"gru\"]"));
        Assert.Equal(2 * 11, runs.Count);
        var lstm = runs.Where(r => r.Layer == "lstm").ToList();
        Assert.Equal("baseline", lstm[0].Setting);
        Assert.Equal(16, Options(lstm[0])["vocab"]!.GetValue<int>());
        Assert.Equal(8, Options(lstm[0])["test_examples"]!.GetValue<int>());              // the entry's options are the baseline
        var vocab64 = lstm.Single(r => r.Setting == "vocab=64");
        Assert.Equal(64, Options(vocab64)["vocab"]!.GetValue<int>());
        Assert.Equal(128, Options(vocab64)["length"]!.GetValue<int>());                     // only one knob changes
        Assert.Equal(8, Options(vocab64)["test_examples"]!.GetValue<int>());
        Assert.Contains("[vocab=64]", vocab64.ToString());
        Assert.Equal(runs.Count, runs.Select(r => r.ConfigHash).Distinct().Count());
    }

    [Fact]
    public void A_list_picks_the_baseline_fields_and_single_changes_in_ladder_order()
    {
        var runs = Plan(Suite("""{ "name": "selective-copying", "difficulty": ["copies=64", "length", "baseline"] }"""));
        Assert.Equal(new[] { "baseline", "length=512", "length=1024", "copies=64" }, runs.Select(r => r.Setting));
    }

    [Fact]
    public void The_baseline_setting_has_the_hash_of_the_same_options_without_a_ladder()
    {
        var plain = Plan(Suite("""{ "name": "memorization", "options": { "length": 16 } }"""));
        var laddered = Plan(Suite("""{ "name": "memorization", "options": { "length": 16 }, "difficulty": ["baseline", "vocab=512"] }"""));
        Assert.Equal(plain.Single().ConfigHash, laddered[0].ConfigHash);
        Assert.Equal("", plain.Single().Setting);
        Assert.NotEqual(plain.Single().ConfigHash, laddered[1].ConfigHash);
    }

    [Fact]
    public void A_change_equal_to_a_swept_value_runs_once()
    {
        var runs = Plan(Suite("""{ "name": "compression", "options": { "length": [32, 64] }, "difficulty": ["baseline", "length"] }"""));
        // length 32 baseline, 64 baseline, then the changes 64 (already there), 128, 256 from each sweep: 4 distinct settings.
        Assert.Equal(new[] { 32, 64, 128, 256 }, runs.Select(r => Options(r)["length"]!.GetValue<int>()).Order());
    }

    [Theory]
    [InlineData("""{ "name": "in-context-recall", "difficulty": "vocab=63" }""", "tasks[0].difficulty", "unknown difficulty 'vocab=63' (did you mean 'vocab=64'?); allowed: all, baseline, vocab, length, train_examples, vocab=32")]
    [InlineData("""{ "name": "in-context-recall", "difficulty": ["all", "noise_fraction"] }""", "tasks[0].difficulty[1]", "unknown difficulty 'noise_fraction'")]
    [InlineData("""{ "name": "mqar", "difficulty": "all" }""", "tasks[0].difficulty", "task 'mqar' has no difficulty ladder")]
    [InlineData("""{ "name": "compression", "difficulty": [] }""", "tasks[0].difficulty", "empty list")]
    [InlineData("""{ "name": "compression", "difficulty": 3 }""", "tasks[0].difficulty", "expected a string")]
    [InlineData("""{ "name": "compression", "dificulty": "all" }""", "tasks[0].dificulty", "did you mean 'difficulty'")]
    public void Bad_difficulty_entries_name_the_field_and_the_allowed_values(string task, string field, string expected)
    {
        var path = Suite(task);
        var e = Assert.Throws<ZooConfigException>(() => Plan(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(field, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_layer_entry_cannot_ask_for_a_difficulty()
    {
        var path = Suite("\"compression\"", """[{ "name": "lstm", "difficulty": "all" }]""");
        var e = Assert.Throws<ZooConfigException>(() => Plan(path));
        Assert.Contains("layers[0].difficulty: unknown key", e.Message);
    }

    [Fact]
    public void A_change_that_makes_the_options_invalid_is_reported_with_its_name()
    {
        // Selective copying at length 64 cannot copy 32 tokens: the error names the change.
        var path = Suite("""{ "name": "selective-copying", "options": { "length": 64 }, "difficulty": "copies" }""");
        var e = Assert.Throws<ZooConfigException>(() => Plan(path));
        Assert.Contains("difficulty copies=32", e.Message);
        Assert.Contains("copies", e.Message);
    }

    [Fact]
    public void Mad_suite_file_expands_and_binds()
    {
        var path = Path.Combine(TestSupport.RepoRoot, "tasks", "mad.json");
        var (suite, _, runs) = SuiteRunner.Plan(path, new RunSettings());
        Assert.Equal("mad", suite.Name);
        Assert.Equal(6, runs.Select(r => r.TaskOptionsHash).Distinct().Count());
        Assert.Equal(9 * 6, runs.Count);
        // The same file with MAD's full ladder on every task: 11 + 14 + 11 + 13 + 11 + 6 settings per layer.
        var full = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        foreach (var t in full["tasks"]!.AsArray()) t!["difficulty"] = "all";
        var fullPath = Path.Combine(_dir, "mad-full.json");
        File.WriteAllText(fullPath, full.ToJsonString());
        Assert.Equal(9 * (11 + 14 + 11 + 13 + 11 + 6), Plan(fullPath).Count);
    }
}
