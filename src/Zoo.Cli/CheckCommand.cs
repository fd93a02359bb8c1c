using System.CommandLine;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Runner;
using Zoo.Testing;

namespace Zoo.Cli;

/// <summary>
/// <c>zoo check [PLUGIN.dll] [--layer NAME]</c>: runs the layer contract (Zoo.Testing) on the plugin's layers, or on
/// the built-in layers when no plugin is named; one pass/FAIL line per check per layer configuration; exit code 1
/// when any check fails.
/// </summary>
internal static class CheckCommand
{
    /// <summary>The command, writing to <paramref name="output"/>; <paramref name="guard"/> turns errors into one line and a documented exit code.</summary>
    public static Command Create(TextWriter output, Func<ParseResult, Func<int>, int> guard)
    {
        var pluginArg = new Argument<string?>("plugin") { Description = "plugin DLL whose layers to check (default: Zoo's built-in layers)", Arity = ArgumentArity.ZeroOrOne };
        var layerOption = new Option<string?>("--layer") { Description = "check only this layer" };
        var check = new Command("check", "run the layer contract checks (step == parallel, carried state, causality, state size, gradients, float64, odd lengths)")
        {
            pluginArg, layerOption,
        };
        check.SetAction(p => guard(p, () =>
        {
            var plugin = p.GetValue(pluginArg);
            var registry = ZooComponents.Create(plugin is null ? null : new[] { plugin });
            var source = plugin is null ? null : Path.GetFullPath(plugin);
            bool FromTarget(ComponentEntry e) => source is null ? IsBuiltIn(e) : e.Source == source;
            var name = p.GetValue(layerOption);
            if (name is not null && registry.Layer(name, null, "--layer") is { } entry && !FromTarget(entry))
                throw new ZooConfigException(null, "--layer", $"layer '{name}' comes from {entry.Source}, not from {source ?? "Zoo's built-in layers"}");
            bool Include(ComponentEntry e) => FromTarget(e) && (name is null || e.Name == name);
            int failed = 0, total = 0;
            foreach (var contractCase in LayerContract.Cases(registry, Include))
            {
                foreach (var result in LayerContract.Check(registry, contractCase))
                {
                    output.WriteLine(result);
                    total++;
                    if (!result.Passed) failed++;
                }
            }
            output.WriteLine($"{total} checks, {failed} failed");
            return failed == 0 ? ExitCode.Ok : ExitCode.RunFailed;
        }));
        return check;
    }

    private static bool IsBuiltIn(ComponentEntry e) => e.Type.Assembly == typeof(Zoo.Layers.Recurrent.Lstm).Assembly;
}
