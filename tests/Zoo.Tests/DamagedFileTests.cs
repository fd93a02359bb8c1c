using Zoo.Runner;
using Zoo.Runner.Bench;
using Zoo.Runner.Results;

namespace Zoo.Tests;

/// <summary>
/// Issue 15, cases 7-9: results CSVs with CRLF endings, an incomplete last row, a garbage row or no bytes; damaged
/// checkpoints; a benchmark length that cannot fit in memory. Each is read, or refused in one line naming the file
/// and what is wrong; the user's file is never rewritten silently.
/// </summary>
public sealed class DamagedFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-damaged-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Csv => Path.Combine(_dir, "r.csv");

    private static ResultRow Row(string hash) => new() { Suite = "r", ConfigHash = hash, Status = "ok", Value = 0.5, Message = "", Utc = "2026-01-01T00:00:00Z" };

    private void WriteRows(params string[] hashes) => new CsvTable<ResultRow>(Csv).Write(hashes.Select(Row));

    [Fact]
    public void Crlf_file_is_read_and_appended_to_with_its_own_line_endings()
    {
        WriteRows("h1", "h2");
        File.WriteAllText(Csv, File.ReadAllText(Csv).Replace("\n", "\r\n"));
        var table = new CsvTable<ResultRow>(Csv);
        Assert.Equal(new[] { "h1", "h2" }, table.Read().Select(r => r.ConfigHash));
        Assert.Equal("2026-01-01T00:00:00Z", table.Read()[1].Utc);   // no stray '\r' in the last column
        table.Append(new[] { Row("h3") });
        var text = File.ReadAllText(Csv);
        Assert.Equal(4, text.Split("\r\n").Length - 1);
        Assert.DoesNotContain("\n", text.Replace("\r\n", ""));
        var (code, output, err) = BadInputTests.Zoo("merge", Csv, "--out", Path.Combine(_dir, "m.csv"));
        Assert.True(code == 0, err);
        Assert.Contains("read 3 rows", output);
    }

    [Fact]
    public void Incomplete_last_row_is_reported_and_skipped_and_kept_aside_on_append()
    {
        WriteRows("h1", "h2");
        var whole = File.ReadAllText(Csv);
        File.WriteAllText(Csv, whole[..^25]);   // a crash mid-row
        var notes = new List<string>();
        var table = new CsvTable<ResultRow>(Csv, notes.Add);
        Assert.Equal(new[] { "h1" }, table.Read().Select(r => r.ConfigHash));
        Assert.Contains("line 3 is an incomplete last row", Assert.Single(notes));
        Assert.Equal(whole[..^25], File.ReadAllText(Csv));   // reading changes nothing

        var (code, output, err) = BadInputTests.Zoo("merge", Csv, "--out", Path.Combine(_dir, "m.csv"));
        Assert.True(code == 0, err);
        Assert.Contains("read 1 rows", output);
        Assert.Contains("incomplete last row", err);

        table.Append(new[] { Row("h3") });
        Assert.Equal(new[] { "h1", "h3" }, new CsvTable<ResultRow>(Csv).Read().Select(r => r.ConfigHash));
        Assert.Contains("moved the incomplete last row", notes[^1]);
        Assert.StartsWith("r,h2,", File.ReadAllText(Csv + ".incomplete"));   // nothing of the user's is lost
    }

    [Fact]
    public void Garbage_row_stops_resume_and_merge_with_its_line_number()
    {
        WriteRows("h1", "h2");
        var lines = File.ReadAllLines(Csv).ToList();
        lines.Insert(2, "this,is,not,a,row");
        File.WriteAllLines(Csv, lines);
        var before = File.ReadAllText(Csv);
        var (code, _, err) = BadInputTests.Zoo("merge", Csv, "--out", Path.Combine(_dir, "m.csv"));
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        int columns = CsvTable<ResultRow>.Header().TrimEnd('\n').Split(',').Length;
        Assert.Contains($"{Csv}: line 3: unreadable row: it has 5 fields, the header {columns}", err);

        lines[2] = string.Join(',', Enumerable.Repeat("x", columns));   // the right width, but 'x' in a number column
        File.WriteAllLines(Csv, lines);
        var suite = Path.Combine(_dir, "r.json");
        File.WriteAllText(suite, BadInputTests.Suite().Replace("\"name\": \"s\"", "\"name\": \"r\""));
        (code, _, err) = BadInputTests.Zoo("run", suite, "--out", _dir);
        Assert.Equal(2, code);
        Assert.Contains("line 3: unreadable row: column 'd_model' holds 'x', not a int32", err);
        Assert.NotEqual(before, File.ReadAllText(Csv));   // (the second garbage version, untouched by the run)
        Assert.Equal(string.Join('\n', lines) + "\n", File.ReadAllText(Csv));
    }

    [Fact]
    public void Empty_results_file_is_a_file_with_no_rows()
    {
        File.WriteAllText(Csv, "");
        Assert.Empty(new CsvTable<ResultRow>(Csv).Read());
        var suite = Path.Combine(_dir, "r.json");
        File.WriteAllText(suite, BadInputTests.Suite().Replace("\"name\": \"s\"", "\"name\": \"r\""));
        var (code, output, err) = BadInputTests.Zoo("run", suite, "--out", _dir, "--dry-run");
        Assert.True(code == 0, err);
        Assert.Contains("1 runs, 1 pending", output);
        new CsvTable<ResultRow>(Csv).Append(new[] { Row("h1") });
        Assert.Equal("h1", Assert.Single(new CsvTable<ResultRow>(Csv).Read()).ConfigHash);
    }

    [Fact]
    public void Damaged_checkpoints_are_one_line_naming_the_file_and_the_mismatch()
    {
        var suite = Path.Combine(_dir, "c.json");
        File.WriteAllText(suite, BadInputTests.Suite().Replace("\"name\": \"s\"", "\"name\": \"c\""));
        var ckpt = Path.Combine(_dir, "ckpt");
        var row = new SuiteRunner().Run(suite, new RunSettings(Path.Combine(_dir, "out"), CheckpointDir: ckpt))[0];
        var json = Path.Combine(ckpt, $"c-{row.ConfigHash}.json");
        var weights = Path.ChangeExtension(json, ".weights");
        var pt = Path.ChangeExtension(json, ".pt");
        var (good, goodPt, goodJson) = (File.ReadAllBytes(weights), File.ReadAllBytes(pt), File.ReadAllText(json));

        void Expect(string file, string text, params string[] extra)
        {
            var (code, _, err) = BadInputTests.Zoo(new[] { "eval", json }.Concat(extra).ToArray());
            Assert.True(code == 2, err);
            Assert.Single(err.Trim().Split('\n'));
            Assert.Contains(file, err);
            Assert.Contains(text, err);
            File.WriteAllBytes(weights, good);
            File.WriteAllBytes(pt, goodPt);
            File.WriteAllText(json, goodJson);
        }

        File.WriteAllBytes(weights, good[..(good.Length / 2)]);
        Expect(weights, "readable tensors, the model has");
        File.Delete(weights);
        Expect(weights, "weights file not found");
        File.WriteAllText(weights, "garbage");
        Expect(weights, "cannot be loaded into the model");
        File.WriteAllText(pt, "garbage");
        Expect(pt, "cannot be loaded into the model", "--from-pytorch");
        File.WriteAllText(json, goodJson.Replace("\"d_model\": 16", "\"d_model\": 32"));
        Expect(weights, "'embed.weight' is [32, 16] in the file, [32, 32] in the model");
    }

    [Fact]
    public void Bench_length_that_cannot_fit_in_memory_is_an_oom_row_without_allocating()
    {
        var csv = Path.Combine(_dir, "throughput.csv");
        var (code, output, err) = BadInputTests.Zoo("bench", "--layers", "lstm", "--lengths", "8,1000000000", "--modes", "forward,forward_backward",
            "--d-model", "8", "--warmup", "0", "--iterations", "1", "--out", csv);
        Assert.True(code == 0, err);
        var rows = new CsvTable<ThroughputRow>(csv).Read();
        Assert.Equal(new[] { ("ok", 8), ("oom", 1_000_000_000), ("ok", 8), ("oom", 1_000_000_000) }, rows.Select(r => (r.Status, r.Length)));
        Assert.All(rows.Where(r => r.Status == "oom"), r => Assert.Contains("not run: needs at least", r.Message));
        Assert.Contains("not run: needs at least", output);
    }
}
