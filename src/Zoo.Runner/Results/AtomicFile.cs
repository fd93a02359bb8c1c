namespace Zoo.Runner.Results;

/// <summary>Writes a file so that readers see the old or the new content, never a half-written one.</summary>
public static class AtomicFile
{
    /// <summary>
    /// The temporary file <see cref="Write(string, Action{string})"/> writes beside <paramref name="path"/>: named after
    /// this process, because several <c>zoo</c> processes may replace the same file (plots of a shared <c>--out</c>) and
    /// must never write into, rename or delete each other's; it keeps <paramref name="path"/>'s extension last, so
    /// writers that go by it still do.
    /// </summary>
    public static string TemporaryPath(string path) => $"{path}.{Environment.ProcessId}.tmp{Path.GetExtension(path)}";

    /// <summary>
    /// Lets <paramref name="write"/> produce <see cref="TemporaryPath"/>, then renames it over <paramref name="path"/>;
    /// a failure leaves no temporary file behind.
    /// </summary>
    public static void Write(string path, Action<string> write) => Write(path, TemporaryPath(path), write);

    /// <summary>
    /// Lets <paramref name="write"/> produce <paramref name="temporary"/> (a name of this process's own, in the folder of
    /// <paramref name="path"/>), then renames it over <paramref name="path"/>; a failure leaves no temporary file behind.
    /// </summary>
    public static void Write(string path, string temporary, Action<string> write)
    {
        try
        {
            write(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>Atomic <see cref="File.WriteAllText(string, string?)"/>.</summary>
    public static void WriteAllText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));
}
