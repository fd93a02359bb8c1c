using System.Diagnostics;
using System.Text.Json;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Tests;

public sealed class RegistryAndPluginTests
{
    // Layers: every concrete layer class is registered (LayerContractTests), so no list of their names is kept here.
    [Fact]
    public void Built_in_tasks_are_registered()
    {
        var r = TestSupport.Registry();
        Assert.Equal(new[] { "binary-timescales", "compression", "delayed-cue", "file", "fuzzy-in-context-recall", "in-context-recall", "induction-heads", "memorization", "mqar", "path-integration", "selectivbench", "selective-copying", "timescale-curriculum" }, r.Tasks.Select(e => e.Name));
    }

    [Fact]
    public void Unknown_layer_suggests_the_nearest_name()
    {
        var e = Assert.Throws<ZooConfigException>(() => TestSupport.Registry().Layer("lstn", "s.json", "layers[0].name"));
        Assert.Contains("did you mean 'lstm'", e.Message);
        Assert.Equal("layers[0].name", e.Field);
    }

    [Fact]
    public void Example_plugin_loads_by_path_and_its_layer_trains()
    {
        var r = TestSupport.Registry(withPlugin: true);
        var entry = r.Layer("example-ema");
        Assert.Equal(TestSupport.ExamplePluginPath, entry.Source);
        var options = r.BindLayerOptions("example-ema", JsonDocument.Parse("{\"initial_decay\": 0.5}").RootElement, 8);
        using var layer = r.CreateLayer("example-ema", 8, options);
        using var scope = NewDisposeScope();
        var y = layer.forward(randn(2, 5, 8));
        Assert.Equal(new long[] { 2, 5, 8 }, y.shape);
    }

    [Fact]
    public void Missing_plugin_file_is_reported_with_its_path()
    {
        var e = Assert.Throws<ZooConfigException>(() => PluginLoader.Load(new ComponentRegistry(), "/nowhere/My.Plugin.dll", "suite.json"));
        Assert.Contains("/nowhere/My.Plugin.dll", e.Message);
        Assert.StartsWith("suite.json", e.Message);
    }

    [Fact]
    public void Plugin_without_layers_is_reported_with_its_path()
    {
        var path = typeof(Xunit.FactAttribute).Assembly.Location; // a real assembly with no Zoo components
        var e = Assert.Throws<ZooConfigException>(() => PluginLoader.Load(new ComponentRegistry(), path));
        Assert.Contains(path, e.Message);
        Assert.Contains("no class marked", e.Message);
    }

    [Fact]
    public void A_file_that_is_not_an_assembly_is_reported_with_its_path()
    {
        var path = Path.Combine(Path.GetTempPath(), $"zoo-not-a-dll-{Guid.NewGuid():N}.dll");
        File.WriteAllText(path, "not an assembly");
        try
        {
            var e = Assert.Throws<ZooConfigException>(() => PluginLoader.Load(new ComponentRegistry(), path));
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Duplicate_names_from_two_sources_are_an_error()
    {
        var r = TestSupport.Registry();
        var e = Assert.Throws<ZooConfigException>(() => r.Scan(typeof(DuplicateLstm).Assembly));
        Assert.Contains("already registered", e.Message);
    }

    [Fact]
    public void Cli_list_layers_shows_the_plugin_layer_with_its_options()
    {
        var (code, stdout, _) = RunZoo("list", "layers", "--plugin", TestSupport.ExamplePluginPath);
        Assert.Equal(0, code);
        Assert.Contains("example-ema", stdout);
        Assert.Contains("initial_decay", stdout);
        Assert.Contains("lstm", stdout);
    }

    [Fact]
    public void Cli_reports_a_bad_suite_in_one_line_with_exit_code_2()
    {
        var suite = Path.Combine(Path.GetTempPath(), $"zoo-bad-{Guid.NewGuid():N}.json");
        File.WriteAllText(suite, "{\"name\": \"bad\", \"layers\": [{\"name\": \"lstm\", \"options\": {\"bais\": true}}], \"tasks\": [\"mqar\"]}");
        try
        {
            var (code, stdout, stderr) = RunZoo("run", suite, "--dry-run");
            Assert.Equal(2, code);
            Assert.Contains("layers[0].options.bais", stderr);
            Assert.Contains("did you mean 'bias'", stderr);
            Assert.Single(stderr.Trim().Split('\n'));
        }
        finally
        {
            File.Delete(suite);
        }
    }

    internal static (int Code, string Stdout, string Stderr) RunZoo(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(TestSupport.ZooDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>Registered under a name Zoo already uses, to test the duplicate check. Only scanned on purpose.</summary>
[ZooLayer("lstm", typeof(Zoo.Layers.Recurrent.GatedCellOptions))]
public sealed class DuplicateLstm : Zoo.Core.Layers.SequenceLayer
{
    public DuplicateLstm(int dModel, Zoo.Layers.Recurrent.GatedCellOptions options) : base("DuplicateLstm", dModel) { }
    public override Zoo.Core.Layers.LayerState InitialState(long batch, Device device, ScalarType dtype) => new();
    public override (Tensor Output, Zoo.Core.Layers.LayerState State) Forward(Tensor x, Zoo.Core.Layers.LayerState? state = null) => (x, new());
    public override (Tensor Output, Zoo.Core.Layers.LayerState State) Step(Tensor x, Zoo.Core.Layers.LayerState state) => (x, state);
    public override long StateSize(long sequenceLength) => 0;
}
