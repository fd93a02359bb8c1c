using static TorchSharp.torch;

namespace Zoo.Core.Tasks;

/// <summary>Builds a token batch from per-example (tokens, labels) arrays; label −100 marks an unscored position.</summary>
public static class TokenExamples
{
    /// <summary>Ignored-label value (as in PyTorch's cross-entropy).</summary>
    public const long Ignore = -100;

    /// <summary>
    /// Examples <c>[first, first + count)</c> from <paramref name="example"/> (index → tokens [L], labels [L]) as a batch of
    /// token inputs [B, L], class targets [B, L] and the mask of scored positions.
    /// </summary>
    public static TaskBatch Batch(long first, int count, int length, Func<long, (long[] Tokens, long[] Labels)> example)
    {
        var tokens = new long[count * length];
        var labels = new long[count * length];
        for (int b = 0; b < count; b++)
        {
            var (x, y) = example(first + b);
            if (x.Length != length || y.Length != length)
                throw new InvalidOperationException($"example {first + b} has length {x.Length}/{y.Length}, expected {length}");
            x.CopyTo(tokens, b * length);
            y.CopyTo(labels, b * length);
        }
        using var raw = tensor(labels, new long[] { count, length });
        return new TaskBatch(tensor(tokens, new long[] { count, length }), raw.clamp_min(0), raw.ne(Ignore));
    }

    /// <summary>Labels of length <paramref name="length"/>, all ignored.</summary>
    public static long[] Unscored(int length) => Enumerable.Repeat(Ignore, length).ToArray();
}
