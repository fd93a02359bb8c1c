namespace Zoo.Core.Options;

/// <summary>
/// A configuration error a user can fix: names the file, the field (as a JSON path) and what is allowed.
/// The CLI prints <see cref="Exception.Message"/> on one line and exits with code 2.
/// </summary>
public sealed class ZooConfigException : Exception
{
    /// <summary>Creates the error; <paramref name="file"/> and <paramref name="field"/> may be null when unknown.</summary>
    public ZooConfigException(string? file, string? field, string problem)
        : base(Compose(file, field, problem))
    {
        File = file;
        Field = field;
        Problem = problem;
    }

    /// <summary>The file the bad value came from, when there is one.</summary>
    public string? File { get; }

    /// <summary>JSON path of the bad field, e.g. <c>layers[1].options.leak</c>.</summary>
    public string? Field { get; }

    /// <summary>What is wrong and what is allowed.</summary>
    public string Problem { get; }

    private static string Compose(string? file, string? field, string problem)
    {
        var where = string.Join(": ", new[] { file, field }.Where(s => !string.IsNullOrEmpty(s)));
        return where.Length == 0 ? problem : $"{where}: {problem}";
    }
}
