using System.CommandLine;
using TorchSharp;
using Zoo.Core.Native;
using Zoo.Core.Options;
using Zoo.Runner;
using Zoo.Runner.Results;
using Zoo.Studies.ShortTermMemory;

namespace Zoo.Cli;

/// <summary>
/// <c>zoo stm CONFIG</c>: the short-term-memory study (Zoo.Studies): trains its networks as ensembles, appends one row
/// per network, then fits critical learning rates and plots; <c>--dry-run</c> prints the ensembles still to train and,
/// unless <c>--no-calibrate</c>, a measured estimate of the wall time.
/// </summary>
internal static class StmCommand
{
    /// <summary>The command.</summary>
    public static Command Create(CliContext cli)
    {
        var stmConfigArg = new Argument<string>("config") { Description = "study config (JSON), e.g. tasks/stm.json" };
        var stmOut = new Option<string?>("--out") { Description = "CSV to append one row per network to (default runs/NAME.csv); plots go in the folder named after it" };
        var deviceOption = ZooCli.DeviceOption();
        var stmForce = new Option<bool>("--force") { Description = "train networks that already have a row again" };
        var stmDryRun = new Option<bool>("--dry-run") { Description = "print the ensembles still to train and the network-epochs; train nothing" };
        var stmNoCalibrate = new Option<bool>("--no-calibrate") { Description = "with --dry-run: skip the short calibration run (network-epochs/s, matmul rate, estimated wall time)" };
        var stmAnalyse = new Option<bool>("--analyse-only") { Description = "skip training; recompute critical learning rates and the plot from the CSV" };
        var stm = new Command("stm", "short-term memory study (Kurtkaya et al.): train delays × learning rates × seeds of rate RNNs as ensembles, classify their mechanism, fit critical learning rate vs delay")
        {
            stmConfigArg, stmOut, deviceOption, stmForce, stmDryRun, stmNoCalibrate, stmAnalyse,
        };
        stm.SetAction(p => cli.Guard(p, () =>
        {
            var config = StmConfig.Load(p.GetValue(stmConfigArg)!);
            var csv = p.GetValue(stmOut) ?? Path.Combine(RunSettings.DefaultOutDir, config.Name + ".csv");
            var study = new StmStudy(cli.Out.WriteLine);
            if (p.GetValue(stmDryRun))
            {
                var done = File.Exists(csv) && !p.GetValue(stmForce) ? new CsvTable<StmRow>(csv, cli.Note).Read().Select(r => r.ConfigHash) : Array.Empty<string>();
                var plan = StmStudy.Plan(config, done);
                foreach (var e in plan)
                    cli.Out.WriteLine($"delay {e.Delay,2}: {e.Networks.Count,3} networks, lr {e.Networks.Min(n => n.Lr):G3}–{e.Networks.Max(n => n.Lr):G3}, {e.Epochs} epochs");
                cli.Out.WriteLine($"{config.Networks().Count} networks, {plan.Sum(e => e.Networks.Count)} pending in {plan.Count} ensembles, " +
                                  $"{plan.Sum(e => e.NetworkEpochs):N0} network-epochs, {plan.Sum(e => e.NetworkEpochs * config.Layout(e.Delay).Length):N0} network-steps");
                if (plan.Count > 0 && !p.GetValue(stmNoCalibrate))
                {
                    var c = StmCalibration.Measure(config, plan, NativeEnvironment.Device(p.GetValue(deviceOption)!));
                    cli.Out.WriteLine($"calibration (delay {c.Delay}, {torch.get_num_threads()} thread(s)): ensemble of {c.EnsembleSize} {c.EnsembleRate:F1} network-epochs/s, " +
                                      $"one network at a time {c.SingleRate:F1} ({c.EnsembleRate / c.SingleRate:F1}x); recurrent products {c.EnsembleGflops:F1} GFLOP/s = " +
                                      $"{100 * c.MatmulFraction:F0}% of a 1024^2 matmul's {c.MatmulGflops:F1} GFLOP/s; estimated training time {TimeSpan.FromSeconds(c.EstimatedSeconds):d\\.hh\\:mm} (d.hh:mm)");
                }
                return ExitCode.Ok;
            }
            if (!p.GetValue(stmAnalyse)) study.Run(config, csv, p.GetValue(deviceOption)!, p.GetValue(stmForce));
            if (!File.Exists(csv)) throw new ZooConfigException(csv, null, "results file not found; run without --analyse-only first");
            study.Analyse(config, csv);
            return ExitCode.Ok;
        }));
        return stm;
    }
}
