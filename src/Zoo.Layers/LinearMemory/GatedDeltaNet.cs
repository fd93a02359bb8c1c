using Zoo.Core.Registry;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// Gated DeltaNet (Yang, Kautz, Hatamizadeh 2024, arXiv 2412.06464): S_t = α_t S_{t−1}(I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ,
/// o_t = S_t q_t, with data-dependent decay α and write strength β. Block structure: <see cref="LinearMemoryLayer"/>.
/// </summary>
[ZooLayer("gated-deltanet", typeof(LinearMemoryOptions), Summary = "Gated DeltaNet: gated delta rule, chunked WY form (Yang et al. 2024)")]
public sealed class GatedDeltaNet : LinearMemoryLayer
{
    /// <summary>Builds the layer.</summary>
    public GatedDeltaNet(int dModel, LinearMemoryOptions options)
        : base("GatedDeltaNet", dModel, options, MemoryRule.GatedDelta) { }
}
