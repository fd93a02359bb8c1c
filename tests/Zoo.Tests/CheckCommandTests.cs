namespace Zoo.Tests;

/// <summary><c>zoo check</c>: one line per check, exit code 1 on any failure, 2 on a bad argument.</summary>
public sealed class CheckCommandTests
{
    [Fact]
    public void Check_fails_a_plugin_layer_whose_step_ignores_its_state()
    {
        var (code, stdout, _) = BadInputTests.Zoo("check", TestSupport.BadPluginPath, "--layer", "step-ignores-state");
        Assert.Equal(1, code);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("FAIL  step-ignores-state  step == parallel: "));
        Assert.Equal(6, lines.Count(l => l.StartsWith("pass  step-ignores-state  ")));
        Assert.Equal("7 checks, 1 failed", lines[^1].Trim());
    }

    [Fact]
    public void Check_passes_the_example_plugin_with_one_line_per_check()
    {
        var (code, stdout, _) = BadInputTests.Zoo("check", TestSupport.ExamplePluginPath);
        Assert.Equal(0, code);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(7, lines.Count(l => l.StartsWith("pass  example-ema  ")));
        Assert.Equal("7 checks, 0 failed", lines[^1].Trim());
    }

    [Fact]
    public void Check_of_a_layer_the_plugin_does_not_have_names_where_it_comes_from()
    {
        var (code, _, stderr) = BadInputTests.Zoo("check", TestSupport.ExamplePluginPath, "--layer", "lstm");
        Assert.Equal(2, code);
        Assert.Contains("layer 'lstm' comes from", stderr);
        Assert.Contains(TestSupport.ExamplePluginPath, stderr);
    }
}
