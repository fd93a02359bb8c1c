using System.CommandLine;
using System.Text.Json;
using Zoo.Core.Options;

namespace Zoo.Cli;

/// <summary>
/// The <c>zoo</c> command line: the root command, the options its commands share and the error guard; each command
/// is its own class (<c>RunCommand</c>, <c>ListCommand</c>, …) that parses its arguments and calls Zoo.Runner or
/// Zoo.Studies. Configuration errors print one line (file, field, what is allowed) to the error writer and return exit
/// code 2 with nothing written.
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
        var cli = new CliContext(_out, _err, _live, Guard);
        var root = new RootCommand("Zoo: a sequence-model architecture zoo and benchmark suite")
        {
            RunCommand.Create(cli), ListCommand.Create(cli), MergeCommand.Create(cli), LeaderboardCommand.Create(cli),
            EvalCommand.Create(cli), BenchCommand.Create(cli), StmCommand.Create(cli), DoctorCommand.Create(cli), CheckCommand.Create(cli),
        };
        root.Options.Add(_verbose);
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = _out, Error = _err });
    }

    /// <summary>The <c>--plugin</c> option that commands loading the registry share.</summary>
    internal static Option<string[]> PluginOption() =>
        new("--plugin") { Description = "a plugin DLL with extra layers or tasks (repeatable)", Arity = ArgumentArity.ZeroOrMore };

    /// <summary>The <c>--device</c> option that commands running models share (cpu unless given).</summary>
    internal static Option<string> DeviceOption() =>
        new("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };

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
