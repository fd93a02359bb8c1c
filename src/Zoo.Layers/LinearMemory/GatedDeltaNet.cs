using Zoo.Core.Registry;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// Gated DeltaNet (Yang, Kautz, Hatamizadeh 2024, arXiv 2412.06464): S_t = α_t S_{t−1}(I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ,
/// o_t = S_t q_t, with data-dependent decay α and write strength β. Block structure: <see cref="LinearMemoryLayer"/>.
/// </summary>
[ZooLayer("gated-deltanet", typeof(LinearMemoryOptions), Summary = "Gated DeltaNet: gated delta rule, chunked WY form (Yang et al. 2024)")]
[ContractCase("{}")]
[ContractCase("{\"chunk_size\": 4}")]
[ContractCase("{\"heads\": 3, \"key_dim\": 5, \"value_dim\": 3, \"chunk_size\": 8, \"output_gate\": false}")]
[ContractCase("{\"form\": \"reference\", \"conv_size\": 2}")]
[ContractCase("{\"short_conv\": false, \"chunk_size\": 64}")]
[ContractCase("{\"heads\": 2, \"value_heads\": 4, \"chunk_size\": 8}")]
[ContractCase("{\"short_conv\": false, \"silu_without_conv\": true, \"allow_neg_eigval\": true, \"a_init_min\": 0, \"weight_init\": \"normal\", \"chunk_size\": 4}")]
public sealed class GatedDeltaNet : LinearMemoryLayer
{
    /// <summary>Builds the layer.</summary>
    public GatedDeltaNet(int dModel, LinearMemoryOptions options)
        : base("GatedDeltaNet", dModel, options, MemoryRule.GatedDelta) { }
}
