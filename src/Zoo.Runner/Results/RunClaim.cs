using System.Diagnostics;

namespace Zoo.Runner.Results;

/// <summary>
/// A claim on one run (config hash) of one results file, so several <c>zoo run</c> processes on the same suite and CSV
/// split the runs instead of each training all of them. The claim is an OS lock on <c>RESULTS.HASH.claim</c> held
/// while the run trains: the OS releases it when the process ends in any way (kill -9 included), so a dead process's
/// run is free to be claimed again; the file itself is removed when the claim is released and only records, for
/// people, who holds it.
/// </summary>
public sealed class RunClaim : IDisposable
{
    private readonly FileStream _lock;

    private RunClaim(FileStream fileLock) => _lock = fileLock;

    /// <summary>The claim file of <paramref name="configHash"/> beside <paramref name="resultsPath"/>.</summary>
    public static string PathFor(string resultsPath, string configHash) => $"{resultsPath}.{configHash}.claim";

    /// <summary>Claims the run, or returns null when another live process holds it.</summary>
    public static RunClaim? TryTake(string resultsPath, string configHash)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(PathFor(resultsPath, configHash), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException e) when (e is not DirectoryNotFoundException and not PathTooLongException)
        {
            return null;
        }
        using var self = Process.GetCurrentProcess();
        var note = System.Text.Encoding.UTF8.GetBytes($"pid {Environment.ProcessId} started {self.StartTime.ToUniversalTime():O} on {Environment.MachineName}\n");
        stream.SetLength(0);
        stream.Write(note);
        stream.Flush();
        return new RunClaim(stream);
    }

    /// <summary>Releases the claim (and removes its file).</summary>
    public void Dispose() => _lock.Dispose();
}
