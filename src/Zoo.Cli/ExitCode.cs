namespace Zoo.Cli;

/// <summary>Exit codes, as the README lists them.</summary>
public static class ExitCode
{
    /// <summary>Everything done.</summary>
    public const int Ok = 0;
    /// <summary>zoo run: a run ended in error or oom (its row is written, the suite went on); zoo doctor: libtorch did not load.</summary>
    public const int RunFailed = 1;
    /// <summary>Bad input (suite, options, results file, checkpoint, arguments): nothing trained, nothing written.</summary>
    public const int Config = 2;
    /// <summary>zoo merge: rows with the same config hash disagree.</summary>
    public const int Conflicts = 3;
    /// <summary>A file could not be read or written (permissions, disk full, a CSV another program broke).</summary>
    public const int FileSystem = 4;
    /// <summary>libtorch failed (native error, allocation failure).</summary>
    public const int Torch = 5;
    /// <summary>Anything else: a bug in Zoo; please report it with the <c>--verbose</c> trace.</summary>
    public const int Internal = 6;
}
