using Zoo.Core.Registry;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// Gated linear attention with a data-dependent scalar decay per head (Simple GLA / RetNet-style gating; Yang et al.
/// 2023 use a per-key-dimension decay, which this is not): S_t = α_t S_{t−1} + v_t k_tᵀ.
/// </summary>
[ZooLayer("simple-gla", typeof(LinearMemoryOptions), Summary = "gated linear attention with a scalar data-dependent decay per head")]
[ContractCase("{}")]
[ContractCase("{\"chunk_size\": 4, \"heads\": 4}")]
public sealed class SimpleGla : LinearMemoryLayer
{
    /// <summary>Builds the layer.</summary>
    public SimpleGla(int dModel, LinearMemoryOptions options)
        : base("SimpleGla", dModel, options, MemoryRule.SimpleGla) { }
}
