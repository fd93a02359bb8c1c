using System.Diagnostics;
using TorchSharp;

namespace Zoo.Runner.Results;

/// <summary>Where a result came from: code commit and library versions.</summary>
public sealed record Provenance(string Commit, string TorchVersion, string TorchSharpVersion)
{
    /// <summary>
    /// Reads the git commit of <paramref name="directory"/>, with suffix <c>-dirty</c> when tracked files other than
    /// those under <c>results/</c> (which runs themselves rewrite) have uncommitted changes.
    /// </summary>
    public static Provenance Capture(string directory)
    {
        var commit = Git(directory, "rev-parse --short=12 HEAD") ?? "unknown";
        if (commit != "unknown" && !string.IsNullOrWhiteSpace(Git(directory, "status --porcelain --untracked-files=no -- :/ :(top,exclude)results"))) commit += "-dirty";
        return new Provenance(commit, torch.__version__, typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?");
    }

    private static string? Git(string directory, string args)
    {
        try
        {
            var psi = new ProcessStartInfo("git", args) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 ? output : null;
        }
        catch (Exception)
        {
            return null;
        }
    }
}
