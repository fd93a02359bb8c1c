using Zoo.Core.Options;

namespace Zoo.Runner.Results;

/// <summary>
/// Checks, before anything trains, that an output can be written where it will be: a run that trains for an hour and
/// then cannot save its row is lost. Each failure is a config error naming the path and the option it came from.
/// </summary>
public static class Writable
{
    /// <summary>Creates <paramref name="dir"/> if needed and checks that a file can be created in it.</summary>
    public static void Folder(string dir, string field)
    {
        try
        {
            if (System.IO.File.Exists(dir)) throw new IOException("it is a file, not a folder");
            Directory.CreateDirectory(dir);
            Probe(Path.Combine(dir, $".zoo-write-test-{Environment.ProcessId}"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ZooConfigException(null, field, $"cannot write to {Path.GetFullPath(dir)}: {e.Message}");
        }
    }

    /// <summary>
    /// Checks that <paramref name="path"/> can be replaced through its temporary file <paramref name="temporary"/> (the
    /// name the writer will use, so its length is checked too): the path is not a folder, an existing file is not
    /// read-only, and the temporary file can be created beside it.
    /// </summary>
    public static void File(string path, string temporary, string field)
    {
        Folder(Path.GetDirectoryName(Path.GetFullPath(path))!, field);
        string Where() => Path.GetFullPath(path);
        if (Directory.Exists(path))
            throw new ZooConfigException(Where(), field, "is a folder; allowed: a regular file (or no file yet)");
        try
        {
            if (System.IO.File.Exists(path))
            {
                // Root may write anywhere; a file the user made read-only still says "leave me alone".
                if (!OperatingSystem.IsWindows() && (System.IO.File.GetUnixFileMode(path) & UnixFileMode.UserWrite) == 0)
                    throw new UnauthorizedAccessException("the file is read-only");
                using (new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) { }
            }
            Probe(temporary);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ZooConfigException(Where(), field, $"cannot be written: {e.Message}");
        }
    }

    private static void Probe(string file)
    {
        using (new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
    }
}
