using TorchSharp;
using Zoo.Core.Options;
using Zoo.Core.Tasks;
using Zoo.Layers.Recurrent;
using Zoo.Runner;
using Zoo.Runner.Models;
using Zoo.Runner.Results;
using Zoo.Tasks.Replay;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>Track environments, the path-integration task, the start-state encoder and the replay evaluation end to end.</summary>
public sealed class PathIntegrationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-pi-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Distance from p to the nearest point of segment (a, b).
    private static double ToSegment(double[] p, double[] a, double[] b)
    {
        double dx = b[0] - a[0], dy = b[1] - a[1];
        double u = Math.Clamp(((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy), 0, 1);
        return Math.Sqrt(Math.Pow(p[0] - a[0] - u * dx, 2) + Math.Pow(p[1] - a[1] - u * dy, 2));
    }

    public static TheoryData<string> Tracks => new() { "triangle", "t_maze" };

    [Theory]
    [MemberData(nameof(Tracks))]
    public void Track_runs_stay_on_the_track_integrate_their_velocities_and_visit_all_of_it(string name)
    {
        IArena arena = name == "triangle" ? new Triangle() : new TMaze();
        var segments = name == "triangle"
            ? Enumerable.Range(0, 3).Select(k => (V(k), V(k + 1))).ToArray()
            : new[] { (new[] { 0.0, 0 }, new[] { 0.0, -1 }), (new[] { 0.0, 0 }, new[] { -1.0, 0 }), (new[] { 0.0, 0 }, new[] { 1.0, 0 }) };
        var rng = new SplitMix64(5);
        var runs = Enumerable.Range(0, 200).Select(_ => arena.Sample(rng, 100)).ToList();
        var all = runs.SelectMany(r => r.Positions).ToList();
        Assert.True(all.Max(p => segments.Min(s => ToSegment(p, s.Item1, s.Item2))) < 1e-9, "a point left the track");
        foreach (var r in runs.Take(5))
            for (int t = 0; t < 100; t++)
            {
                Assert.Equal(r.Positions[t][0] + arena.Dt * r.Velocities[t][0], r.Positions[t + 1][0], 9);
                Assert.Equal(r.Positions[t][1] + arena.Dt * r.Velocities[t][1], r.Positions[t + 1][1], 9);
            }
        // Every segment is used and the replay target region is reachable in training data.
        foreach (var (a, b) in segments)
            Assert.Contains(all, p => ToSegment(p, a, b) < 1e-9 && Math.Abs(p[0] - (a[0] + b[0]) / 2) + Math.Abs(p[1] - (a[1] + b[1]) / 2) < 0.2);
        Assert.Contains(all, p => arena.InTarget(p[0], p[1]));
        // Mean speed along the track is the Rayleigh mean σ√(π/2) (no wall slow-down on a track).
        double meanSpeed = runs.SelectMany(r => r.Velocities).Average(v => Math.Sqrt(v[0] * v[0] + v[1] * v[1]));
        Assert.InRange(meanSpeed, 0.9 * 0.26 * Math.PI * Math.Sqrt(Math.PI / 2), 1.02 * 0.26 * Math.PI * Math.Sqrt(Math.PI / 2));
    }

    private static double[] V(int k) => new[] { Math.Cos(Math.PI / 2 + 2 * Math.PI * k / 3), Math.Sin(Math.PI / 2 + 2 * Math.PI * k / 3) };

    [Fact]
    public void Batch_velocities_integrate_to_the_target_positions_and_the_code_decodes_back()
    {
        var task = new PathIntegration(new PathIntegrationOptions { PlaceCells = 512, Steps = 30 });
        using var batch = task.Batch(Split.Train, 3, 0, 8);
        var sig = task.Signature;
        Assert.Equal(new long[] { 8, 30, 2 }, batch.Inputs.shape);
        Assert.Equal(new long[] { 8, 30, 512 + 2 }, batch.Targets.shape);
        Assert.Equal(new long[] { 8, 512 }, batch.Context!.shape);
        Assert.Equal(512, sig.ContextDim);
        var positions = batch.Targets[.., .., 512..];
        var first = task.Example(3, Split.Train, 0);
        var start = tensor(first.Positions[0].Select(v => (float)v).ToArray());
        var integrated = start + (batch.Inputs[0] * 0.02f).cumsum(0);
        Assert.True(TestSupport.MaxAbsDiff(integrated, positions[0]) < 1e-4);
        // The context is the start position's code; codes are distributions.
        Assert.True(TestSupport.MaxAbsDiff(batch.Context[0], task.Code(start)) < 1e-6);
        Assert.True(TestSupport.MaxAbsDiff(batch.Targets[.., .., ..512].sum(-1), ones(8, 30)) < 1e-5);
        // A perfect readout (the code itself) decodes within a cell spacing; a constant one does not.
        var perfect = task.Metrics(batch.Targets[.., .., ..512], batch)["position_error"].Mean;
        var constant = task.Metrics(zeros(8, 30, 512) + arange(512).to(ScalarType.Float32) / 512, batch)["position_error"].Mean;
        Assert.True(perfect < 0.1, $"decoding the target code is off by {perfect:F3} m");
        Assert.True(constant > 0.5, $"a constant readout scored {constant:F3} m");
        Assert.False(task.HigherIsBetter);
        // Cross-entropy (the default) is smallest, at the code's entropy, for logits log(code); MSE is 0 for the code itself.
        var code = batch.Targets[.., .., ..512];
        double entropy = -(code * code.clamp_min(1e-30).log()).sum(-1).mean().item<float>();
        Assert.Equal(entropy, task.Loss(code.clamp_min(1e-30).log(), batch).item<float>(), 3);
        Assert.Equal(Math.Log(512), task.Loss(zeros(8, 30, 512), batch).item<float>(), 3);
        var mse = new PathIntegration(new PathIntegrationOptions { PlaceCells = 512, Steps = 30, Loss = PlaceCodeLoss.Mse });
        Assert.True(mse.Loss(code, batch).item<float>() < 1e-12);
    }

    [Fact]
    public void Examples_are_a_function_of_seed_split_and_index()
    {
        var task = new PathIntegration(new PathIntegrationOptions { Environment = ArenaKind.TMaze, PlaceCells = 16, Steps = 10 });
        using var a = task.Batch(Split.Train, 1, 4, 3);
        using var b = task.Batch(Split.Train, 1, 0, 8);
        Assert.Equal(0.0, TestSupport.MaxAbsDiff(a.Targets, b.Targets[4..7]));
        using var c = task.Batch(Split.Test, 1, 4, 3);
        Assert.True(TestSupport.MaxAbsDiff(a.Targets, c.Targets) > 0);
    }

    [Fact]
    public void The_bare_model_can_drop_its_encoder_and_readout_biases()
    {
        var task = new PathIntegration(new PathIntegrationOptions { PlaceCells = 16, Steps = 12 });
        BareModel Model(bool biases) => new(task.Signature, new ModelSpec { Kind = ModelKind.Bare, DModel = 8, Biases = biases },
            new LeakyRnn(8, new LeakyRnnOptions { Bias = false }));
        Assert.Equal(new[] { "encoder.bias", "readout.bias" }, Model(true).named_parameters().Select(p => p.name).Where(n => n.EndsWith("bias")).Order());
        var bare = Model(false);
        Assert.DoesNotContain(bare.named_parameters(), p => p.name.EndsWith("bias"));
        // Without biases, zero input from a zero start stays exactly at zero activity and zero readout.
        using var scope = NewDisposeScope();
        Assert.Equal(0.0, bare.forward(zeros(2, 5, 2)).abs().max().item<float>());
    }

    [Fact]
    public void Code_peak_is_one_over_the_cells_for_a_flat_readout_and_rises_as_the_readout_sharpens()
    {
        var (task, model) = Small();
        using (no_grad())
            foreach (var p in model.parameters()) p.zero_();
        // Every readout is 0 (the readout's bias included), so each of the 16 cells gets probability 1/16.
        var flat = task.EvaluateAfterTraining(model, 1).Metrics;
        Assert.Equal(1 / 16.0, flat["replay_code_peak"], 12);
        Assert.Equal(1 / 16.0, flat["replay_code_peak_active"], 12);
        // A readout bias of 3 on one cell: e³ / (e³ + 15) at every step, driven or not.
        using (no_grad())
            model.named_parameters().Single(p => p.name == "readout.bias").parameter[5] = 3.0f;
        var sharp = task.EvaluateAfterTraining(model, 1).Metrics;
        Assert.Equal(Math.Exp(3) / (Math.Exp(3) + 15), sharp["replay_code_peak"], 6);
        Assert.Equal(Math.Exp(3) / (Math.Exp(3) + 15), sharp["replay_code_peak_active"], 6);
        // The decoded point then never moves: no jumps.
        Assert.Equal(0.0, sharp["replay_jump_fraction"]);
    }

    private static (PathIntegration Task, BareModel Model) Small(ArenaKind arena = ArenaKind.OpenBox, LeakyRnnOptions? options = null)
    {
        var task = new PathIntegration(new PathIntegrationOptions { Environment = arena, PlaceCells = 16, Steps = 12, Replays = 4, ReachReplays = 3, ReplaySteps = 40, ReferenceTrajectories = 8 });
        manual_seed(7);
        var layer = new LeakyRnn(8, options ?? new LeakyRnnOptions { Activation = Activation.LeakyRelu, Bias = false, Noise = 0.01, AdaptationTau = 5, AdaptationStrength = 0.5, Momentum = 0.7 });
        return (task, new BareModel(task.Signature, new ModelSpec { Kind = ModelKind.Bare, DModel = 8 }, layer));
    }

    [Fact]
    public void Bare_model_starts_the_layer_from_the_encoded_context()
    {
        var (task, model) = Small();
        model.to(ScalarType.Float64);
        model.eval();
        using var batch = task.Batch(Split.Test, 0, 0, 2);
        var inputs = batch.Inputs.to(ScalarType.Float64);
        var context = batch.Context!.to(ScalarType.Float64);
        var viaBatch = model.Forward(new TaskBatch(inputs, batch.Targets, batch.Mask, context));
        // By hand: h0 = encoder(context), then step the layer token by token.
        var state = model.InitialState(context)!;
        var x = ((Zoo.Core.Layers.SequenceLayer)model.Layer);
        var encoded = model.named_modules().First(m => m.name == "encoder").module as TorchSharp.Modules.Linear;
        var steps = new List<Tensor>();
        for (int t = 0; t < 12; t++)
        {
            (var y, state) = x.Step(encoded!.forward(inputs[.., t]), state);
            steps.Add(model.Readout(y));
        }
        Assert.True(TestSupport.MaxAbsDiff(stack(steps, 1), viaBatch) < 1e-12);
        // Without the context the layer starts at rest: a different output.
        Assert.True(TestSupport.MaxAbsDiff(model.forward(inputs), viaBatch) > 1e-6);
    }

    [Fact]
    public void Replay_evaluation_is_deterministic_restores_the_model_and_reports_every_metric()
    {
        var (task, model) = Small(ArenaKind.TMaze);
        model.train();
        var layer = (LeakyRnn)model.Layer;
        var a = task.EvaluateAfterTraining(model, 3);
        var b = task.EvaluateAfterTraining(model, 3);
        Assert.True(model.training);
        Assert.Equal(0, layer.ReplayNoise);
        Assert.Null(layer.NoiseGenerator);
        Assert.Equal(a.Metrics, b.Metrics);
        var expected = new[] { "replay_speed", "replay_exploration", "replay_coverage", "replay_path_length", "replay_sliced_w1", "replay_kde_kl",
            "replay_kde_kl_frozen", "replay_kde_kl_training", "replay_kde_kl_active", "replay_kde_kl_active_frozen", "replay_kde_kl_active_training",
            "replay_jump_fraction", "replay_code_peak", "replay_code_peak_active",
            "replay_diffusion_exponent", "replay_reach_fraction", "replay_reach_time" };
        Assert.Equal(expected.Order(), a.Metrics.Keys.Order());
        Assert.All(a.Metrics.Values, v => Assert.True(double.IsFinite(v)));
        Assert.InRange(a.Metrics["replay_code_peak"], 1 / 16.0, 1.0);
        Assert.InRange(a.Metrics["replay_jump_fraction"], 0.0, 1.0);
        Assert.Equal(4 + 4, a.Trajectories.Count);
        Assert.Equal(40, a.Trajectories.First(t => t.Kind == "replay").Points.Count);
        // Replay noise matters: another noise seed moves the replay.
        var c = task.EvaluateAfterTraining(model, 4);
        Assert.NotEqual(a.Metrics["replay_speed"], c.Metrics["replay_speed"]);
    }

    [Fact]
    public void Replay_suite_writes_metric_rows_trajectories_and_plots_and_resumes()
    {
        var suite = Path.Combine(_dir, "replay.json");
        File.WriteAllText(suite, """
            { "name": "minireplay", "defaults": { "model": { "kind": "bare", "d_model": 8 }, "train": { "steps": 3, "batch": 4, "warmup": 0, "eval_every": 3, "eval_examples": 8 }, "seeds": [0, 1] },
              "layers": [ { "name": "leaky-rnn", "label": "vanilla", "options": { "leak": 1.0, "noise": 0.01 } },
                          { "name": "leaky-rnn", "label": "leaky+momentum", "options": { "leak": 0.2, "noise": 0.01, "momentum": 0.6 } } ],
              "tasks": [ { "name": "path-integration", "options": { "environment": "t_maze", "place_cells": 16, "steps": 10, "test_examples": 8, "replays": 3, "reach_replays": 2, "replay_steps": 30, "reference_trajectories": 4 } } ] }
            """);
        var outDir = Path.Combine(_dir, "out");
        var rows = new SuiteRunner().Run(suite, new RunSettings(outDir));
        Assert.Equal(4 * 18, rows.Count);
        var stored = new CsvTable<ResultRow>(Path.Combine(outDir, "minireplay.csv")).Read();
        Assert.Equal(4, stored.Count(r => r.Metric == "position_error"));
        Assert.Equal(4, stored.Count(r => r.Metric == "replay_sliced_w1"));
        Assert.All(stored.GroupBy(r => r.ConfigHash), g => Assert.Equal(18, g.Count()));
        var kept = new CsvTable<TrajectoryRow>(Path.Combine(outDir, "minireplay", "trajectories.csv")).Read();
        Assert.Equal(new[] { "leaky+momentum", "vanilla" }, kept.Select(k => k.Label).Distinct().Order());
        Assert.Equal(new[] { "leaky+momentum", "vanilla" }, stored.Select(r => r.Label).Distinct().Order());
        foreach (var png in new[] { "replay-t_maze.png", "replay-metrics-t_maze.png", "pi-error-t_maze.png" })
            Assert.True(new FileInfo(Path.Combine(outDir, "minireplay", png)).Length > 1000, png);
        var summary = File.ReadAllText(Path.Combine(outDir, "minireplay", "summary.md"));
        Assert.Contains("| vanilla | 2 |", summary);
        Assert.Contains("sliced_w1", summary);
        Assert.Empty(new SuiteRunner().Run(suite, new RunSettings(outDir)));
        // The leaderboard keeps every metric as its own table and plots only the primary one.
        var board = Leaderboard.Build(stored);
        Assert.Equal(new[] { "position_error" }, board.Where(e => e.Primary).Select(e => e.Metric).Distinct());
        Assert.Equal(new[] { "leaky+momentum", "vanilla" }, board.Where(e => e.Primary).Select(e => e.Layer).Order());  // labelled variants: a line each
        Assert.Contains(board, e => e.Metric == "replay_sliced_w1" && !e.Primary);
        Assert.Contains("replay_reach_time", Leaderboard.Markdown(board));
        // The merge keeps one row per (run, metric).
        var merged = Path.Combine(_dir, "merged.csv");
        Assert.Equal(4 * 18, ShardMerger.Merge(new[] { Path.Combine(outDir, "minireplay.csv") }, merged).RowsWritten);
    }

    [Theory]
    [InlineData("\"kind\": \"backbone\"", "leaky-rnn", "model.kind")]
    [InlineData("\"kind\": \"bare\"", "gru", "layers")]
    public void Suites_that_cannot_start_from_an_encoded_state_are_refused_before_training(string model, string layer, string field)
    {
        var suite = Path.Combine(_dir, "bad.json");
        File.WriteAllText(suite, $$"""
            { "name": "bad", "defaults": { "model": { {{model}}, "d_model": 8 } }, "layers": [ "{{layer}}" ],
              "tasks": [ { "name": "path-integration", "options": { "place_cells": 16 } } ] }
            """);
        var e = Assert.Throws<ZooConfigException>(() => SuiteRunner.Plan(suite, new RunSettings()));
        Assert.Contains(field, e.Message);
        Assert.Contains("allowed", e.Message);
    }
}
