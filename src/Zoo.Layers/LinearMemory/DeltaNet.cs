using Zoo.Core.Registry;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// DeltaNet (Schlag et al. 2021; Yang et al. 2024, "Parallelizing Linear Transformers with the Delta Rule"):
/// the delta rule without decay, S_t = S_{t−1}(I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ (Gated DeltaNet with α = 1).
/// </summary>
[ZooLayer("deltanet", typeof(LinearMemoryOptions), Summary = "DeltaNet: delta rule without decay (α = 1)")]
[ContractCase("{}")]
[ContractCase("{\"chunk_size\": 4}")]
public sealed class DeltaNet : LinearMemoryLayer
{
    /// <summary>Builds the layer.</summary>
    public DeltaNet(int dModel, LinearMemoryOptions options)
        : base("DeltaNet", dModel, options, MemoryRule.Delta) { }
}
