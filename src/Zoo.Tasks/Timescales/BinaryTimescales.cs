using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Tasks.Timescales;

/// <summary>What the binary-stream task asks about the last N inputs.</summary>
public enum TimescaleRule
{
    /// <summary>N-parity: the parity of x_{t−N+1} … x_t.</summary>
    Parity,
    /// <summary>N-DMS (delayed match to sample): whether x_{t−N} equals x_t.</summary>
    DelayedMatch,
}

/// <summary>Options of <see cref="BinaryTimescales"/>.</summary>
public sealed record BinaryTimescalesOptions
{
    /// <summary>Which question.</summary>
    [Option("parity of the last N bits, or whether the bit N steps back matches the current one")]
    public TimescaleRule Rule { get; init; } = TimescaleRule.Parity;

    /// <summary>Timescale N.</summary>
    [Option("timescale N", Min = 1, Max = 1000)]
    public int N { get; init; } = 2;

    /// <summary>Sequence length.</summary>
    [Option("sequence length", Min = 2)]
    public int Length { get; init; } = 64;

    /// <summary>Test set size.</summary>
    [Option("test examples", Min = 1)]
    public int TestExamples { get; init; } = 1000;
}

/// <summary>
/// Long-timescale binary-stream tasks (N-parity and N-DMS, the curricula of work on RNN timescales): a stream of random
/// bits; from the first position where the answer is defined, the target is the parity of the last N bits or whether
/// the bit N steps back equals the current one. Chance is 1/2.
/// </summary>
[ZooTask("binary-timescales", typeof(BinaryTimescalesOptions), Summary = "N-parity and N-DMS on a random bit stream")]
public sealed class BinaryTimescales : TokenTask, IChanceLevel
{
    /// <summary>Accuracy of an uninformed predictor: binary labels.</summary>
    public double Chance => 0.5;

    private readonly BinaryTimescalesOptions _o;

    /// <summary>Builds the task.</summary>
    public BinaryTimescales(BinaryTimescalesOptions options) => _o = options;

    /// <inheritdoc />
    public override TaskSignature Signature => new(2, 0, 2, _o.Length);

    /// <inheritdoc />
    public override int TestExamples => _o.TestExamples;

    /// <inheritdoc />
    public override (long[] Tokens, long[] Labels) Example(long seed, Split split, long index)
    {
        var bits = Bits(seed, split, index, _o.Length);
        return (bits, Labels(_o.Rule, bits, _o.N));
    }

    /// <summary>The random bit stream of example <paramref name="index"/> (the same for every N, so curricula share it).</summary>
    public static long[] Bits(long seed, Split split, long index, int length)
    {
        var rng = ExampleStream(seed, split, index);
        return Enumerable.Range(0, length).Select(_ => (long)rng.NextInt(2)).ToArray();
    }

    /// <summary>
    /// Labels of <paramref name="bits"/> for timescale <paramref name="n"/>: from the first position where the answer is
    /// defined, the parity of the last n bits or whether the bit n steps back matches; −100 before.
    /// </summary>
    public static long[] Labels(TimescaleRule rule, long[] bits, int n)
    {
        var labels = TokenExamples.Unscored(bits.Length);
        long ones = 0;                                   // ones among the last n bits (a running window)
        for (int t = 0; t < bits.Length; t++)
        {
            ones += bits[t] - (t >= n ? bits[t - n] : 0);
            if (rule == TimescaleRule.Parity && t >= n - 1)
                labels[t] = ones % 2;
            else if (rule == TimescaleRule.DelayedMatch && t >= n)
                labels[t] = bits[t - n] == bits[t] ? 1 : 0;
        }
        return labels;
    }
}
