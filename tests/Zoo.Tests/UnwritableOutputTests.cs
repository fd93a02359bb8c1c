using Zoo.Runner.Results;

namespace Zoo.Tests;

/// <summary>
/// Issue 15, cases 1-3 and 10: an output that cannot be written is found before anything trains (one line, exit 2,
/// nothing trained, no temporary file left); errors from the file system reach the user as one line with an exit code.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class UnwritableOutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-unwritable-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Out => Path.Combine(_dir, "out");

    private string SuiteFile()
    {
        var path = Path.Combine(_dir, "suite.json");
        File.WriteAllText(path, BadInputTests.Suite());
        return path;
    }

    private IEnumerable<string> Temporaries() => Directory.EnumerateFiles(_dir, "*tmp*", SearchOption.AllDirectories);

    [Fact]
    public void Results_path_that_is_a_folder_is_refused_before_training()
    {
        Directory.CreateDirectory(Path.Combine(Out, "s.csv"));
        var (code, output, err) = BadInputTests.Zoo("run", SuiteFile(), "--out", Out);
        Assert.True(code == 2, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains(Path.Combine(Out, "s.csv") + ": --out: is a folder", err);
        Assert.DoesNotContain("[1/", output); // nothing trained
        Assert.DoesNotContain(Directory.EnumerateFiles(_dir, "*", SearchOption.AllDirectories), f => !f.EndsWith("suite.json"));
    }

    [Fact]
    public void Read_only_results_file_is_refused_before_training_and_left_as_it_was()
    {
        Directory.CreateDirectory(Out);
        var csv = Path.Combine(Out, "s.csv");
        new CsvTable<ResultRow>(csv).Write(new[] { new ResultRow { ConfigHash = "h", Status = "error" } });
        var before = File.ReadAllText(csv);
        File.SetUnixFileMode(csv, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var (code, output, err) = BadInputTests.Zoo("run", SuiteFile(), "--out", Out, "--force");
        Assert.True(code == 2, err);
        Assert.Contains($"{csv}: --out: cannot be written: the file is read-only", err);
        Assert.DoesNotContain("[1/", output);
        Assert.Equal(before, File.ReadAllText(csv));
        Assert.Empty(Temporaries());
    }

    [Fact]
    public void Plot_path_that_is_a_folder_is_refused_before_training()
    {
        Directory.CreateDirectory(Path.Combine(Out, "s", "curves-mqar.png"));
        var (code, output, err) = BadInputTests.Zoo("run", SuiteFile(), "--out", Out);
        Assert.True(code == 2, err);
        Assert.Contains("curves-mqar.png: --out: is a folder", err);
        Assert.DoesNotContain("[1/", output);
        Assert.False(File.Exists(Path.Combine(Out, "s.csv")));
    }

    [Fact]
    public void Checkpoint_folder_that_is_a_file_is_refused_before_training()
    {
        var blocker = Path.Combine(_dir, "ckpt");
        File.WriteAllText(blocker, "");
        var (code, output, err) = BadInputTests.Zoo("run", SuiteFile(), "--out", Out, "--checkpoints", blocker);
        Assert.True(code == 2, err);
        Assert.Contains("--checkpoints: cannot write to " + blocker, err);
        Assert.DoesNotContain("[1/", output);
    }

    [Fact]
    public void A_failed_write_leaves_no_temporary_file()
    {
        var folder = Path.Combine(_dir, "a.csv");
        Directory.CreateDirectory(folder);
        Assert.ThrowsAny<IOException>(() => new CsvTable<ResultRow>(folder).Append(new[] { new ResultRow { ConfigHash = "h" } }));
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(Path.Combine(_dir, "b.png"), tmp =>
        {
            File.WriteAllText(tmp, "half");
            throw new InvalidOperationException("writer failed");
        }));
        Assert.Empty(Temporaries());
    }

    [Fact]
    public void File_system_errors_are_one_line_with_exit_4_and_the_trace_behind_verbose()
    {
        var csv = Path.Combine(_dir, "a.csv");
        new CsvTable<ResultRow>(csv).Write(new[] { new ResultRow { ConfigHash = "h", Status = "ok" } });
        var blocker = Path.Combine(_dir, "a-file");
        File.WriteAllText(blocker, "");
        var merged = Path.Combine(blocker, "merged.csv");   // its folder is a file
        var (code, _, err) = BadInputTests.Zoo("merge", csv, "--out", merged);
        Assert.True(code == 4, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.StartsWith("zoo: file error: ", err);
        Assert.Contains("--verbose", err);
        var (verboseCode, _, trace) = BadInputTests.Zoo("merge", csv, "--out", merged, "--verbose");
        Assert.Equal(4, verboseCode);
        Assert.Contains("   at ", trace);
    }
}
