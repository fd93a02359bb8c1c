using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;
using static TorchSharp.torch;

namespace Zoo.Tasks.Timescales;

/// <summary>How a <see cref="TimescaleCurriculum"/> asks about the timescales.</summary>
public enum CurriculumHeads
{
    /// <summary>One readout, trained on the current N only and re-used as N rises.</summary>
    Single,
    /// <summary>One readout per n = 1 … N, all trained at once; a new one joins as N rises.</summary>
    Multi,
}

/// <summary>Options of <see cref="TimescaleCurriculum"/>.</summary>
public sealed record TimescaleCurriculumOptions : IValidatableOptions
{
    /// <summary>Which question.</summary>
    [Option("parity of the last N bits, or whether the bit N steps back matches the current one")]
    public TimescaleRule Rule { get; init; } = TimescaleRule.Parity;

    /// <summary>Single- or multi-head curriculum.</summary>
    [Option("single: one readout for the current N; multi: one readout per n ≤ N, all trained at once")]
    public CurriculumHeads Heads { get; init; } = CurriculumHeads.Single;

    /// <summary>First N.</summary>
    [Option("first N of the curriculum", Min = 1)]
    public int StartN { get; init; } = 2;

    /// <summary>Last N; the multi-head readout has one head per n ≤ max_n (heads above the current N are masked).</summary>
    [Option("last N (training stops once it is passed); multi-head models get 2·max_n outputs", Min = 1, Max = 1000)]
    public int MaxN { get; init; } = 32;

    /// <summary>Test accuracy at which N rises (multi-head: every head n ≤ N).</summary>
    [Option("test accuracy at which N rises (multi-head: every head n ≤ N must reach it)", Min = 0, Max = 1, MinExclusive = true)]
    public double Threshold { get; init; } = 0.9;

    /// <summary>Sequence length.</summary>
    [Option("sequence length (> max_n)", Min = 2)]
    public int Length { get; init; } = 64;

    /// <summary>Test set size.</summary>
    [Option("test examples", Min = 1)]
    public int TestExamples { get; init; } = 512;

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (StartN > MaxN) yield return ("start_n", $"{StartN} is above max_n {MaxN}; allowed: 1 … {MaxN}");
        if (Length <= MaxN) yield return ("length", $"{Length} leaves no labelled step at N = {MaxN}; allowed: > {MaxN}");
    }
}

/// <summary>
/// The N-parity / N-DMS curricula (docs/architecture.md, 'Task sources'; Khajehabdollahi, Zeraati, Giannakakis, Schäfer, Martius, Levina 2024,
/// "Emergent mechanisms for long timescales depend on training curriculum and affect performance in memory tasks",
/// arXiv 2309.12927) on <see cref="BinaryTimescales"/>' bit streams. Single-head: the model is trained on N; once its
/// test accuracy reaches the threshold, N rises by one, the same readout now answering for the new N. Multi-head: the
/// model has one binary readout per n = 1 … max_n and is trained on all n ≤ N at once (heads above N are masked out of
/// loss and metrics); N rises once every active head reaches the threshold. The run reports <c>max_n</c>, the largest N
/// passed within the step budget (start_n − 1 when none). Chance is 1/2 per head.
/// </summary>
[ZooTask("timescale-curriculum", typeof(TimescaleCurriculumOptions), Summary = "N-parity / N-DMS curricula, single- vs multi-head: largest N passed (max_n)")]
public sealed class TimescaleCurriculum : ICurriculumTask
{
    private readonly TimescaleCurriculumOptions _o;

    /// <summary>Builds the curriculum at its first level.</summary>
    public TimescaleCurriculum(TimescaleCurriculumOptions options) : this(options, options.StartN) { }

    private TimescaleCurriculum(TimescaleCurriculumOptions options, int n) => (_o, Level) = (options, n);

    /// <inheritdoc />
    public int Level { get; }

    /// <inheritdoc />
    public string LevelMetric => "max_n";

