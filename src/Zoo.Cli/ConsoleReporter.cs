using System.Diagnostics;
using Zoo.Runner;
using Zoo.Runner.Results;
using Zoo.Runner.Suites;
using Zoo.Runner.Training;

namespace Zoo.Cli;

/// <summary>
/// Progress on the console: a live, rewritten status line on a terminal; plain lines (one per evaluation) when
/// output is redirected to a file or a CI log.
/// </summary>
public sealed class ConsoleReporter : IRunReporter
{
    private readonly TextWriter _out;
    private readonly bool _live;
    private readonly Stopwatch _clock = new();
    private readonly Stopwatch _sinceDraw = Stopwatch.StartNew();
    private string _prefix = "";
    private double? _lastMetric;

    /// <summary>Writes to <paramref name="output"/>; <paramref name="live"/> rewrites one status line (a terminal).</summary>
    public ConsoleReporter(TextWriter output, bool live) => (_out, _live) = (output, live);

    /// <inheritdoc />
    public void SuitePlanned(int total, int pending)
    {
        if (pending < total) _out.WriteLine($"{total - pending} of {total} runs already have results (use --force to re-run them); {pending} to run");
    }

    /// <inheritdoc />
    public void RunStarted(int index, int total, RunSpec run)
    {
        _prefix = $"[{index}/{total}] {run.DisplayName} · {run.Task} · seed {run.Seed}";
        _lastMetric = null;
        _clock.Restart();
        _out.WriteLine($"{_prefix}: {run.Train.Steps} steps, d_model {run.Model.DModel}, lr {run.Train.Lr:G3}, hash {run.ConfigHash}");
    }

    /// <inheritdoc />
    public void Progress(TrainProgress p)
    {
        double eta = p.Step == 0 ? 0 : _clock.Elapsed.TotalSeconds / p.Step * (p.Steps - p.Step);
        var metric = p.LastMetric is { } m ? $"{m:F3}" : "–";
        var line = $"{_prefix} step {p.Step}/{p.Steps} loss {p.Loss:F4} test {metric} {p.TokensPerSecond:F0} tok/s ETA {eta:F0}s";
        if (_live)
        {
            if (_sinceDraw.ElapsedMilliseconds < 250 && p.Step != p.Steps) return;
            _sinceDraw.Restart();
            var width = Math.Max(20, SafeWidth() - 1);
            _out.Write("\r" + (line.Length > width ? line[..width] : line.PadRight(width)));
        }
        else if (p.LastMetric != _lastMetric)
        {
            _lastMetric = p.LastMetric;
            _out.WriteLine(line);
        }
    }

    /// <inheritdoc />
    public void RunFinished(ResultRow row)
    {
        if (_live) _out.WriteLine();
        _out.WriteLine($"{_prefix}: {row.Status} {row.Metric} {row.Value:0.####}{(row.BestStep >= 0 ? $" (best at step {row.BestStep})" : "")}{(row.End is "target" or "plateau" or "cap" ? $", ended at {row.End}" : "")}, {row.TrainTokensPerSecond:F0} tok/s, {row.WallSeconds:F1}s{(row.Message.Length > 0 ? " — " + row.Message : "")}");
    }

    /// <inheritdoc />
    public void Note(string message) => _out.WriteLine(message);

    private static int SafeWidth()
    {
        try
        {
            return Console.WindowWidth > 0 ? Console.WindowWidth : 120;
        }
        catch (IOException)
        {
            return 120;
        }
    }
}
