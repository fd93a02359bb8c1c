using Zoo.Core.Options;

namespace Zoo.Runner.Results;

/// <summary>
/// The one gate through which a user-given name (a suite or study name) becomes part of a file name: 1 to
/// <see cref="MaxLength"/> letters, digits, '-', '_' or '.', starting with a letter or digit. So a name can never
/// climb out of the output folder ('..'), hide a file ('.x'), name a folder ('a/b') or exceed the file system's limit.
/// </summary>
public static class SafeFileName
{
    /// <summary>Longest name allowed: leaves room for suffixes (shard, config hash, temporary names) within 255 bytes.</summary>
    public const int MaxLength = 100;

    /// <summary>The rule, as error messages state it.</summary>
    public static readonly string Rule = $"allowed: 1 to {MaxLength} letters, digits, '-', '_' or '.', starting with a letter or digit (it names files)";

    /// <summary>Null when <paramref name="name"/> is usable, else what is wrong with it.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "empty name";
        if (name.Length > MaxLength) return $"{name.Length} characters is too long";
        if (!char.IsAsciiLetterOrDigit(name[0])) return $"'{Shorten(name)}' does not start with a letter or digit";
        var bad = name.FirstOrDefault(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'));
        return bad == default ? null : $"'{Shorten(name)}' contains '{bad}'";
    }

    /// <summary>Returns <paramref name="name"/>, or throws a config error naming <paramref name="file"/> and <paramref name="field"/>.</summary>
    public static string Check(string? name, string? file, string field) =>
        Problem(name) is { } problem ? throw new ZooConfigException(file, field, $"{problem}; {Rule}") : name!;

    private static string Shorten(string name) => name.Length <= 40 ? name : name[..37] + "...";
}
