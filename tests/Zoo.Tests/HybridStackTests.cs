using Zoo.Core.Options;
using Zoo.Layers.Attention;
using Zoo.Layers.LinearMemory;
using Zoo.Runner;
using Zoo.Runner.Models;
using Zoo.Runner.Results;
using Zoo.Runner.Suites;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// Hybrid stacks (README "Hybrid stacks"): a layer entry's <c>stack</c> expands to one backbone per pattern, named and
/// hashed by its canonical period; bad stacks are config errors naming the field; a hybrid builds, trains and reloads.
/// </summary>
public sealed class HybridStackTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-hybrid-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Gdn = "gated-deltanet";

    private string Suite(string layers, int nLayers = 4, string kind = "backbone")
    {
        var path = Path.Combine(_dir, $"s{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""
            { "name": "hyb", "defaults": { "model": { "kind": "{{kind}}", "d_model": 8, "n_layers": {{nLayers}}, "mlp_ratio": 1 },
                "train": { "steps": 3, "batch": 2, "warmup": 1, "eval_every": 3, "eval_examples": 4 } },
              "layers": {{layers}},
              "tasks": [ { "name": "mqar", "options": { "vocab": 16, "length": 8, "pairs": 2, "test_examples": 4 } } ] }
            """);
        return path;
    }

    private static IReadOnlyList<RunSpec> Plan(string path) => SuiteRunner.Plan(path, new RunSettings()).Runs;

    private ZooConfigException Refused(string layers, int nLayers = 4, string kind = "backbone") =>
        Assert.Throws<ZooConfigException>(() => Plan(Suite(layers, nLayers, kind)));

    [Fact]
    public void A_list_of_patterns_is_one_run_per_pattern_named_by_its_period()
    {
        var runs = Plan(Suite($$"""
            [ { "stack": [ ["{{Gdn}}", "{{Gdn}}", "{{Gdn}}", "attention"], ["{{Gdn}}", "attention"], ["attention", "{{Gdn}}", "{{Gdn}}", "{{Gdn}}"] ] } ]
            """));
        Assert.Equal(new[] { "gated-deltanet×3+attention", "gated-deltanet+attention", "attention+gated-deltanet×3" }, runs.Select(r => r.Layer));
        Assert.Equal(3, runs.Select(r => r.ConfigHash).Distinct().Count());  // the order of the blocks is part of the configuration
        var stack = Assert.IsType<HybridStack>(runs[0].LayerOptions);
        Assert.Equal(new[] { Gdn, Gdn, Gdn, "attention" }, stack.Period.Select(b => b.Layer));
        var json = runs[0].ToJson();
        Assert.Equal("gated-deltanet×3+attention", json["layer"]!.GetValue<string>());
        Assert.Equal(4, json["layer_options"]!["stack"]!.AsArray().Count);
        Assert.Equal(2, json["layer_options"]!["stack"]![0]!["options"]!["heads"]!.GetValue<int>()); // every field, defaults filled in
    }

    [Fact]
    public void A_pattern_and_its_per_block_spelling_are_one_configuration_and_a_one_layer_stack_is_the_layer()
    {
        var pattern = Plan(Suite($$"""[ { "stack": ["{{Gdn}}", "attention"] } ]""")).Single();
        var perBlock = Plan(Suite($$"""[ { "stack": ["{{Gdn}}", "attention", "{{Gdn}}", "attention"] } ]""")).Single();
        Assert.Equal((pattern.Layer, pattern.ConfigHash), (perBlock.Layer, perBlock.ConfigHash));
        // A different depth is a different model with the same name.
        var deeper = Plan(Suite($$"""[ { "stack": ["{{Gdn}}", "attention"] } ]""", nLayers: 6)).Single();
        Assert.Equal(pattern.Layer, deeper.Layer);
        Assert.NotEqual(pattern.ConfigHash, deeper.ConfigHash);

        // Every block the same: the plain layer's run, hash included, so existing suites and stacks agree.
        var plain = Plan(Suite($$"""[ { "name": "{{Gdn}}", "options": { "heads": 4 } } ]""")).Single();
        var oneLayer = Plan(Suite($$"""[ { "stack": ["{{Gdn}}"], "options": { "{{Gdn}}": { "heads": 4 } } } ]""")).Single();
        var explicitBlocks = Plan(Suite($$"""[ { "stack": [ { "layer": "{{Gdn}}", "options": { "heads": 4 } }, { "layer": "{{Gdn}}", "options": { "heads": 4, "chunk_size": 64 } } ] } ]""")).Single();
        Assert.Equal(plain.ConfigHash, oneLayer.ConfigHash);
        Assert.Equal(plain.ConfigHash, explicitBlocks.ConfigHash);
        Assert.IsType<LinearMemoryOptions>(oneLayer.LayerOptions);
        Assert.Equal(Gdn, oneLayer.Layer);
        Assert.ThrowsAny<ZooConfigException>(() => Plan(Suite($$"""[ { "name": "{{Gdn}}", "options": { "heads": 4 } }, { "stack": ["{{Gdn}}"], "options": { "{{Gdn}}": { "heads": 4 } } } ]""")));
    }

    [Fact]
    public void Block_options_name_the_block_and_sweep_per_block_while_entry_options_are_shared_by_the_layers_blocks()
    {
        var swa = Plan(Suite($$"""
            [ { "stack": ["{{Gdn}}", "{{Gdn}}", "{{Gdn}}", { "layer": "attention", "options": { "window": [0, 4] } }] } ]
            """));
        Assert.Equal(new[] { "gated-deltanet×3+attention", "gated-deltanet×3+attention(window=4)" }, swa.Select(r => r.Layer));
        var window = ((AttentionOptions)((HybridStack)swa[1].LayerOptions).Period[3].Options).Window;
        Assert.Equal(4, window);

        // A list in the entry's options sweeps once for every block of that layer (2 runs, not 2 × 2).
        var shared = Plan(Suite($$"""[ { "stack": ["attention", "attention", "{{Gdn}}"], "options": { "attention": { "heads": [1, 2] } } } ]""", nLayers: 3));
        Assert.Equal(new[] { "attention×2+gated-deltanet", "attention(heads=2)×2+gated-deltanet" }, shared.Select(r => r.Layer));
        // Two blocks' own lists sweep independently (2 × 2), and a block's own options override the entry's.
        var independent = Plan(Suite($$"""
            [ { "stack": [ { "layer": "attention", "options": { "window": [0, 2] } }, { "layer": "attention", "options": { "window": [0, 3], "heads": 1 } }, "{{Gdn}}" ],
                "options": { "attention": { "heads": 2 } } } ]
            """, nLayers: 3));
        Assert.Equal(4, independent.Count);
        Assert.Equal("attention(heads=2)+attention(window=3)+gated-deltanet", independent[1].Layer);
    }

    [Fact]
    public void A_hybrid_backbone_has_the_patterns_blocks_in_order_and_the_sum_of_their_state()
    {
        var registry = TestSupport.Registry();
        var run = Plan(Suite($$"""[ { "stack": ["{{Gdn}}", { "layer": "attention", "options": { "window": 3 } }] } ]""")).Single();
        var task = registry.CreateTask(run.Task, run.TaskOptions);
        using var model = ModelFactory.Build(registry, run.Layer, run.LayerOptions, task.Signature, run.Model);
        Assert.Equal(new[] { typeof(GatedDeltaNet), typeof(CausalAttention), typeof(GatedDeltaNet), typeof(CausalAttention) },
            model.SequenceLayers.Select(l => l.GetType()));
        using var gdn = registry.CreateLayer(Gdn, 8, registry.BindLayerOptions(Gdn, null, 8));
        using var swa = registry.CreateLayer("attention", 8, registry.BindLayerOptions("attention", System.Text.Json.JsonDocument.Parse("""{"window": 3}""").RootElement, 8));
        Assert.Equal(2 * (gdn.StateSize(8) + swa.StateSize(8)), model.StateSize(8));
        Assert.Equal(2 * 2 * 8, swa.StateSize(8));                                // the window's last 2 tokens, keys and values
        Assert.Throws<ArgumentException>(() => ModelFactory.Build(registry, run.Layer, run.LayerOptions, task.Signature, run.Model with { NLayers = 3 }));
    }

    [Fact]
    public void A_tiny_hybrid_trains_writes_its_row_and_reloads_from_its_checkpoint()
    {
        var suite = Suite($$"""[ { "stack": ["{{Gdn}}", "attention"], "options": { "{{Gdn}}": { "chunk_size": 4 } } } ]""", nLayers: 2);
        var outDir = Path.Combine(_dir, "out");
        var ckpt = Path.Combine(_dir, "ckpt");
        var row = new SuiteRunner().Run(suite, new RunSettings(outDir, CheckpointDir: ckpt)).Single();
        Assert.Equal(("ok", "gated-deltanet(chunk_size=4)+attention", 2), (row.Status, row.Layer, row.NLayers));
        Assert.Contains("\"stack\":[{\"layer\":\"gated-deltanet\"", row.LayerOptions);
        var stored = new CsvTable<ResultRow>(Path.Combine(outDir, "hyb.csv")).Read().Single();
        Assert.Equal((row.ConfigHash, row.Layer, row.StateSize), (stored.ConfigHash, stored.Layer, stored.StateSize));
        Assert.True(row.StateSize > 0 && row.Params > 0);

        var registry = TestSupport.Registry();
        var (spec, model, task) = Checkpoint.Load(registry, Path.Combine(ckpt, $"hyb-{row.ConfigHash}.json"));
        using (model)
        {
            Assert.Equal((row.ConfigHash, row.Layer), (spec.ConfigHash, spec.Layer));
            Assert.Equal(row.StateSize, model.StateSize(task.Signature.Length));
            var (metric, _) = new Zoo.Runner.Training.Trainer(CPU).Evaluate(model, task, spec.Train, spec.Seed);
            Assert.Equal(row.FinalValue, Math.Round(metric, 6));                  // the reloaded model scores what the trained one did
        }
    }

    [Fact]
    public void A_checkpoint_edited_to_a_depth_its_stack_does_not_divide_is_a_config_error_naming_the_field()
    {
        var suite = Suite("""[ { "stack": ["lstm", "attention"] } ]""", nLayers: 2);
        var ckpt = Path.Combine(_dir, "ckpt");
        var row = new SuiteRunner().Run(suite, new RunSettings(Path.Combine(_dir, "out"), CheckpointDir: ckpt)).Single();
        var json = Path.Combine(ckpt, $"hyb-{row.ConfigHash}.json");
        var text = File.ReadAllText(json);
        Assert.Contains("\"n_layers\": 2", text);
        File.WriteAllText(json, text.Replace("\"n_layers\": 2", "\"n_layers\": 3"));
        var e = Assert.Throws<ZooConfigException>(() => Checkpoint.Load(TestSupport.Registry(), json));
        Assert.Contains($"{json}: run.model.n_layers: 3 is not a multiple of the 2 blocks", e.Message);
    }

    [Fact]
    public void Bad_stacks_are_config_errors_naming_the_field_and_what_is_allowed()
    {
        var unknown = Refused("""[ { "stack": [ ["gated-deltanet", "atention"] ] } ]""");
        Assert.Equal("layers[0].stack[0][1]", unknown.Field);
        Assert.Contains("did you mean 'attention'", unknown.Message);
        Assert.Contains("known layers: ", unknown.Message);

        var length = Refused("""[ { "stack": ["gated-deltanet", "gated-deltanet", "gated-deltanet", "attention"] } ]""", nLayers: 6);
        Assert.Contains("model.n_layers", length.Message);
        Assert.Contains("6 is not a multiple of the length 4", length.Message);
        Assert.Contains("allowed: 4, 8, 12", length.Message);

        Assert.Contains("allowed: backbone", Refused("""[ { "stack": ["gru", "lstm"] } ]""", nLayers: 1, kind: "bare").Message);
        var key = Refused("""[ { "stack": ["gated-deltanet", "attention"], "options": { "attenton": { "heads": 2 } } } ]""");
        Assert.Contains("layers[0].options.attenton", key.Message);
        Assert.Contains("did you mean 'attention'", key.Message);
        Assert.Contains("allowed: gated-deltanet, attention", key.Message);
        Assert.Contains("layers[0].options.attention.window", Refused("""[ { "stack": ["gated-deltanet", "attention"], "options": { "attention": { "window": -1 } } } ]""").Message);
        Assert.Equal("layers[0].stack[1].layer", Refused("""[ { "stack": ["gated-deltanet", { "layer": "atention" }] } ]""").Field);
        Assert.Contains("layers[0].stack[1].options.windw", Refused("""[ { "stack": ["gated-deltanet", { "layer": "attention", "options": { "windw": 4 } }] } ]""").Message);
        Assert.Contains("layers[0].stack[1].optons", Refused("""[ { "stack": ["gated-deltanet", { "layer": "attention", "optons": {} }] } ]""").Message);
        Assert.Contains("not both", Refused("""[ { "name": "lstm", "stack": ["gated-deltanet", "attention"] } ]""").Message);
        Assert.Contains("mixes blocks and lists of blocks", Refused("""[ { "stack": ["gated-deltanet", ["attention"]] } ]""").Message);
        Assert.Contains("empty list", Refused("""[ { "stack": [] } ]""").Message);
        Assert.Contains("layers[0].stack[1]", Refused("""[ { "stack": [["attention"], []] } ]""").Message);
        Assert.Contains("empty list", Refused("""[ { "stack": ["gated-deltanet", { "layer": "attention", "options": { "window": [] } }] } ]""").Message);
    }
}
