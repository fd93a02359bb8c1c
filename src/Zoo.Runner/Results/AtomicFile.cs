namespace Zoo.Runner.Results;

/// <summary>Writes a file so that readers see the old or the new content, never a half-written one.</summary>
public static class AtomicFile
{
    /// <summary>The temporary file <see cref="Write"/> writes beside <paramref name="path"/> (same extension, so writers that go by it still do).</summary>
    public static string TemporaryPath(string path) => path + ".tmp" + Path.GetExtension(path);

    /// <summary>
    /// Lets <paramref name="write"/> produce <see cref="TemporaryPath"/>, then renames it over <paramref name="path"/>;
    /// a failure leaves no temporary file behind.
    /// </summary>
    public static void Write(string path, Action<string> write)
    {
        var tmp = TemporaryPath(path);
        try
        {
            write(tmp);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Atomic <see cref="File.WriteAllText(string, string?)"/>.</summary>
    public static void WriteAllText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));
}
