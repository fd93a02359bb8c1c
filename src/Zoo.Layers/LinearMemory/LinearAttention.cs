using Zoo.Core.Registry;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// Linear attention (Katharopoulos et al. 2020) with L2-normalised q, k as the feature map and per-head RMSNorm in
/// place of the denominator: S_t = S_{t−1} + v_t k_tᵀ.
/// </summary>
[ZooLayer("linear-attention", typeof(LinearMemoryOptions), Summary = "linear attention: additive memory, no decay")]
[ContractCase("{}")]
[ContractCase("{\"chunk_size\": 4}")]
public sealed class LinearAttention : LinearMemoryLayer
{
    /// <summary>Builds the layer.</summary>
    public LinearAttention(int dModel, LinearMemoryOptions options)
        : base("LinearAttention", dModel, options, MemoryRule.LinearAttention) { }
}
