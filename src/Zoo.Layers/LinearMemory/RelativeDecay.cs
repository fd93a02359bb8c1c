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
    /// M_pq = Σ_d x_p,id y_q,jd e^{G_id − G_jd} for j ≤ i, zero above the diagonal, from the stacked x [P, .., C, K] and
    /// y [Q, .., C, K] and the within-chunk cumulative log-decay G [.., C, K] (non-increasing along C), so that the decays
    /// are worked out once for every pair. Laid out [.., P, C_i, Q·C_j]: row i of x_p against [y_0 | y_1 | ..]. The
    /// diagonal sub-chunks have size <paramref name="subChunk"/> (at most C); a chunk that is not the sub-chunk times a
    /// power of two is padded inside (G's last value, zero x and y) and cut back.
    /// </summary>
    internal static Tensor Scores(Tensor x, Tensor y, Tensor g, int subChunk)
    {
        if (subChunk < 1) throw new ArgumentOutOfRangeException(nameof(subChunk));
        using var scope = NewDisposeScope();
        var outer = g.shape[..^2];
        long c = g.shape[^2], dk = g.shape[^1], p = x.shape[0], q = y.shape[0], batch = g.numel() / (c * dk);
        long sub = Math.Min(subChunk, c), blocks = 1;
        while (sub * blocks < c) blocks *= 2;
        long padded = sub * blocks;
        // Batch dims flattened: x [P, Bt, C, K], y [Q, Bt, C, K], g [Bt, C, K].
        (x, y, g) = (x.reshape(p, batch, c, dk), y.reshape(q, batch, c, dk), g.reshape(batch, c, dk));
        if (padded > c)
        {
            Tensor Zeros(Tensor t) => nn.functional.pad(t, new long[] { 0, 0, 0, padded - c });
            (x, y) = (Zeros(x), Zeros(y));
            g = cat(new[] { g, g.narrow(1, c - 1, 1).expand(batch, padded - c, dk) }, 1);
        }

        // Diagonal sub-chunks: relative decays [Bt, blocks, sub_i, 1, sub_j, K], masked before exp where j > i (both in place
        // on the difference, which no backward reads, so the pass allocates one such tensor, not three); then per i
        // [Q·sub_j, K] (y_j ⊙ R_ij) × [K, P] (x_i) → m [Bt, blocks, P, sub_i, Q, sub_j].
        var gb = g.view(batch, blocks, sub, dk);
        var mask = ones(sub, sub, dtype: ScalarType.Bool, device: g.device).triu(1).view(sub, 1, sub, 1);   // [sub_i, 1, sub_j, 1]
        var relative = (gb.view(batch, blocks, sub, 1, 1, dk) - gb.view(batch, blocks, 1, 1, sub, dk)).masked_fill_(mask, double.NegativeInfinity).exp_();
        var yR = y.view(q, batch, blocks, 1, sub, dk).permute(1, 2, 3, 0, 4, 5) * relative;           // [Bt, blocks, sub_i, Q, sub_j, K]
        var xT = x.view(p, batch, blocks, sub, dk).permute(1, 2, 3, 4, 0);                          // [Bt, blocks, sub_i, K, P]
        var m = yR.reshape(batch, blocks, sub, q * sub, dk).matmul(xT)                              // [Bt, blocks, sub_i, Q·sub_j, P]
            .view(batch, blocks, sub, q, sub, p).permute(0, 1, 5, 2, 3, 4);                         // [Bt, blocks, P, sub_i, Q, sub_j]

        // Merge pairs of blocks: [[M_P, 0], [off, M_Q]] with off = (x_Q ⊙ e^{G_Q − ρ}) (y_P ⊙ e^{ρ − G_P})ᵀ, all P × Q
        // pairs from one matmul [P·size, K] × [K, Q·size].
        for (long size = sub; blocks > 1; size *= 2, blocks /= 2)
        {
            var gPair = g.view(batch, blocks / 2, 2, size, dk);
            var (gFirst, gSecond) = (gPair.select(2, 0), gPair.select(2, 1));                          // [Bt, blocks/2, size, K]
            var rho = gFirst.narrow(-2, size - 1, 1);
            var rows = (x.view(p, batch, blocks / 2, 2, size, dk).select(3, 1) * (gSecond - rho).exp_())  // [P, Bt, blocks/2, size, K]
                .permute(1, 2, 0, 3, 4).reshape(batch, blocks / 2, p * size, dk);
            var cols = (y.view(q, batch, blocks / 2, 2, size, dk).select(3, 0) * (rho - gFirst).exp_())
                .permute(1, 2, 0, 3, 4).reshape(batch, blocks / 2, q * size, dk);
            var off = rows.matmul(cols.transpose(-1, -2)).view(batch, blocks / 2, p, size, q, size);
            var pairs = m.reshape(batch, blocks / 2, 2, p, size, q, size);
            var (mp, mq) = (pairs.select(2, 0), pairs.select(2, 1));
            m = cat(new[] { cat(new[] { mp, zeros_like(mp) }, -1), cat(new[] { off, mq }, -1) }, 3);   // [Bt, blocks/2, P, 2·size, Q, 2·size]
        }
        var result = m.reshape(batch, p, padded, q, padded);                                      // [Bt, P, C_i, Q, C_j]
        if (padded > c) result = result[.., .., ..(int)c, .., ..(int)c];
        var shape = new long[outer.Length + 3];
        (shape[^3], shape[^2], shape[^1]) = (p, c, q * c);
        Array.Copy(outer, 0, shape, 0, outer.Length);
        return result.reshape(shape).MoveToOuterDisposeScope();
    }
}
