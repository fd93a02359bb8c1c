using System.CommandLine;
using Zoo.Core.Options;
using Zoo.Core.Tasks;
using Zoo.Runner;

namespace Zoo.Cli;

/// <summary><c>zoo list layers|tasks</c>: every registered layer or task with its options, their defaults and allowed values.</summary>
internal static class ListCommand
{
    /// <summary>The command.</summary>
    public static Command Create(CliContext cli)
    {
        var whatArg = new Argument<string>("what") { Description = "layers or tasks" };
        whatArg.AcceptOnlyFromAmong("layers", "tasks");
        var pluginOption = ZooCli.PluginOption();
        var list = new Command("list", "list registered layers or tasks with their options and defaults") { whatArg, pluginOption };
        list.SetAction(p => cli.Guard(p, () =>
        {
            var registry = ZooComponents.Create(p.GetValue(pluginOption));
            foreach (var e in p.GetValue(whatArg) == "layers" ? registry.Layers : registry.Tasks)
            {
                cli.Out.WriteLine($"{e.Name}  — {e.Summary}");
                if (!e.Source.Contains("Zoo.Layers") && !e.Source.Contains("Zoo.Tasks")) cli.Out.WriteLine($"    from {e.Source}");
                var defaults = Activator.CreateInstance(e.OptionsType)!;
                PrintOptions(cli.Out, e.OptionsType, defaults, "");
                if (defaults is IDifficultyLadder ladder)
                    cli.Out.WriteLine($"    difficulty (suite key \"difficulty\": \"all\", a field or names): baseline, {string.Join(", ", ladder.DifficultyChanges().Select(c => c.Name))}");
            }
            return ExitCode.Ok;
        }));
        return list;
    }

    // Nested option records print as dotted names (e.g. memory.depth), as a suite file spells them.
    private static void PrintOptions(TextWriter output, Type type, object defaults, string prefix)
    {
        foreach (var f in OptionsBinder.Fields(type))
        {
            var value = f.Property.GetValue(defaults);
            if (value is not null && OptionsBinder.IsNested(value.GetType()))
            {
                PrintOptions(output, value.GetType(), value, prefix + f.JsonName + ".");
                continue;
            }
            output.WriteLine($"    {prefix + f.JsonName,-22} default {OptionsBinder.DefaultText(f, defaults),-8} {f.Allowed(),-34} {f.Doc?.Description}");
        }
    }
}
