namespace Zoo.Runner.Results;

/// <summary>Writes a file so that readers see the old or the new content, never a half-written one.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Lets <paramref name="write"/> produce a temporary file beside <paramref name="path"/> (same extension, so writers
    /// that go by it still do), then renames it over <paramref name="path"/>.
    /// </summary>
    public static void Write(string path, Action<string> write)
    {
        var tmp = path + ".tmp" + Path.GetExtension(path);
        write(tmp);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Atomic <see cref="File.WriteAllText(string, string?)"/>.</summary>
    public static void WriteAllText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));
}
