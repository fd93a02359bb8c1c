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
    /// <summary>The command.</summary>
    public static Command Create(CliContext cli)
    {
        var pluginArg = new Argument<string?>("plugin") { Description = "plugin DLL whose layers to check (default: Zoo's built-in layers)", Arity = ArgumentArity.ZeroOrOne };
        var layerOption = new Option<string?>("--layer") { Description = "check only this layer" };
        var check = new Command("check", "run the layer contract checks (step == parallel, carried state, causality, state size, gradients, float64, odd lengths)")
        {
            pluginArg, layerOption,
        };
        check.SetAction(p => cli.Guard(p, () =>
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
                    cli.Out.WriteLine(result);
                    total++;
                    if (!result.Passed) failed++;
                }
            }
            cli.Out.WriteLine($"{total} checks, {failed} failed");
            return failed == 0 ? ExitCode.Ok : ExitCode.RunFailed;
        }));
        return check;
    }

    private static bool IsBuiltIn(ComponentEntry e) => e.Type.Assembly == typeof(Zoo.Layers.Recurrent.Lstm).Assembly;
}
