using static TorchSharp.torch;

namespace Zoo.Core.Layers;

/// <summary>
/// A memory that reads Memory Caching's soup with its online memory inside the mixture, as the paper defines the
/// soup (arXiv 2602.24281, §3): token t reads one memory whose parameters are w_t,online · M_t + Σ_i w_ti M⁽ⁱ⁾, M_t
/// the online memory after token t. For a memory linear in its parameters that is the weighted sum of reads, which
/// <see cref="IReadableMemory.ReadMixture"/> already gives; a nonlinear memory (Titans' MLP) needs its per-token
/// parameters during the read, so it implements this.
/// </summary>
public interface ISoupMemory : IReadableMemory
{
    /// <summary>
    /// <see cref="IReadableMemory.Memorize"/> whose reads are the soup's: <paramref name="weights"/> [B, L, N + 1] are
    /// the mixture weights of the N cached <paramref name="memories"/> and, last, of the online memory.
    /// </summary>
    (Tensor Reads, Tensor Queries, LayerState State) MemorizeSoup(Tensor x, LayerState? state, IReadOnlyList<LayerState> memories, Tensor weights);
}
