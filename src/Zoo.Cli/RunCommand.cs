using System.CommandLine;
using Zoo.Runner;
using Zoo.Runner.Suites;

namespace Zoo.Cli;

/// <summary>
/// <c>zoo run SUITE</c>: trains every pending run of a suite and appends result rows to <c>OUT/SUITE.csv</c>; with
/// <c>--dry-run</c> prints the runner's plan (each run of the shard, pending or done, and where rows go); with
/// <c>--plots-only</c> redraws the figures from what is stored. Exit code 1
/// when a run ended in error or oom.
/// </summary>
internal static class RunCommand
{
    /// <summary>The command.</summary>
    public static Command Create(CliContext cli)
    {
        var suiteArg = new Argument<string>("suite") { Description = "suite file (JSON), e.g. tasks/smoke.json" };
        var outOption = new Option<string>("--out") { Description = "folder for SUITE.csv and SUITE/ plots (default runs/, ignored by git; --out results publishes into the committed results)", DefaultValueFactory = _ => RunSettings.DefaultOutDir };
        var deviceOption = ZooCli.DeviceOption();
        var pluginOption = ZooCli.PluginOption();
        var dryRunOption = new Option<bool>("--dry-run") { Description = "print the expanded runs and their count; train nothing" };
        var forceOption = new Option<bool>("--force") { Description = "re-run configurations that already have an ok/diverged row" };
        var shardOption = new Option<string?>("--shard") { Description = "run only shard i of n (i/n, 0-based), e.g. $SLURM_ARRAY_TASK_ID/8; writes SUITE.shard-i-of-n.csv" };
        var checkpointOption = new Option<string?>("--checkpoints") { Description = "save each trained model (and a PyTorch state dict) in this folder" };
        var onlyOption = new Option<string[]>("--only") { Description = "train only the layer entries with this label (or layer name when unlabelled); repeatable", AllowMultipleArgumentsPerToken = true };
        var plotsOnlyOption = new Option<bool>("--plots-only") { Description = "redraw the suite's figures from the rows and curves stored in OUT; train nothing" };
        var run = new Command("run", "train every pending run of a suite and append result rows to OUT/SUITE.csv")
        {
            suiteArg, outOption, deviceOption, pluginOption, dryRunOption, forceOption, shardOption, checkpointOption, onlyOption, plotsOnlyOption,
        };
        run.SetAction(p => cli.Guard(p, () =>
        {
            var shardText = p.GetValue(shardOption);
            var settings = new RunSettings(p.GetValue(outOption)!, p.GetValue(deviceOption)!, p.GetValue(pluginOption) ?? Array.Empty<string>(),
                p.GetValue(forceOption), shardText is null ? null : Shard.Parse(shardText), p.GetValue(checkpointOption),
                p.GetValue(onlyOption) is { Length: > 0 } only ? only : null);
            var suitePath = p.GetValue(suiteArg)!;
            if (p.GetValue(dryRunOption))
            {
                var plan = SuiteRunner.Schedule(suitePath, settings, cli.Note);
                foreach (var r in plan.InShard)
                    cli.Out.WriteLine($"{r.Run.ConfigHash}  {(r.Pending ? "pending" : "done   ")}  {r.Run}");
                cli.Out.WriteLine($"{plan.TotalRuns} runs{(plan.Shard is null ? "" : $", {plan.InShard.Count} in shard {shardText}")}, {plan.PendingCount} pending → {plan.ResultsPath}");
                return ExitCode.Ok;
            }
            if (p.GetValue(plotsOnlyOption))
            {
                foreach (var file in new SuiteRunner().Redraw(suitePath, settings)) cli.Out.WriteLine($"wrote {file}");
                return ExitCode.Ok;
            }
            var rows = new SuiteRunner(new ConsoleReporter(cli.Out, cli.Live)).Run(suitePath, settings);
            return rows.All(r => r.Status is "ok" or "diverged") ? ExitCode.Ok : ExitCode.RunFailed;
        }));
        return run;
    }
}
