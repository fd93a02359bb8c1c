using Zoo.Runner;
using Zoo.Runner.Bench;
using Zoo.Runner.Results;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>Peak resident memory is process-wide, so these tests run alone: other tests' allocations would blur it.</summary>
[CollectionDefinition(nameof(PeakMemoryCollection), DisableParallelization = true)]
public sealed class PeakMemoryCollection;

/// <summary>
/// <see cref="PeakMemory"/>: the reset forgets an earlier peak, a large tensor raises the peak by about its size, and a
/// suite run stores a positive peak in its result row.
/// </summary>
[Collection(nameof(PeakMemoryCollection))]
public sealed class PeakMemoryTests : IDisposable
{
    private const long Mb = 1 << 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-peak-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // 200 MB of float32, written to so that every page is resident.
    private static Tensor TouchedTensor() => ones(50 * Mb);

    [Fact]
    public void A_large_tensor_raises_the_peak_by_most_of_its_size_and_a_reset_forgets_it()
    {
        var first = PeakMemory.Start(CPU);
        Assert.True(first.WasReset, "writing 5 to /proc/self/clear_refs was refused");
        long before = PeakMemory.ResidentBytes()!.Value;
        using (var big = TouchedTensor())
        {
            long raised = first.Bytes()!.Value - before;
            Assert.True(raised >= 160 * Mb, $"a 200 MB tensor raised the peak by only {raised / Mb} MB");
        }
        long oldPeak = first.Bytes()!.Value;
        var second = PeakMemory.Start(CPU); // the tensor is freed (munmap'd by libtorch): the new peak must not include it
        long dropped = oldPeak - second.Bytes()!.Value;
        Assert.True(dropped >= 160 * Mb, $"after the reset the peak fell by only {dropped / Mb} MB of the freed 200 MB");
    }

    [Fact]
    public void A_suite_run_stores_the_process_peak_in_its_result_row()
    {
        var suite = Path.Combine(_dir, "suite.json");
        File.WriteAllText(suite, """
            { "name": "peak", "defaults": { "model": { "d_model": 8, "n_layers": 1, "mlp_ratio": 0 }, "train": { "steps": 2, "batch": 2, "warmup": 1, "eval_every": 2 } },
              "layers": [ "lstm" ], "tasks": [ { "name": "mqar", "options": { "vocab": 16, "length": 8, "pairs": 1, "test_examples": 4 } } ] }
            """);
        var row = new SuiteRunner().Run(suite, new RunSettings(Path.Combine(_dir, "out"))).Single();
        Assert.True(row.PeakMemoryBytes > 0, $"peak_memory_bytes = {row.PeakMemoryBytes}");
        var stored = new CsvTable<ResultRow>(Path.Combine(_dir, "out", "peak.csv")).Read().Single();
        Assert.Equal(row.PeakMemoryBytes, stored.PeakMemoryBytes);
    }

    [Fact]
    public void On_cuda_the_peak_is_left_empty()
    {
        // TorchSharp 0.107 has no allocator statistics; a CUDA device object needs no GPU to exist.
        Assert.Null(PeakMemory.Start(new Device(TorchSharp.DeviceType.CUDA, 0)).Bytes());
    }
}
