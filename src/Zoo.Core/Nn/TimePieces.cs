using static TorchSharp.torch;

namespace Zoo.Core.Nn;

/// <summary>
/// Cuts a time axis into the pieces a chunk or segment loop walks, with one <c>split</c>.
/// </summary>
/// <remarks>
/// Loops take their pieces from here (or from <c>unbind</c>) rather than indexing <c>x[.., t0..t1]</c> inside the
/// loop: the backward of every slice or select materialises a zero gradient the size of the whole input and copies its
/// piece in, so a loop over L/C pieces costs O(L²/C) in the backward pass, which dominated training at L ≥ 4096.
/// A split's backward concatenates the pieces' gradients once, keeping the loop linear in L.
/// </remarks>
public static class TimePieces
{
    /// <summary>
    /// Lengths of the pieces of an axis of <paramref name="length"/> steps that starts <paramref name="phase"/> steps
    /// into a period of <paramref name="period"/>: the rest of the current period, then whole periods, then the rest.
    /// </summary>
    public static long[] Lengths(long length, long phase, long period)
    {
        var sizes = new List<long>();
        for (long t = 0; t < length;)
        {
            long n = Math.Min(length - t, period - (phase + t) % period);
            sizes.Add(n);
            t += n;
        }
        return sizes.ToArray();
    }

    /// <summary>The pieces of <paramref name="x"/> along <paramref name="dim"/> with <see cref="Lengths"/>.</summary>
    public static Tensor[] Split(Tensor x, long dim, long phase, long period) =>
        x.shape[dim] == 0 ? Array.Empty<Tensor>() : x.split(Lengths(x.shape[dim], phase, period), dim);
}
