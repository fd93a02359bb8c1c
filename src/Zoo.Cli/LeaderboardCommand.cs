using System.CommandLine;
using Zoo.Core.Options;
using Zoo.Runner;
using Zoo.Runner.Plots;
using Zoo.Runner.Results;

namespace Zoo.Cli;

/// <summary><c>zoo leaderboard CSV… [--out FILE.md]</c>: a Markdown leaderboard and, per suite, its figures (bars, and metric against state size with a line per layer through its widths; one panel per task setting).</summary>
internal static class LeaderboardCommand
{
    /// <summary>The command.</summary>
    public static Command Create(CliContext cli)
    {
        var boardInputs = new Argument<string[]>("csv") { Description = "result CSV files", Arity = ArgumentArity.OneOrMore };
        var boardOut = new Option<string?>("--out") { Description = "Markdown file to write (default: next to the first CSV, NAME.md)" };
        var leaderboard = new Command("leaderboard", "write a Markdown leaderboard (best per layer × task, mean ± sd over seeds) and bar charts") { boardInputs, boardOut };
        leaderboard.SetAction(p => cli.Guard(p, () =>
        {
            var files = p.GetValue(boardInputs)!;
            var rows = files.SelectMany(f => File.Exists(f) ? new CsvTable<ResultRow>(f, cli.Note).Read()
                : throw new ZooConfigException(f, null, "results file not found")).ToList();
            var entries = Leaderboard.Build(rows);
            var chance = ChanceLevels.From(ZooComponents.Create(Array.Empty<string>(), files[0]));
            var md = p.GetValue(boardOut) ?? Path.ChangeExtension(files[0], ".md");
            var widths = Leaderboard.Build(rows, perWidth: true);
            var perWidth = widths.ToLookup(e => e.Suite);
            foreach (var suite in entries.GroupBy(e => e.Suite))
            {
                var folder = SafeFileName.Check(suite.Key, string.Join(", ", files), "suite column");
                var png = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(md))!, folder, "leaderboard.png");
                LeaderboardPlots.Bars(suite.ToList(), png, $"{suite.Key}: best per layer", chance);
                var statePng = Path.Combine(Path.GetDirectoryName(png)!, "leaderboard-state-size.png");
                LeaderboardPlots.StateSize(perWidth[suite.Key].ToList(), statePng, $"{suite.Key}: best metric vs state size", chance);
                cli.Out.WriteLine($"wrote {png} and {statePng}");
            }
            AtomicFile.WriteAllText(md, Leaderboard.Markdown(entries, perWidth: widths));
            cli.Out.WriteLine($"wrote {md} ({entries.Count} entries from {rows.Count} rows)");
            return ExitCode.Ok;
        }));
        return leaderboard;
    }
}
