using Zoo.Runner.Bench;
using Zoo.Runner.Results;

namespace Zoo.Tests;

/// <summary><c>zoo bench</c> at tiny sizes: rows, CSV and plots are produced; arguments are validated. No timing assertions.</summary>
public sealed class BenchCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-bench-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Csv => Path.Combine(_dir, "throughput.csv");

    [Fact]
    public void Bench_writes_one_row_per_layer_length_and_mode_and_the_scaling_plots()
    {
        var (code, output, err) = BadInputTests.Zoo("bench", "--layers", "lstm,torch-lstm,gated-deltanet:{\"chunk_size\":4,\"form\":\"reference\"}",
            "--lengths", "8,16", "--batch", "2", "--d-model", "8", "--warmup", "0", "--iterations", "2", "--out", Csv);
        Assert.True(code == 0, err);
        var rows = new CsvTable<ThroughputRow>(Csv).Read();
        // lstm and gated-deltanet: 3 modes × 2 lengths; the torch-lstm baseline has no step form: 2 modes × 2 lengths.
        Assert.Equal(6 + 4 + 6, rows.Count);
        Assert.All(rows, r => Assert.Equal("ok", r.Status));
        Assert.All(rows, r => Assert.True(r.PeakMemoryBytes > 0, $"{r.Layer} L {r.Length} {r.Mode}: peak_memory_bytes {r.PeakMemoryBytes}"));
        Assert.All(rows, r => Assert.True(r.TokensPerSecond > 0 && r.P20Ms <= r.MedianMs && r.MedianMs <= r.P80Ms && r.Iterations == 2));
        Assert.Contains(rows, r => r.Layer.StartsWith("gated-deltanet") && r.LayerOptions.Contains("\"form\":\"reference\""));
        Assert.Equal(rows.Where(r => r.Layer == "lstm").Select(r => r.Params).Distinct(), rows.Where(r => r.Layer == "torch-lstm").Select(r => r.Params).Distinct());
        foreach (var mode in new[] { "forward", "forward_backward", "step" })
            Assert.True(File.Exists(Path.Combine(_dir, "throughput", $"scaling-{mode}.png")), mode);
        Assert.Contains("appended 16 rows", output);
    }

    [Fact]
    public void A_call_over_the_time_limit_is_recorded_as_skipped_not_as_a_measurement()
    {
        var (code, _, err) = BadInputTests.Zoo("bench", "--layers", "lstm", "--lengths", "8,16", "--modes", "forward", "--d-model", "8",
            "--warmup", "1", "--iterations", "2", "--max-seconds", "0.0000001", "--out", Csv);
        Assert.True(code == 0, err);
        var rows = new CsvTable<ThroughputRow>(Csv).Read();
        Assert.Equal(new[] { "skipped", "skipped" }, rows.Select(r => r.Status));
        Assert.Contains("warm-up call", rows[0].Message);
        Assert.True(rows[0].MedianMs > 0 && double.IsNaN(rows[0].TokensPerSecond));
        Assert.Contains("shorter length", rows[1].Message);
    }

    [Theory]
    [InlineData("--layers", "lstn", "did you mean 'lstm'")]
    [InlineData("--lengths", "0,16", "--lengths")]
    [InlineData("--lengths", "8,x", "'x' is not an integer")]
    [InlineData("--modes", "forward,backward", "'backward' is not a mode")]
    [InlineData("--layers", "attention:{\"heads\":", "not valid JSON")]
    [InlineData("--layers", "attention:{\"heads\":3}", "not divisible by heads 3")]
    [InlineData("--layers", "torch-gru:{\"bias\":true}", "takes no options")]
    [InlineData("--batch", "0", "--batch")]
    [InlineData("--layers", "gated-delta-op:{\"heads\":3}", "not divisible by heads 3")]
    [InlineData("--layers", "gated-delta-op:{\"dtype\":\"half\"}", "dtype")]
    public void Bad_arguments_are_one_line_with_exit_code_2(string option, string value, string expected)
    {
        var args = new List<string> { "bench", "--lengths", "8", "--d-model", "8", "--iterations", "1", "--out", Csv };
        int at = args.IndexOf(option);
        if (at >= 0) args[at + 1] = value;
        else args.AddRange(new[] { option, value });
        var (code, _, err) = BadInputTests.Zoo(args.ToArray());
        Assert.Equal(2, code);
        Assert.Contains(expected, err);
        Assert.False(File.Exists(Csv));
    }

    [Fact]
    public void The_bare_gated_delta_op_is_timed_forward_and_backward_in_both_forms_and_in_bfloat16()
    {
        var (code, _, err) = BadInputTests.Zoo("bench", "--layers",
            "gated-delta-op:{\"heads\":2,\"chunk_size\":4},gated-delta-op:{\"heads\":2,\"form\":\"reference\"},gated-delta-op:{\"heads\":2,\"chunk_size\":4,\"dtype\":\"bfloat16\"}",
            "--lengths", "6,16", "--batch", "2", "--d-model", "8", "--warmup", "0", "--iterations", "1", "--out", Csv);
        Assert.True(code == 0, err);
        var rows = new CsvTable<ThroughputRow>(Csv).Read();
        // forward and forward_backward × 2 lengths per subject; the op has no step form.
        Assert.Equal(12, rows.Count);
        Assert.All(rows, r => Assert.True(r.Status == "ok" && r.Params == 0 && r.Mode != "step", $"{r.Layer} {r.Mode} {r.Status} {r.Message}"));
        Assert.Contains(rows, r => r.LayerOptions.Contains("\"form\":\"reference\"") && r.LayerOptions.Contains("\"dtype\":\"float32\""));
    }

    [Fact]
    public void The_op_subject_feeds_both_forms_the_same_inputs_and_keeps_them_between_calls()
    {
        var registry = Zoo.Runner.ZooComponents.Create(null);
        using var chunked = BenchSubject.Create(registry, "gated-delta-op:{\"heads\":2,\"chunk_size\":4}", 8);
        using var reference = BenchSubject.Create(registry, "gated-delta-op:{\"heads\":2,\"form\":\"reference\"}", 8);
        using var x = TorchSharp.torch.zeros(2, 10, 8);
        // Inputs are drawn from the same seed, so the forms (equal in exact arithmetic, GatedDeltaTests) agree here too.
        Assert.Equal(reference.Forward(x), chunked.Forward(x), 3);
        float first = chunked.ForwardBackward(x), second = chunked.ForwardBackward(x);
        Assert.True(first > 0 && first == second, $"{first} vs {second}: the same inputs must give the same loss on every call");
        Assert.Equal(1, ((GatedDeltaOpModule)chunked.Module).Draws);
    }

    [Fact]
    public void Scaling_slope_recovers_the_exponent()
    {
        var quadratic = new[] { 256.0, 1024, 4096 }.Select(l => (l, 3e-4 * l * l)).ToList();
        var linear = new[] { 256.0, 1024, 4096 }.Select(l => (l, 0.02 * l)).ToList();
        Assert.Equal(2.0, ScalingPlot.Slope(quadratic), 9);
        Assert.Equal(1.0, ScalingPlot.Slope(linear), 9);
        Assert.Equal(2.5, ThroughputBench.Percentile(new[] { 1.0, 2, 3, 4 }, 0.5), 12);
    }
}
