using System.Diagnostics;
using Zoo.Runner;
using Zoo.Runner.Results;

namespace Zoo.Tests;

/// <summary>
/// Issue 15, case 5: several <c>zoo run</c> processes on one suite and one CSV split its runs (each config hash trained
/// once), and a run whose process was killed while holding its claim is trained by the next process.
/// </summary>
public sealed class RunClaimTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-claim-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Out => Path.Combine(_dir, "out");

    private string Csv => Path.Combine(Out, "shared.csv");

    private string Suite(int seeds, int steps)
    {
        var path = Path.Combine(_dir, "shared.json");
        File.WriteAllText(path, $$"""
            { "name": "shared", "defaults": { "model": { "d_model": 8, "n_layers": 1, "mlp_ratio": 0 },
                                              "train": { "steps": {{steps}}, "batch": 4, "warmup": 1, "eval_every": {{steps}} },
                                              "seeds": [{{string.Join(", ", Enumerable.Range(0, seeds))}}] },
              "layers": [ "lstm", "gru" ],
              "tasks": [ { "name": "mqar", "options": { "vocab": 16, "length": 8, "pairs": 2, "test_examples": 8 } } ] }
            """);
        return path;
    }

    private Process StartZoo(string suite)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { TestSupport.ZooDll, "run", suite, "--out", Out }) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        var child = Process.Start(psi)!;
        child.OutputDataReceived += (_, _) => { };
        child.ErrorDataReceived += (_, _) => { };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        return child;
    }

    [Fact]
    public void A_claim_is_exclusive_until_released()
    {
        Directory.CreateDirectory(Out);
        using (var claim = RunClaim.TryTake(Csv, "h1"))
        {
            Assert.NotNull(claim);
            Assert.Null(RunClaim.TryTake(Csv, "h1"));
            using var other = RunClaim.TryTake(Csv, "h2");
            Assert.NotNull(other);
        }
        Assert.False(File.Exists(RunClaim.PathFor(Csv, "h1")));
        using var again = RunClaim.TryTake(Csv, "h1");
        Assert.NotNull(again);
    }

    [Fact]
    public void Processes_started_together_train_each_run_once()
    {
        var suite = Suite(seeds: 3, steps: 20);   // 6 runs
        var children = Enumerable.Range(0, 3).Select(_ => StartZoo(suite)).ToList();
        foreach (var c in children)
        {
            Assert.True(c.WaitForExit(TimeSpan.FromMinutes(4)), "a zoo process did not finish");
            Assert.Equal(0, c.ExitCode);
            c.Dispose();
        }
        var rows = new CsvTable<ResultRow>(Csv).Read();
        Assert.Equal(6, rows.Count);
        Assert.Equal(6, rows.Select(r => r.ConfigHash).Distinct().Count());
        Assert.Empty(Directory.EnumerateFiles(Out, "*.claim"));
    }

    [Fact]
    public void A_run_claimed_by_a_killed_process_is_trained_by_the_next()
    {
        var suite = Suite(seeds: 1, steps: 150);   // 2 runs, each long enough to be caught holding its claim
        int pid;
        using (var child = StartZoo(suite))
        {
            pid = child.Id;
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (DateTime.UtcNow < deadline && !child.HasExited && !(Directory.Exists(Out) && Directory.EnumerateFiles(Out, "*.claim").Any()))
                Thread.Sleep(20);
            Assert.False(child.HasExited, "the child ended before it claimed a run");
            child.Kill(entireProcessTree: true);   // SIGKILL while it holds the claim
            child.WaitForExit();
        }
        var stale = Assert.Single(Directory.EnumerateFiles(Out, "*.claim"));   // the file outlives the process; its lock does not
        Assert.StartsWith($"pid {pid} started ", File.ReadAllText(stale));
        var before = new CsvTable<ResultRow>(Csv).Read();

        var rows = new SuiteRunner().Run(suite, new RunSettings(Out));
        var after = new CsvTable<ResultRow>(Csv).Read();
        Assert.Equal(2, after.Count);
        Assert.Equal(2, after.Select(r => r.ConfigHash).Distinct().Count());
        Assert.Equal(2 - before.Count, rows.Count);
        Assert.Contains(rows, r => stale.EndsWith($".{r.ConfigHash}.claim"));   // the killed process's run was taken over
        Assert.Empty(Directory.EnumerateFiles(Out, "*.claim"));
    }
}
