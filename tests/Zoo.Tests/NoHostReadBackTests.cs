namespace Zoo.Tests;

/// <summary>
/// No layer reads tensor values back to the host: on a GPU each read-back is a device → host sync per call, which
/// stalls Step-by-step decoding and every segment of a chunked forward. Host-side facts (positions, counts) live in
/// <see cref="Zoo.Core.Layers.LayerState"/> counters instead.
/// </summary>
public sealed class NoHostReadBackTests
{
    /// <summary>
    /// Read-backs that are allowed, by file (relative to the repository root) and code as written, each with its reason.
    /// An entry whose read-back is gone fails the test, so the list stays short.
    /// </summary>
    private static readonly (string File, string Code, string Why)[] Allowed = Array.Empty<(string, string, string)>();

    // Layer source: Zoo's layers and the example plugin (what plugin authors copy).
    private static readonly string[] LayerFolders = { "src/Zoo.Layers", "examples/Zoo.Example.Plugin" };

    [Fact]
    public void No_layer_reads_tensor_values_back_to_the_host()
    {
        var sources = LayerFolders.SelectMany(folder =>
                Directory.EnumerateFiles(Path.Combine(TestSupport.RepoRoot, folder), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}Tests{Path.DirectorySeparatorChar}"))  // the example's own test project is not layer code
            .Select(f => (Path.GetRelativePath(TestSupport.RepoRoot, f), File.ReadAllText(f)))
            .ToList();
        Assert.True(sources.Count > 20, $"found only {sources.Count} layer source files under {string.Join(", ", LayerFolders)}");
        var (findings, errors) = HostReadBackScanner.Scan(sources, "Zoo.Layers", "Zoo.Example.Plugin");
        Assert.True(errors.Count == 0, "the layer source did not compile for the scan:\n" + string.Join("\n", errors.Take(5)));
        var unexpected = findings.Where(f => !Allowed.Any(a => a.File == f.File && a.Code == f.Code)).ToList();
        Assert.True(unexpected.Count == 0, "host read-backs in layer code (keep host-side facts as LayerState counters):\n"
            + string.Join("\n", unexpected.Select(f => $"{f.File}:{f.Line}: {f.Code}")));
        var stale = Allowed.Where(a => !findings.Any(f => f.File == a.File && f.Code == a.Code)).ToList();
        Assert.True(stale.Count == 0, "allow-list entries with no read-back left: " + string.Join(", ", stale.Select(a => $"{a.File}: {a.Code}")));
    }

    /// <summary>
    /// The trainer's read-backs, each with its reason: the one per logging interval and the evaluation's. An entry whose
    /// read-back is gone fails the test.
    /// </summary>
    private static readonly (string File, string Code, string Why)[] TrainerAllowed =
    {
        ("src/Zoo.Runner/Training/Trainer.cs", "all.to(ScalarType.Float32).data<float>()", "the losses and gradient norms of one logging interval, in one transfer"),
        ("src/Zoo.Runner/Training/Trainer.cs", "all.to(ScalarType.Float32).data<float>().ToArray()", "the same transfer, copied out of the accessor"),
        ("src/Zoo.Runner/Training/Trainer.cs", "task.Loss(output, batch).item<float>()", "evaluation on the test split, after the interval's steps, not in a training step"),
    };

    // The training step's code: the trainer, its clipping and batch prefetching, and the models it trains.
    private static readonly string[] TrainerFolders = { "src/Zoo.Runner/Training", "src/Zoo.Runner/Models" };

    [Fact]
    public void The_trainers_step_reads_back_only_once_per_logging_interval()
    {
        var sources = TrainerFolders.SelectMany(folder =>
                Directory.EnumerateFiles(Path.Combine(TestSupport.RepoRoot, folder), "*.cs", SearchOption.AllDirectories))
            .Select(f => (Path.GetRelativePath(TestSupport.RepoRoot, f).Replace(Path.DirectorySeparatorChar, '/'), File.ReadAllText(f)))
            .ToList();
        Assert.Contains(sources, s => s.Item1.EndsWith("Training/Trainer.cs"));
        // Compiled against Zoo.Runner itself (the scanned types shadow their compiled twins), so the rest of the runner resolves.
        var (findings, errors) = HostReadBackScanner.Scan(sources);
        Assert.True(errors.Count == 0, "the trainer source did not compile for the scan:\n" + string.Join("\n", errors.Take(5)));
        var unexpected = findings.Where(f => !TrainerAllowed.Any(a => a.File == f.File && a.Code == f.Code)).ToList();
        Assert.True(unexpected.Count == 0, "host read-backs in the training step (keep per-step numbers on the device until the interval ends):\n"
            + string.Join("\n", unexpected.Select(f => $"{f.File}:{f.Line}: {f.Code}")));
        var stale = TrainerAllowed.Where(a => !findings.Any(f => f.File == a.File && f.Code == a.Code)).ToList();
        Assert.True(stale.Count == 0, "allow-list entries with no read-back left: " + string.Join(", ", stale.Select(a => $"{a.File}: {a.Code}")));
    }

    [Fact]
    public void The_scanner_finds_read_backs_and_only_those()
    {
        const string source = """
            using TorchSharp;
            using static TorchSharp.torch;
            static class Sample
            {
                static void Run(Tensor x, Tensor[] xs)
                {
                    long a = x.item<long>();                  // read-back
                    float[] b = x.data<float>().ToArray();     // read-back (twice: data, then the accessor's ToArray)
                    bool c = x.allclose(x);                    // read-back
                    double d = (double)x.sum().ToDouble();     // read-back
                    Tensor[] e = xs.ToArray();                 // LINQ on an array: fine
                    long f = x.shape[0] + x.dim();             // metadata: fine
                }
            }
            """;
        var (findings, errors) = HostReadBackScanner.Scan(new[] { ("Sample.cs", source) });
        Assert.Empty(errors);
        Assert.Equal(new[] { 7, 8, 8, 9, 10 }, findings.Select(f => f.Line).Order());
    }
}
