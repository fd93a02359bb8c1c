namespace Zoo.Core.Tasks;

/// <summary>Small, fast, reproducible generator (Steele, Lea, Flood 2014). Not for cryptography.</summary>
public sealed class SplitMix64
{
    private ulong _state;

    /// <summary>Starts the stream at <paramref name="seed"/>.</summary>
    public SplitMix64(ulong seed) => _state = seed;

    /// <summary>The SplitMix64 finaliser: a bijective 64-bit mix.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong Next() => Mix(_state += 0x9E37_79B9_7F4A_7C15UL);

    /// <summary>Uniform double in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        // Lemire's multiply-shift; the bias for n &lt; 2^31 is below 2^-32 and irrelevant here.
        return (int)(((Next() >> 32) * (ulong)n) >> 32);
    }

    /// <summary>Uniform integer in [lo, hi).</summary>
    public int NextInt(int lo, int hi) => lo + NextInt(hi - lo);

    /// <summary><paramref name="k"/> distinct integers from [lo, hi), in random order (partial Fisher–Yates).</summary>
    /// <remarks>
    /// The pool [lo, hi) is virtual: only positions a swap has moved are stored, so a draw costs O(k) rather than O(n)
    /// (MQAR at V 8,192 draws 64 keys from a pool of 4,096, twice per example). The values and their order are exactly
    /// those of swapping in a full array, which a test keeps as the reference.
    /// </remarks>
    public int[] Distinct(int lo, int hi, int k)
    {
        int n = hi - lo;
        if (k > n) throw new ArgumentException($"cannot draw {k} distinct values from {n}");
        var moved = new Dictionary<int, int>(2 * k);
        var drawn = new int[k];
        for (int i = 0; i < k; i++)
        {
            int j = i + NextInt(n - i);
            drawn[i] = moved.TryGetValue(j, out var atJ) ? atJ : lo + j;
            moved[j] = moved.TryGetValue(i, out var atI) ? atI : lo + i;   // position i is never drawn from again
        }
        return drawn;
    }

    /// <summary>
    /// <paramref name="k"/> distinct indices from [0, weights.Length) drawn without replacement with probability ∝ weight
    /// (sequential sampling, as numpy's <c>choice(replace=False, p=...)</c>).
    /// </summary>
    public int[] WeightedDistinct(double[] weights, int k)
    {
        var w = (double[])weights.Clone();
        var picked = new int[k];
        for (int i = 0; i < k; i++)
        {
            double total = w.Sum(), u = NextDouble() * total, acc = 0;
            int choice = -1;
            for (int j = 0; j < w.Length; j++)
            {
                if (w[j] <= 0) continue;
                acc += w[j];
                choice = j;
                if (u < acc) break;
            }
            if (choice < 0) throw new ArgumentException($"cannot draw {k} distinct values: too few non-zero weights");
            picked[i] = choice;
            w[choice] = 0;
        }
        return picked;
    }

    /// <summary>Standard normal sample (Box–Muller).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
