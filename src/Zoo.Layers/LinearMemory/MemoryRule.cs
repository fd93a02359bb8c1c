namespace Zoo.Layers.LinearMemory;

/// <summary>How a matrix memory is written (see <see cref="GatedDelta"/>).</summary>
public enum MemoryRule
{
    /// <summary>S_t = α_t (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ (Gated DeltaNet).</summary>
    GatedDelta,
    /// <summary>S_t = (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ (DeltaNet).</summary>
    Delta,
    /// <summary>S_t = S_{t−1} + k_t v_tᵀ (linear attention).</summary>
    LinearAttention,
    /// <summary>S_t = α_t S_{t−1} + k_t v_tᵀ (scalar-gated linear attention).</summary>
    SimpleGla,
}

/// <summary>What each <see cref="MemoryRule"/> learns.</summary>
public static class MemoryRules
{
    /// <summary>Delta-rule erase, learned decay α, learned write strength β.</summary>
    public static (bool Erase, bool Decay, bool WriteStrength) Parts(this MemoryRule rule) => rule switch
    {
        MemoryRule.GatedDelta => (true, true, true),
        MemoryRule.Delta => (true, false, true),
        MemoryRule.LinearAttention => (false, false, false),
        MemoryRule.SimpleGla => (false, true, false),
        _ => throw new ArgumentOutOfRangeException(nameof(rule)),
    };
}
