using System.CommandLine;
using Zoo.Core.Options;
using Zoo.Runner;
using Zoo.Runner.Bench;
using Zoo.Runner.Results;

namespace Zoo.Cli;

/// <summary>
/// <c>zoo bench</c>: times forward, forward+backward and training step per layer × length, appends rows to a CSV and
/// redraws the time-vs-L plots beside it.
/// </summary>
internal static class BenchCommand
{
    /// <summary>The command.</summary>
    public static Command Create(CliContext cli)
    {
        var benchLayers = new Option<string?>("--layers") { Description = "comma-separated layers (name or name:{json options}), torch-lstm/torch-gru baselines, or gated-delta-op:{heads,form,chunk_size,dtype} (the bare op); default: every registered layer" };
        var benchLengths = new Option<string>("--lengths") { Description = "comma-separated sequence lengths", DefaultValueFactory = _ => "256,1024,4096" };
        var benchBatch = new Option<int>("--batch") { Description = "batch size", DefaultValueFactory = _ => 4 };
        var benchWidth = new Option<int>("--d-model") { Description = "layer width", DefaultValueFactory = _ => 256 };
        var benchWarmup = new Option<int>("--warmup") { Description = "untimed calls first", DefaultValueFactory = _ => 1 };
        var benchIters = new Option<int>("--iterations") { Description = "timed calls (median, p20, p80 reported)", DefaultValueFactory = _ => 5 };
        var benchModes = new Option<string>("--modes") { Description = "forward, forward_backward, step (comma-separated)", DefaultValueFactory = _ => "forward,forward_backward,step" };
        var benchOut = new Option<string>("--out") { Description = "CSV to append to (plots go beside it)", DefaultValueFactory = _ => Path.Combine(RunSettings.DefaultOutDir, "throughput.csv") };
        var benchMax = new Option<double>("--max-seconds") { Description = "stop timing a layer/mode at longer L once one call exceeds this (0 = never)", DefaultValueFactory = _ => 20 };
        var deviceOption = ZooCli.DeviceOption();
        var pluginOption = ZooCli.PluginOption();
        var bench = new Command("bench", "time forward, forward+backward and step throughput per layer × length; append to a CSV and plot time vs L")
        {
            benchLayers, benchLengths, benchBatch, benchWidth, benchWarmup, benchIters, benchModes, benchOut, benchMax, deviceOption, pluginOption,
        };
        bench.SetAction(p => cli.Guard(p, () =>
        {
            var registry = ZooComponents.Create(p.GetValue(pluginOption));
            var settings = new BenchSettings
            {
                Layers = SplitList(p.GetValue(benchLayers)),
                Lengths = SplitList(p.GetValue(benchLengths)).Select(t => int.TryParse(t, out var v) ? v
                    : throw new ZooConfigException(null, "--lengths", $"'{t}' is not an integer; give e.g. 256,1024,4096")).ToList(),
                Batch = p.GetValue(benchBatch), DModel = p.GetValue(benchWidth), Warmup = p.GetValue(benchWarmup),
                Iterations = p.GetValue(benchIters), Modes = SplitList(p.GetValue(benchModes)), OutPath = p.GetValue(benchOut)!,
                MaxSecondsPerCall = p.GetValue(benchMax), Device = p.GetValue(deviceOption)!,
            };
            var rows = new ThroughputBench(cli.Out.WriteLine).Run(registry, settings);
            var all = new CsvTable<ThroughputRow>(settings.OutPath).Read().Where(r => r.Device == rows.FirstOrDefault()?.Device && r.DModel == settings.DModel && r.Batch == settings.Batch);
            var folder = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(settings.OutPath))!, Path.GetFileNameWithoutExtension(settings.OutPath));
            foreach (var f in ScalingPlot.Write(all, folder, rows.FirstOrDefault()?.Device ?? settings.Device)) cli.Out.WriteLine($"wrote {f}");
            cli.Out.WriteLine($"appended {rows.Count} rows to {settings.OutPath}");
            return ExitCode.Ok;
        }));
        return bench;
    }

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
}
