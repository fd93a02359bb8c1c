using System.CommandLine;
using Zoo.Runner.Results;

namespace Zoo.Cli;

/// <summary><c>zoo merge CSV… --out FILE</c>: combines result files (e.g. shards) by config hash; exit code 3 on conflicting rows.</summary>
internal static class MergeCommand
{
    /// <summary>The command.</summary>
    public static Command Create(CliContext cli)
    {
        var inputsArg = new Argument<string[]>("inputs") { Description = "result CSV files", Arity = ArgumentArity.OneOrMore };
        var mergeOut = new Option<string>("--out") { Description = "merged CSV to write", Required = true };
        var merge = new Command("merge", "combine result files (e.g. shards), de-duplicated by config hash, reporting conflicts") { inputsArg, mergeOut };
        merge.SetAction(p => cli.Guard(p, () =>
        {
            var report = ShardMerger.Merge(p.GetValue(inputsArg)!, p.GetValue(mergeOut)!, cli.Note);
            cli.Out.WriteLine($"read {report.RowsRead} rows, wrote {report.RowsWritten} ({report.Duplicates} duplicates, {report.Conflicts.Count} conflicts) to {p.GetValue(mergeOut)}");
            foreach (var c in report.Conflicts) cli.Err.WriteLine("conflict: " + c);
            return report.Conflicts.Count == 0 ? ExitCode.Ok : ExitCode.Conflicts;
        }));
        return merge;
    }
}
