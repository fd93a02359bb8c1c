namespace Zoo.Testing;

/// <summary>Shapes and tolerance of the contract checks; the defaults keep a layer's checks well under a second.</summary>
public sealed record ContractSettings
{
    /// <summary>Layer width D.</summary>
    public int DModel { get; init; } = 12;

    /// <summary>Largest absolute difference (float64) allowed between two computations that must agree.</summary>
    public double Tolerance { get; init; } = 1e-10;

    /// <summary>Smallest output change that counts as "the perturbed token had an effect" in the causality check.</summary>
    public double MinEffect { get; init; } = 1e-8;

    /// <summary>Seed of the layer's parameters and the inputs (explicit generators; torch's global state is never touched).</summary>
    public ulong Seed { get; init; } = 1;
}
