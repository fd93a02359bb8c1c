using Zoo.Core.Options;
using Zoo.Runner;
using Zoo.Runner.Results;

namespace Zoo.Tests;

/// <summary><c>train.until</c>: runs that end at a target, a plateau or a step cap, and the row columns saying how and how fast.</summary>
public sealed class UntilTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-until-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Parity of the last bit is the bit itself: a bare LSTM learns it in tens of steps, so a target stops it early.
    private const string Task = "\"name\": \"binary-timescales\", \"options\": { \"n\": 1, \"length\": 8, \"test_examples\": 64 }";

    private string Suite(string tasks) => Write("until.json", $$"""
        { "name": "until", "defaults": { "model": { "kind": "bare", "d_model": 8 }, "train": { "batch": 16, "lr": 3e-2, "warmup": 0, "eval_every": 2 }, "seeds": [0] },
          "layers": [ "lstm" ], "tasks": [ {{tasks}} ] }
        """);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private IReadOnlyList<ResultRow> Run(string suite) => new SuiteRunner().Run(suite, new RunSettings(Path.Combine(_dir, "out")));

    private static long StepsRun(ResultRow r) => r.TokensSeen / (r.Batch * 8L);

    [Fact]
    public void A_reachable_target_ends_the_run_early_and_fills_the_learning_speed_columns()
    {
        var row = Run(Suite($$"""{ {{Task}}, "train": { "until": { "target": 0.95, "max_steps": 400 } } }""")).Single();
        Assert.Equal(("ok", "target"), (row.Status, row.End));
        Assert.Equal(400, row.Steps);                                                   // the cap is the budget
        Assert.InRange(StepsRun(row), 2, 398);                                           // stopped before it
        Assert.True(row.FinalValue >= 0.95, $"ended at {row.FinalValue}");
        Assert.NotNull(row.StepsToHalf);
        Assert.NotNull(row.StepsToNineTenths);
        Assert.InRange(row.StepsToHalf!.Value, 2, row.StepsToNineTenths!.Value);        // 0.75 is reached no later than 0.95
        Assert.True(row.StepsToNineTenths <= StepsRun(row));
        var read = new CsvTable<ResultRow>(Path.Combine(_dir, "out", "until.csv")).Read().Single();
        Assert.Equal((row.End, row.StepsToHalf, row.StepsToNineTenths), (read.End, read.StepsToHalf, read.StepsToNineTenths));
    }

    [Fact]
    public void Patience_ends_a_run_that_cannot_improve()
    {
        // A learning rate of 1e-12 leaves the weights as they were: the first evaluation stays the best one.
        var row = Run(Suite($$"""{ {{Task}}, "train": { "lr": 1e-12, "until": { "patience": 2, "max_steps": 100 } } }""")).Single();
        Assert.Equal(("ok", "plateau"), (row.Status, row.End));
        Assert.Equal(6, StepsRun(row));                                                  // best at 2, then 4 and 6 without a new one
        Assert.Null(row.StepsToNineTenths);                                             // chance-level accuracy never gets there
    }

    [Fact]
    public void The_cap_ends_a_run_that_neither_reaches_its_target_nor_stalls_and_a_fixed_budget_ends_at_steps()
    {
        var rows = Run(Suite($$"""{ {{Task}}, "train": { "until": { "target": 1.5, "max_steps": 6 } } }, { {{Task}}, "train": { "steps": 4 } }"""));
        Assert.Equal(new[] { ("cap", 6L, 6), ("steps", 4L, 4) }, rows.Select(r => (r.End, StepsRun(r), r.Steps)));
    }

    [Fact]
    public void Post_training_metrics_record_the_step_an_until_run_ended_at()
    {
        // Any finite position error meets this target, so the run ends at its first evaluation, long before the cap.
        var rows = Run(Write("replay-until.json", """
            { "name": "replay-until", "defaults": { "model": { "kind": "bare", "d_model": 8 },
                "train": { "batch": 4, "warmup": 0, "eval_every": 3, "eval_examples": 8, "until": { "target": 1e9, "max_steps": 30 } }, "seeds": [0] },
              "layers": [ { "name": "leaky-rnn", "options": { "noise": 0.01 } } ],
              "tasks": [ { "name": "path-integration", "options": { "environment": "t_maze", "place_cells": 16, "steps": 10, "test_examples": 8,
                "replays": 3, "reach_replays": 2, "replay_steps": 30, "reference_trajectories": 4 } } ] }
            """));
        Assert.Equal(("ok", "target", 3, 30), (rows[0].Status, rows[0].End, rows[0].BestStep, rows[0].Steps));
        Assert.True(rows.Count > 1, "the post-training evaluation wrote no rows");
        Assert.All(rows.Skip(1), r => Assert.Equal(3, r.BestStep));   // measured on the model of step 3, not of the cap
    }

    [Theory]
    [InlineData("\"until\": { \"max_steps\": 10 }", "train.until.target", "needs target, patience or both")]
    [InlineData("\"steps\": 100, \"until\": { \"target\": 0.9, \"max_steps\": 200 }", "train.until.max_steps", "200 contradicts steps 100")]
    [InlineData("\"until\": { \"patience\": 0 }", "train.until.patience", "0 is not allowed")]
    [InlineData("\"until\": { \"target\": 0.9, \"stop\": 1 }", "train.until.stop", "unknown field")]
    public void Contradictory_or_incomplete_until_is_a_config_error_naming_the_field(string train, string field, string expected)
    {
        var path = Suite($$"""{ {{Task}}, "train": { {{train}} } }""");
        var e = Assert.Throws<ZooConfigException>(() => SuiteRunner.Plan(path, new RunSettings()));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(field, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Until_on_a_curriculum_is_a_config_error()
    {
        var path = Suite("""{ "name": "timescale-curriculum", "train": { "until": { "target": 0.9 } } }""");
        var e = Assert.Throws<ZooConfigException>(() => SuiteRunner.Plan(path, new RunSettings()));
        Assert.Contains("train.until", e.Message);
        Assert.Contains("curriculum", e.Message);
    }

    [Fact]
    public void Both_spellings_of_a_cap_are_one_configuration_and_until_changes_the_hash()
    {
        string Hash(string train) => SuiteRunner.Plan(Suite($$"""{ {{Task}}, "train": { {{train}} } }"""), new RunSettings()).Runs.Single().ConfigHash;
        var viaSteps = Hash("\"steps\": 300, \"until\": { \"target\": 0.9 }");
        Assert.Equal(viaSteps, Hash("\"until\": { \"target\": 0.9, \"max_steps\": 300 }"));
        Assert.Equal(viaSteps, Hash("\"steps\": 300, \"until\": { \"target\": 0.9, \"max_steps\": 300 }"));
        Assert.NotEqual(viaSteps, Hash("\"steps\": 300"));
        Assert.NotEqual(viaSteps, Hash("\"steps\": 300, \"until\": { \"target\": 0.8 }"));
    }
}