    /// <summary>Binary readouts the model has: one, or one per n ≤ max_n.</summary>
    public int Heads => _o.Heads == CurriculumHeads.Multi ? _o.MaxN : 1;

    /// <inheritdoc />
    public TaskSignature Signature => new(2, 0, 2 * Heads, _o.Length);

    /// <inheritdoc />
    public string PrimaryMetric => "accuracy";

    /// <inheritdoc />
    public bool HigherIsBetter => true;

    /// <inheritdoc />
    public int TestExamples => _o.TestExamples;

    /// <summary>The timescale head <paramref name="head"/> answers for at this level.</summary>
    private int TimescaleOf(int head) => _o.Heads == CurriculumHeads.Multi ? head + 1 : Level;

    /// <summary>Inputs [B, L]; targets and mask [B, L, heads] (a head above the current N is masked everywhere).</summary>
    public TaskBatch Batch(Split split, long seed, long firstExample, int count)
    {
        int l = _o.Length, h = Heads;
        var tokens = new long[count * l];
        var labels = Enumerable.Repeat(TokenExamples.Ignore, count * l * h).ToArray();
        for (int b = 0; b < count; b++)
        {
            var bits = BinaryTimescales.Bits(seed, split, firstExample + b, l);
            bits.CopyTo(tokens, b * l);
            for (int head = 0; head < h && TimescaleOf(head) <= Level; head++)
            {
                var y = BinaryTimescales.Labels(_o.Rule, bits, TimescaleOf(head));
                for (int t = 0; t < l; t++) labels[(b * l + t) * h + head] = y[t];
            }
        }
        using var raw = tensor(labels, new long[] { count, l, h });
        return new TaskBatch(tensor(tokens, new long[] { count, l }), raw.clamp_min(0), raw.ne(TokenExamples.Ignore));
    }

    /// <summary>Mean cross-entropy over every unmasked (step, head).</summary>
    public Tensor Loss(Tensor output, TaskBatch batch)
    {
        using var scope = NewDisposeScope();
        var targets = batch.Targets.masked_fill(batch.Mask.logical_not(), TokenExamples.Ignore);
        var loss = nn.functional.cross_entropy(output.reshape(-1, 2), targets.flatten(), ignore_index: TokenExamples.Ignore);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary><c>accuracy</c> over every unmasked (step, head) and, multi-head, <c>accuracy_n{n}</c> per active head.</summary>
    public IReadOnlyDictionary<string, MetricTally> Metrics(Tensor output, TaskBatch batch)
    {
        using var scope = NewDisposeScope();
        var shape = batch.Targets.shape;
        var correct = output.reshape(shape[0], shape[1], shape[2], 2).argmax(-1).eq(batch.Targets).logical_and(batch.Mask);
        var perHeadCorrect = correct.sum(new long[] { 0, 1 }).data<long>().ToArray();
        var perHeadCount = batch.Mask.sum(new long[] { 0, 1 }).data<long>().ToArray();
        var metrics = new Dictionary<string, MetricTally> { [PrimaryMetric] = new(perHeadCorrect.Sum(), perHeadCount.Sum()) };
        if (_o.Heads == CurriculumHeads.Multi)
            for (int head = 0; TimescaleOf(head) <= Level; head++)
                metrics[$"accuracy_n{TimescaleOf(head)}"] = new(perHeadCorrect[head], perHeadCount[head]);
        return metrics;
    }

    /// <inheritdoc />
    public bool Passed(IReadOnlyDictionary<string, double> testMetrics) =>
        _o.Heads == CurriculumHeads.Multi
            ? Enumerable.Range(1, Level).All(n => testMetrics[$"accuracy_n{n}"] >= _o.Threshold)
            : testMetrics[PrimaryMetric] >= _o.Threshold;

    /// <inheritdoc />
    public ICurriculumTask? Next() => Level < _o.MaxN ? new TimescaleCurriculum(_o, Level + 1) : null;
}
