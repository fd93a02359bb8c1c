using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// The within-chunk products with a relative decay per key dimension shared by the chunked forms of
/// <see cref="GatedDeltaPerChannel"/> and <see cref="GeneralizedDelta"/>: M_ij = Σ_d x_id y_jd e^{G_id − G_jd} for
/// j ≤ i, by secondary chunking instead of materialising e^{G_i − G_j} as a [C, C, K] tensor.
/// </summary>
/// <remarks>
/// Only the diagonal sub-chunks (size c) materialise their [c, c, K] relative decays. Above them the chunk is split in
/// halves, recursively: for i in the second half Q and j in the first half P of a block, with the reference point
/// ρ = G at P's last position, e^{G_i − G_j} = e^{G_i − ρ} · e^{ρ − G_j}, so that block is the plain product
/// (x_Q ⊙ e^{G_Q − ρ}) (y_P ⊙ e^{ρ − G_P})ᵀ (the GLA paper's secondary chunking, Yang et al. 2024 §4.2, halved
/// recursively). Both exponents are ≤ 0 because G is a cumulative log-decay (non-increasing), i comes after ρ and j
/// at or before it: nothing overflows, nothing is divided, and the result is exact. The relative decays then cost
/// B·H·L·K·(c + log₂(C/c)) numbers instead of B·H·L·K·C, and the rest is batched matmuls.
/// </remarks>
internal static class RelativeDecay
{
    /// <summary>
    /// M [.., C, C] (zero above the diagonal) from x, y [.., C, K] and the within-chunk cumulative log-decay G [.., C, K]
    /// (non-increasing along C). Leading dims broadcast: stack several x or y in leading dims to share the other side's
    /// work. The diagonal sub-chunks have size <paramref name="subChunk"/> (at most C); a chunk that is not the sub-chunk
    /// times a power of two is padded inside (G's last value, zero x and y) and cut back.
    /// </summary>
    internal static Tensor Scores(Tensor x, Tensor y, Tensor g, int subChunk)
    {
        if (subChunk < 1) throw new ArgumentOutOfRangeException(nameof(subChunk));
        using var scope = NewDisposeScope();
        long c = x.shape[^2];
        long sub = Math.Min(subChunk, c), blocks = 1;
        while (sub * blocks < c) blocks *= 2;
        long padded = sub * blocks;
        if (padded > c)
        {
            Tensor Zeros(Tensor t) => nn.functional.pad(t, new long[] { 0, 0, 0, padded - c });
            Tensor Edge(Tensor t) => cat(new[] { t, t.narrow(-2, c - 1, 1).expand(Shape(t, padded - c)) }, -2);
            (x, y, g) = (Zeros(x), Zeros(y), Edge(g));
        }

        // Diagonal sub-chunks: [.., blocks, sub_i, sub_j, K] relative decays, masked before exp where j > i.
        Tensor Split(Tensor t, long n) => Unflatten(t, 2, n, padded / n);
        var mask = ones(sub, sub, dtype: ScalarType.Bool, device: x.device).triu(1).unsqueeze(-1);
        var relative = (Split(g, blocks).unsqueeze(-2) - Split(g, blocks).unsqueeze(-3)).masked_fill(mask, double.NegativeInfinity).exp();
        var m = (Split(x, blocks).unsqueeze(-2) * (Split(y, blocks).unsqueeze(-3) * relative)).sum(-1);   // [.., blocks, sub, sub]

        // Merge pairs of blocks: [[M_P, 0], [off, M_Q]] with off = (x_Q ⊙ e^{G_Q − ρ}) (y_P ⊙ e^{ρ − G_P})ᵀ.
        for (long size = sub; blocks > 1; size *= 2, blocks /= 2)
        {
            Tensor Half(Tensor t, int which) => Unflatten(t, 2, blocks / 2, 2, size).select(-3, which);   // [.., blocks/2, size, K]
            var gP = Half(g, 0);
            var rho = gP.narrow(-2, size - 1, 1);
            var rows = Half(x, 1) * (Half(g, 1) - rho).exp();
            var cols = Half(y, 0) * (rho - gP).exp();
            var off = rows.matmul(cols.transpose(-1, -2));                                  // [.., blocks/2, size, size]
            var pairs = Unflatten(m, 3, blocks / 2, 2);
            var (mp, mq) = (pairs.select(-3, 0), pairs.select(-3, 1));
            off = off.expand(mq.shape);
            m = cat(new[] { cat(new[] { mp, zeros_like(mp) }, -1), cat(new[] { off, mq }, -1) }, -2);   // [.., blocks/2, 2·size, 2·size]
        }
        m = m.squeeze(-3);
        if (padded > c) m = m[TensorIndex.Ellipsis, ..(int)c, ..(int)c];
        return m.MoveToOuterDisposeScope();
    }

    /// <summary>unflatten of the dim <paramref name="fromEnd"/> from the end (TorchSharp's unflatten takes no negative dim).</summary>
    private static Tensor Unflatten(Tensor t, int fromEnd, params long[] sizes) => t.unflatten(t.dim() - fromEnd, sizes);

    private static long[] Shape(Tensor t, long along)
    {
        var shape = (long[])t.shape.Clone();
        shape[^2] = along;
        return shape;
    }
}
