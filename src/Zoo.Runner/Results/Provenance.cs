using System.Diagnostics;
using System.Reflection;
using TorchSharp;

namespace Zoo.Runner.Results;

/// <summary>Where a result came from: Zoo's own commit, the suite file's commit and the library versions.</summary>
/// <param name="Commit">The commit Zoo was built from (stamped into the build; <c>unknown</c> outside a git checkout).</param>
/// <param name="TorchVersion">libtorch's version.</param>
/// <param name="TorchSharpVersion">TorchSharp's version.</param>
/// <param name="SuiteCommit">The commit of the git repository holding the suite file; empty when it is in none.</param>
public sealed record Provenance(string Commit, string TorchVersion, string TorchSharpVersion, string SuiteCommit = "")
{
    /// <summary>
    /// The commit of this build of Zoo: <c>git rev-parse HEAD</c> at build time, with suffix <c>-dirty</c> when tracked
    /// files other than those under <c>results/</c> had uncommitted changes (see <c>src/Zoo.Runner/Zoo.Runner.csproj</c>).
    /// </summary>
    public static string ZooCommit { get; } =
        typeof(Provenance).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "ZooCommit")?.Value is { Length: > 0 } c
            ? c : "unknown";

    /// <summary>
    /// Zoo's commit and versions, and when <paramref name="suiteDirectory"/> is in a git repository, that repository's
    /// commit (suffix <c>-dirty</c> when its tracked files other than <c>results/</c> have uncommitted changes): a suite
    /// kept in another repository, or edited, is recorded as such without standing in for Zoo's own version.
    /// </summary>
    public static Provenance Capture(string? suiteDirectory = null)
    {
        var suiteCommit = suiteDirectory is null ? null : Git(suiteDirectory, "rev-parse --short=12 HEAD");
        if (suiteCommit is not null && !string.IsNullOrWhiteSpace(Git(suiteDirectory!, "status --porcelain --untracked-files=no -- :/ :(top,exclude)results"))) suiteCommit += "-dirty";
        return new Provenance(ZooCommit, torch.__version__, typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?", suiteCommit ?? "");
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
