using System.CommandLine;
using System.Text.Json;
using TorchSharp;
using Zoo.Core.Native;
using Zoo.Core.Options;
using Zoo.Core.Tasks;
using Zoo.Runner;
using Zoo.Runner.Plots;
using Zoo.Runner.Results;
using Zoo.Runner.Suites;
using Zoo.Runner.Training;

namespace Zoo.Cli;

/// <summary>
/// The <c>zoo</c> command line. Thin: parses arguments and calls Zoo.Runner. Configuration errors print one line
/// (file, field, what is allowed) to the error writer and return exit code 2 with nothing written.
/// </summary>
public sealed class ZooCli
{
    private readonly TextWriter _out, _err;
    private readonly bool _live;
    private readonly Option<bool> _verbose = new("--verbose") { Description = "on an error, print the full exception trace after the one-line message", Recursive = true };

    /// <summary>Writes to <paramref name="output"/> and <paramref name="error"/>; <paramref name="live"/> redraws a progress line.</summary>
    public ZooCli(TextWriter output, TextWriter error, bool live)
    {
        (_out, _err, _live) = (output, error, live);
    }

    /// <summary>Runs the command line; returns the exit code.</summary>
    public int Run(string[] args)
    {
        var pluginOption = new Option<string[]>("--plugin") { Description = "a plugin DLL with extra layers or tasks (repeatable)", Arity = ArgumentArity.ZeroOrMore };
        var deviceOption = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };

        var suiteArg = new Argument<string>("suite") { Description = "suite file (JSON), e.g. tasks/smoke.json" };
        var outOption = new Option<string>("--out") { Description = "folder for SUITE.csv and SUITE/ plots (default runs/, ignored by git; --out results publishes into the committed results)", DefaultValueFactory = _ => RunSettings.DefaultOutDir };
        var dryRunOption = new Option<bool>("--dry-run") { Description = "print the expanded runs and their count; train nothing" };
        var forceOption = new Option<bool>("--force") { Description = "re-run configurations that already have an ok/diverged row" };
        var shardOption = new Option<string?>("--shard") { Description = "run only shard i of n (i/n, 0-based), e.g. $SLURM_ARRAY_TASK_ID/8; writes SUITE.shard-i-of-n.csv" };
        var checkpointOption = new Option<string?>("--checkpoints") { Description = "save each trained model (and a PyTorch state dict) in this folder" };
        var run = new Command("run", "train every pending run of a suite and append result rows to OUT/SUITE.csv")
        {
            suiteArg, outOption, deviceOption, pluginOption, dryRunOption, forceOption, shardOption, checkpointOption,
        };
        run.SetAction(p => Guard(p, () =>
        {
            var shardText = p.GetValue(shardOption);
            var settings = new RunSettings(p.GetValue(outOption)!, p.GetValue(deviceOption)!, p.GetValue(pluginOption) ?? Array.Empty<string>(),
                p.GetValue(forceOption), shardText is null ? null : Shard.Parse(shardText), p.GetValue(checkpointOption));
            var suitePath = p.GetValue(suiteArg)!;
            if (p.GetValue(dryRunOption))
            {
                var (suite, _, runs) = SuiteRunner.Plan(suitePath, settings);
                var resultsPath = SuiteRunner.ResultsPath(settings.OutDir, suite.Name, settings.Shard);
                var done = new CsvTable<ResultRow>(resultsPath, Note).Read();
                var pending = SuiteRunner.Pending(runs, done, settings.Shard, settings.Force).Select(r => r.ConfigHash).ToHashSet();
                var inShard = runs.Where((_, i) => settings.Shard?.Contains(i) ?? true).ToList();
                foreach (var r in inShard)
                    _out.WriteLine($"{r.ConfigHash}  {(pending.Contains(r.ConfigHash) ? "pending" : "done   ")}  {r}");
                _out.WriteLine($"{runs.Count} runs{(settings.Shard is null ? "" : $", {inShard.Count} in shard {shardText}")}, {pending.Count} pending → {resultsPath}");
                return 0;
            }
            var rows = new SuiteRunner(new ConsoleReporter(_out, _live)).Run(suitePath, settings);
            return rows.All(r => r.Status is "ok" or "diverged") ? ExitCode.Ok : ExitCode.RunFailed;
        }));

