using System.CommandLine;
using Zoo.Cli;
using Zoo.Core.Native;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Runner;

var pluginOption = new Option<string[]>("--plugin") { Description = "a plugin DLL with extra layers or tasks (repeatable)", Arity = ArgumentArity.ZeroOrMore };

var suiteArg = new Argument<string>("suite") { Description = "suite file (JSON), e.g. tasks/smoke.json" };
var outOption = new Option<string>("--out") { Description = "folder for SUITE.csv and SUITE/ plots", DefaultValueFactory = _ => "results" };
var deviceOption = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
var dryRunOption = new Option<bool>("--dry-run") { Description = "print the expanded runs and their count; train nothing" };
var run = new Command("run", "train every run of a suite and append result rows to OUT/SUITE.csv")
{
    suiteArg, outOption, deviceOption, pluginOption, dryRunOption,
};
run.SetAction(p => Guard(() =>
{
    var settings = new RunSettings(p.GetValue(outOption)!, p.GetValue(deviceOption)!, p.GetValue(pluginOption) ?? Array.Empty<string>());
    var suite = p.GetValue(suiteArg)!;
    if (p.GetValue(dryRunOption))
    {
        var (_, _, runs) = SuiteRunner.Plan(suite, settings);
        foreach (var r in runs) Console.WriteLine($"{r.ConfigHash}  {r}");
        Console.WriteLine($"{runs.Count} runs");
        return 0;
    }
    var rows = new SuiteRunner(new ConsoleReporter()).Run(suite, settings);
    Console.WriteLine($"wrote {rows.Count} rows to {Path.Combine(settings.OutDir, Path.GetFileNameWithoutExtension(rows.FirstOrDefault()?.Suite ?? "suite"))}.csv");
    return rows.All(r => r.Status is "ok" or "diverged") ? 0 : 1;
}));

var whatArg = new Argument<string>("what") { Description = "layers or tasks" };
whatArg.AcceptOnlyFromAmong("layers", "tasks");
var list = new Command("list", "list registered layers or tasks with their options and defaults") { whatArg, pluginOption };
list.SetAction(p => Guard(() =>
{
    var registry = ZooComponents.Create(p.GetValue(pluginOption));
    var entries = p.GetValue(whatArg) == "layers" ? registry.Layers : registry.Tasks;
    foreach (var e in entries)
    {
        Console.WriteLine($"{e.Name}  — {e.Summary}");
        if (!e.Source.Contains("Zoo.Layers") && !e.Source.Contains("Zoo.Tasks")) Console.WriteLine($"    from {e.Source}");
        var defaults = Activator.CreateInstance(e.OptionsType)!;
        foreach (var f in OptionsBinder.Fields(e.OptionsType))
            Console.WriteLine($"    {f.JsonName,-22} default {OptionsBinder.DefaultText(f, defaults),-8} {f.Allowed(),-34} {f.Doc?.Description}");
    }
    return 0;
}));

var doctor = new Command("doctor", "check that libtorch loads and describe the environment");
doctor.SetAction(_ =>
{
    var report = NativeEnvironment.Check();
    foreach (var (k, v) in report.Lines) Console.WriteLine($"{k,-10} {v}");
    if (!report.TorchLoaded) Console.Error.WriteLine("zoo doctor: libtorch could not be loaded (see the torch line above).");
    return report.TorchLoaded ? 0 : 1;
});

var root = new RootCommand("Zoo: a sequence-model architecture zoo and benchmark suite") { run, list, doctor };
return root.Parse(args).Invoke();

// Configuration errors are the user's to fix: one line, exit code 2, nothing written.
static int Guard(Func<int> action)
{
    try
    {
        return action();
    }
    catch (ZooConfigException e)
    {
        Console.Error.WriteLine("zoo: " + e.Message);
        return 2;
    }
}
