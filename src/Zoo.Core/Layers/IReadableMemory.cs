using static TorchSharp.torch;

namespace Zoo.Core.Layers;

/// <summary>
/// A sequence layer whose memory can be read with any queries: what Memory Caching (Behrouz et al. 2026,
/// arXiv 2602.24281) needs to cache a segment's final memory and read it later. The layer's forward splits into
/// <see cref="Memorize"/> (update the memory, read it online) and <see cref="Output"/> (the output stage), with
/// <see cref="Read"/> and <see cref="ReadMixture"/> reading stored memories. Reads are per head: [B, H, L, V].
/// </summary>
public interface IReadableMemory
{
    /// <summary>Runs the memory over x [B, L, D] from <paramref name="state"/>: online reads, the queries used, and the final state.</summary>
    (Tensor Reads, Tensor Queries, LayerState State) Memorize(Tensor x, LayerState? state);

    /// <summary>Reads a memory state this layer produced with <paramref name="queries"/> (as returned by <see cref="Memorize"/>).</summary>
    Tensor Read(LayerState memory, Tensor queries);

    /// <summary>
    /// Reads one memory whose parameters are, per token, Σ_i w_ti M⁽ⁱ⁾ (the "memory soup"); <paramref name="weights"/> [B, L, N].
    /// For a memory linear in its parameters this equals Σ_i w_ti Read(M⁽ⁱ⁾, q_t).
    /// </summary>
    Tensor ReadMixture(IReadOnlyList<LayerState> memories, Tensor weights, Tensor queries);

    /// <summary>The output stage: reads [B, H, L, V] and the layer input x [B, L, D] → y [B, L, D].</summary>
    Tensor Output(Tensor reads, Tensor x);
}
