using TorchSharp;

namespace Zoo.Tests;

/// <summary><c>zoo doctor</c>: the report, and <c>--device</c>'s first op, which the GPU run script relies on to decide whether to rebuild the shim.</summary>
public sealed class DoctorTests
{
    [Fact]
    public void Doctor_runs_a_first_op_on_the_cpu_and_lists_the_libtorch_it_loaded()
    {
        var (code, output, err) = BadInputTests.Zoo("doctor", "--device", "cpu");
        Assert.True(code == 0, err);
        Assert.Contains("cpu: first op ok", output);
        Assert.Contains("libtorch_cpu.so", output);
    }

    [Fact]
    public void Doctor_on_a_missing_cuda_device_reports_it_and_fails_with_exit_code_1()
    {
        if (torch.cuda.is_available()) return; // the failure path exists only where there is no GPU
        var (code, output, err) = BadInputTests.Zoo("doctor", "--device", "cuda");
        Assert.Equal(1, code);
        Assert.Contains("cuda: not available", output);
        Assert.Contains("first op failed", err);
    }

    [Fact]
    public void Doctor_rejects_a_device_that_is_not_one_in_one_line_with_exit_code_2()
    {
        var (code, _, err) = BadInputTests.Zoo("doctor", "--device", "gpu");
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("'gpu' is not a device; allowed: cpu, cuda, cuda:N", err);
    }
}
