using System.CommandLine;

namespace Zoo.Cli;

/// <summary>
/// What every command shares: where it writes, whether the progress line is redrawn, and the guard that turns an
/// exception into one error line and a documented exit code.
/// </summary>
/// <param name="Out">Standard output.</param>
/// <param name="Err">Error output (one-line errors, notes).</param>
/// <param name="Live">Redraw a progress line (a terminal) instead of printing a line per evaluation.</param>
/// <param name="Guard">Runs a command's action, mapping its exceptions to <see cref="ExitCode"/>s.</param>
internal sealed record CliContext(TextWriter Out, TextWriter Err, bool Live, Func<ParseResult, Func<int>, int> Guard)
{
    /// <summary>A note about input that was accepted but looks off (e.g. a CSV repaired on read).</summary>
    public void Note(string message) => Err.WriteLine("zoo: note: " + message);
}
