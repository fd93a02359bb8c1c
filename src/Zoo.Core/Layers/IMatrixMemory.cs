using static TorchSharp.torch;

namespace Zoo.Core.Layers;

/// <summary>
/// A readable memory that is one matrix per head, read linearly: Read(M, q) = q S with S [B, H, K, V]. A wrapper that
/// keeps many such memories (Memory Caching) can then sum them once instead of reading each (Σ_i q S⁽ⁱ⁾ = q Σ_i S⁽ⁱ⁾),
/// read them all in one matrix product, or gather only the ones each token selects.
/// </summary>
public interface IMatrixMemory : IReadableMemory
{
    /// <summary>The matrix S [B, H, K, V] of a memory state this layer produced; <see cref="IReadableMemory.Read"/> is q S.</summary>
    Tensor Matrix(LayerState memory);
}