        var whatArg = new Argument<string>("what") { Description = "layers or tasks" };
        whatArg.AcceptOnlyFromAmong("layers", "tasks");
        var list = new Command("list", "list registered layers or tasks with their options and defaults") { whatArg, pluginOption };
        list.SetAction(p => Guard(p, () =>
        {
            var registry = ZooComponents.Create(p.GetValue(pluginOption));
            foreach (var e in p.GetValue(whatArg) == "layers" ? registry.Layers : registry.Tasks)
            {
                _out.WriteLine($"{e.Name}  — {e.Summary}");
                if (!e.Source.Contains("Zoo.Layers") && !e.Source.Contains("Zoo.Tasks")) _out.WriteLine($"    from {e.Source}");
                var defaults = Activator.CreateInstance(e.OptionsType)!;
                PrintOptions(e.OptionsType, defaults, "");
                if (defaults is IDifficultyLadder ladder)
                    _out.WriteLine($"    difficulty (suite key \"difficulty\": \"all\", a field or names): baseline, {string.Join(", ", ladder.DifficultyChanges().Select(c => c.Name))}");
            }
            return 0;
        }));

        var inputsArg = new Argument<string[]>("inputs") { Description = "result CSV files", Arity = ArgumentArity.OneOrMore };
        var mergeOut = new Option<string>("--out") { Description = "merged CSV to write", Required = true };
        var merge = new Command("merge", "combine result files (e.g. shards), de-duplicated by config hash, reporting conflicts") { inputsArg, mergeOut };
        merge.SetAction(p => Guard(p, () =>
        {
            var report = ShardMerger.Merge(p.GetValue(inputsArg)!, p.GetValue(mergeOut)!, Note);
            _out.WriteLine($"read {report.RowsRead} rows, wrote {report.RowsWritten} ({report.Duplicates} duplicates, {report.Conflicts.Count} conflicts) to {p.GetValue(mergeOut)}");
            foreach (var c in report.Conflicts) _err.WriteLine("conflict: " + c);
            return report.Conflicts.Count == 0 ? ExitCode.Ok : ExitCode.Conflicts;
        }));

        var boardInputs = new Argument<string[]>("csv") { Description = "result CSV files", Arity = ArgumentArity.OneOrMore };
        var boardOut = new Option<string?>("--out") { Description = "Markdown file to write (default: next to the first CSV, NAME.md)" };
        var leaderboard = new Command("leaderboard", "write a Markdown leaderboard (best per layer × task, mean ± sd over seeds) and bar charts") { boardInputs, boardOut };
        leaderboard.SetAction(p => Guard(p, () =>
        {
            var files = p.GetValue(boardInputs)!;
            var rows = files.SelectMany(f => File.Exists(f) ? new CsvTable<ResultRow>(f, Note).Read()
                : throw new ZooConfigException(f, null, "results file not found")).ToList();
            var entries = Leaderboard.Build(rows);
            var chance = ChanceLevels.From(ZooComponents.Create(Array.Empty<string>(), files[0]));
            var md = p.GetValue(boardOut) ?? Path.ChangeExtension(files[0], ".md");
            foreach (var suite in entries.GroupBy(e => e.Suite))
            {
                var folder = SafeFileName.Check(suite.Key, string.Join(", ", files), "suite column");
                var png = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(md))!, folder, "leaderboard.png");
                LeaderboardPlots.Bars(suite.ToList(), png, $"{suite.Key}: best per layer", chance);
                var statePng = Path.Combine(Path.GetDirectoryName(png)!, "leaderboard-state-size.png");
                LeaderboardPlots.StateSize(suite.ToList(), statePng, $"{suite.Key}: best metric vs state size", chance);
                _out.WriteLine($"wrote {png} and {statePng}");
            }
            AtomicFile.WriteAllText(md, Leaderboard.Markdown(entries));
            _out.WriteLine($"wrote {md} ({entries.Count} entries from {rows.Count} rows)");
            return 0;
        }));

        var checkpointArg = new Argument<string>("checkpoint") { Description = "checkpoint JSON written by zoo run --checkpoints" };
        var taskOption = new Option<string?>("--task") { Description = "evaluate on this task instead of the checkpoint's own" };
        var taskOptionsOption = new Option<string?>("--task-options") { Description = "JSON options for --task" };
        var pytorchOption = new Option<bool>("--from-pytorch") { Description = "load the weights from the PyTorch state dict instead" };
        var eval = new Command("eval", "re-evaluate a saved model on the test split of its task (or another task)")
        {
            checkpointArg, taskOption, taskOptionsOption, deviceOption, pluginOption, pytorchOption,
        };
        eval.SetAction(p => Guard(p, () =>
        {
            if (p.GetValue(taskOptionsOption) is not null && p.GetValue(taskOption) is null)
                throw new ZooConfigException(null, "--task-options", "given without --task; allowed: --task NAME --task-options JSON (the checkpoint's own task keeps its saved options)");
            var registry = ZooComponents.Create(p.GetValue(pluginOption));
            var (spec, model, task) = Checkpoint.Load(registry, p.GetValue(checkpointArg)!, p.GetValue(pytorchOption));
            using var m = model;
            if (p.GetValue(taskOption) is { } name)
            {
                var json = p.GetValue(taskOptionsOption) is { } text ? JsonDocument.Parse(text).RootElement : (JsonElement?)null;
                if (json is { } options) DuplicateKeys.Check(options, null, "--task-options");
                var other = registry.CreateTask(name, registry.BindTaskOptions(name, json, null, "--task-options"));
                if (other.Signature.InputVocab != task.Signature.InputVocab || other.Signature.InputDim != task.Signature.InputDim
                    || other.Signature.OutputDim != task.Signature.OutputDim)
                    throw new ZooConfigException(null, "--task", $"'{name}' has inputs/outputs {other.Signature}, the model was built for {task.Signature}");
                task = other;
            }
            var device = NativeEnvironment.Device(p.GetValue(deviceOption)!);
            m.to(device);
            var (metric, loss) = new Trainer(device).Evaluate(m, task, spec.Train, spec.Seed);
            _out.WriteLine($"{spec.Layer} ({spec.ConfigHash}) on {p.GetValue(taskOption) ?? spec.Task}: {task.PrimaryMetric} {metric:F6}, loss {loss:F6}");
            return 0;
        }));

        var benchLayers = new Option<string?>("--layers") { Description = "comma-separated layers (name or name:{json options}), torch-lstm/torch-gru baselines, or gated-delta-op:{heads,form,chunk_size,dtype} (the bare op); default: every registered layer" };
        var benchLengths = new Option<string>("--lengths") { Description = "comma-separated sequence lengths", DefaultValueFactory = _ => "256,1024,4096" };
        var benchBatch = new Option<int>("--batch") { Description = "batch size", DefaultValueFactory = _ => 4 };
        var benchWidth = new Option<int>("--d-model") { Description = "layer width", DefaultValueFactory = _ => 256 };
        var benchWarmup = new Option<int>("--warmup") { Description = "untimed calls first", DefaultValueFactory = _ => 1 };
        var benchIters = new Option<int>("--iterations") { Description = "timed calls (median, p20, p80 reported)", DefaultValueFactory = _ => 5 };
        var benchModes = new Option<string>("--modes") { Description = "forward, forward_backward, step (comma-separated)", DefaultValueFactory = _ => "forward,forward_backward,step" };
        var benchOut = new Option<string>("--out") { Description = "CSV to append to (plots go beside it)", DefaultValueFactory = _ => Path.Combine(RunSettings.DefaultOutDir, "throughput.csv") };
        var benchMax = new Option<double>("--max-seconds") { Description = "stop timing a layer/mode at longer L once one call exceeds this (0 = never)", DefaultValueFactory = _ => 20 };
        var bench = new Command("bench", "time forward, forward+backward and step throughput per layer × length; append to a CSV and plot time vs L")
        {
            benchLayers, benchLengths, benchBatch, benchWidth, benchWarmup, benchIters, benchModes, benchOut, benchMax, deviceOption, pluginOption,
        };
        bench.SetAction(p => Guard(p, () =>
        {
            var registry = ZooComponents.Create(p.GetValue(pluginOption));
            var settings = new Zoo.Runner.Bench.BenchSettings
            {
                Layers = SplitList(p.GetValue(benchLayers)),
                Lengths = SplitList(p.GetValue(benchLengths)).Select(t => int.TryParse(t, out var v) ? v
                    : throw new ZooConfigException(null, "--lengths", $"'{t}' is not an integer; give e.g. 256,1024,4096")).ToList(),
                Batch = p.GetValue(benchBatch), DModel = p.GetValue(benchWidth), Warmup = p.GetValue(benchWarmup),
                Iterations = p.GetValue(benchIters), Modes = SplitList(p.GetValue(benchModes)), OutPath = p.GetValue(benchOut)!,
                MaxSecondsPerCall = p.GetValue(benchMax), Device = p.GetValue(deviceOption)!,
            };
            var rows = new Zoo.Runner.Bench.ThroughputBench(_out.WriteLine).Run(registry, settings);
            var all = new CsvTable<Zoo.Runner.Bench.ThroughputRow>(settings.OutPath).Read().Where(r => r.Device == rows.FirstOrDefault()?.Device && r.DModel == settings.DModel && r.Batch == settings.Batch);
            var folder = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(settings.OutPath))!, Path.GetFileNameWithoutExtension(settings.OutPath));
            foreach (var f in Zoo.Runner.Bench.ScalingPlot.Write(all, folder, rows.FirstOrDefault()?.Device ?? settings.Device)) _out.WriteLine($"wrote {f}");
            _out.WriteLine($"appended {rows.Count} rows to {settings.OutPath}");
            return 0;
        }));

        var stmConfigArg = new Argument<string>("config") { Description = "study config (JSON), e.g. tasks/stm.json" };
        var stmOut = new Option<string?>("--out") { Description = "CSV to append one row per network to (default runs/NAME.csv); plots go in the folder named after it" };
        var stmForce = new Option<bool>("--force") { Description = "train networks that already have a row again" };
        var stmDryRun = new Option<bool>("--dry-run") { Description = "print the ensembles still to train and the network-epochs; train nothing" };
        var stmNoCalibrate = new Option<bool>("--no-calibrate") { Description = "with --dry-run: skip the short calibration run (network-epochs/s, matmul rate, estimated wall time)" };
        var stmAnalyse = new Option<bool>("--analyse-only") { Description = "skip training; recompute critical learning rates and the plot from the CSV" };
        var stm = new Command("stm", "short-term memory study (Kurtkaya et al.): train delays × learning rates × seeds of rate RNNs as ensembles, classify their mechanism, fit critical learning rate vs delay")
        {
            stmConfigArg, stmOut, deviceOption, stmForce, stmDryRun, stmNoCalibrate, stmAnalyse,
        };
        stm.SetAction(p => Guard(p, () =>
        {
            var config = Zoo.Runner.ShortTermMemory.StmConfig.Load(p.GetValue(stmConfigArg)!);
            var csv = p.GetValue(stmOut) ?? Path.Combine(RunSettings.DefaultOutDir, config.Name + ".csv");
            var study = new Zoo.Runner.ShortTermMemory.StmStudy(_out.WriteLine);
            if (p.GetValue(stmDryRun))
            {
                var done = File.Exists(csv) && !p.GetValue(stmForce) ? new CsvTable<Zoo.Runner.ShortTermMemory.StmRow>(csv).Read().Select(r => r.ConfigHash) : Array.Empty<string>();
                var plan = Zoo.Runner.ShortTermMemory.StmStudy.Plan(config, done);
                foreach (var e in plan)
                    _out.WriteLine($"delay {e.Delay,2}: {e.Networks.Count,3} networks, lr {e.Networks.Min(n => n.Lr):G3}–{e.Networks.Max(n => n.Lr):G3}, {e.Epochs} epochs");
                _out.WriteLine($"{config.Networks().Count} networks, {plan.Sum(e => e.Networks.Count)} pending in {plan.Count} ensembles, " +
                               $"{plan.Sum(e => e.NetworkEpochs):N0} network-epochs, {plan.Sum(e => e.NetworkEpochs * config.Layout(e.Delay).Length):N0} network-steps");
                if (plan.Count > 0 && !p.GetValue(stmNoCalibrate))
                {
                    var c = Zoo.Runner.ShortTermMemory.StmCalibration.Measure(config, plan, NativeEnvironment.Device(p.GetValue(deviceOption)!));
                    _out.WriteLine($"calibration (delay {c.Delay}, {torch.get_num_threads()} thread(s)): ensemble of {c.EnsembleSize} {c.EnsembleRate:F1} network-epochs/s, " +
                                   $"one network at a time {c.SingleRate:F1} ({c.EnsembleRate / c.SingleRate:F1}x); recurrent products {c.EnsembleGflops:F1} GFLOP/s = " +
                                   $"{100 * c.MatmulFraction:F0}% of a 1024^2 matmul's {c.MatmulGflops:F1} GFLOP/s; estimated training time {TimeSpan.FromSeconds(c.EstimatedSeconds):d\\.hh\\:mm} (d.hh:mm)");
                }
                return 0;
            }
            if (!p.GetValue(stmAnalyse)) study.Run(config, csv, p.GetValue(deviceOption)!, p.GetValue(stmForce));
            if (!File.Exists(csv)) throw new ZooConfigException(csv, null, "results file not found; run without --analyse-only first");
            study.Analyse(config, csv);
            return 0;
        }));

        var doctorDevice = new Option<string?>("--device") { Description = "also run a first op (matmul, backward, read back) on cpu, cuda or cuda:N" };
        var doctor = new Command("doctor", "check that libtorch loads and describe the environment") { doctorDevice };
        doctor.SetAction(p => Guard(p, () =>
        {
            var report = NativeEnvironment.Check(p.GetValue(doctorDevice));
            foreach (var (k, v) in report.Lines) _out.WriteLine($"{k,-10} {v}");
            if (!report.TorchLoaded) _err.WriteLine("zoo doctor: libtorch could not be loaded or the first op failed (see the torch and device lines above).");
            return report.TorchLoaded ? ExitCode.Ok : ExitCode.RunFailed;
        }));

        var root = new RootCommand("Zoo: a sequence-model architecture zoo and benchmark suite") { run, list, merge, leaderboard, eval, bench, stm, doctor, CheckCommand.Create(_out, Guard) };
        root.Options.Add(_verbose);
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = _out, Error = _err });
    }

    private void Note(string message) => _err.WriteLine("zoo: note: " + message);

    private static List<string> SplitList(string? text) =>
        string.IsNullOrWhiteSpace(text) ? new List<string>() : SplitTopLevel(text).Select(t => t.Trim()).Where(t => t.Length > 0).ToList();

    // Splits on commas outside braces, so "gated-deltanet:{\"form\":\"reference\",\"chunk_size\":32},lstm" is two items.
    private static IEnumerable<string> SplitTopLevel(string text)
    {
        int depth = 0, start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '{') depth++;
            else if (text[i] == '}') depth--;
            else if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        yield return text[start..];
    }

    private void PrintOptions(Type type, object defaults, string prefix)
    {
        foreach (var f in OptionsBinder.Fields(type))
        {
            var value = f.Property.GetValue(defaults);
            if (value is not null && OptionsBinder.IsNested(value.GetType()))
            {
                PrintOptions(value.GetType(), value, prefix + f.JsonName + ".");
                continue;
            }
            _out.WriteLine($"    {prefix + f.JsonName,-22} default {OptionsBinder.DefaultText(f, defaults),-8} {f.Allowed(),-34} {f.Doc?.Description}");
        }
    }

    // Every error ends as one line on the error writer and a documented exit code; --verbose adds the trace.
    // Configuration errors are the user's to fix: nothing was written.
    private int Guard(ParseResult parse, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e)
        {
            var (code, line) = e switch
            {
                ZooConfigException => (ExitCode.Config, e.Message),
                JsonException => (ExitCode.Config, "malformed JSON: " + e.Message),
                IOException or UnauthorizedAccessException => (ExitCode.FileSystem, "file error: " + e.Message),
                CsvHelper.CsvHelperException => (ExitCode.FileSystem, "unreadable CSV: " + e.Message),
                System.Runtime.InteropServices.ExternalException or OutOfMemoryException => (ExitCode.Torch, "libtorch error: " + e.Message),
                _ => (ExitCode.Internal, $"internal error ({e.GetType().Name}): {e.Message}"),
            };
            bool verbose = parse.GetValue(_verbose);
            var hint = code == ExitCode.Config || verbose ? "" : " (--verbose shows the trace)";
            _err.WriteLine("zoo: " + FirstLine(line) + hint);
            if (verbose) _err.WriteLine(e.ToString());
            return code;
        }
    }

    private static string FirstLine(string text) => text.Split('\n')[0].TrimEnd('\r', ' ');
}
