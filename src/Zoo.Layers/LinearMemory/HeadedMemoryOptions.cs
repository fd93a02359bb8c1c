using Zoo.Core.Options;

namespace Zoo.Layers.LinearMemory;

/// <summary>
/// Heads, per-head dims and parallel form shared by the matrix-memory layers that have an options record of their
/// own (KDA, Gated DeltaProduct, Gated KalmaNet, RWKV-7), so each spells and validates them the same way. The fields
/// bind as the layer's own (a suite writes <c>{"heads": 4, "key_dim": 16}</c>); the layers built on
/// <see cref="LinearMemoryOptions"/> have the same fields there. That record keeps its own declarations: deriving it
/// from this one would reorder its fields, and the field order is part of every committed config hash.
/// </summary>
public abstract record HeadedMemoryOptions : IValidatableOptions
{
    /// <summary>Number of heads, each with a key_dim × value_dim state.</summary>
    [Option("number of heads, each with a key_dim × value_dim state", Min = 1)]
    public int Heads { get; init; } = 2;

    /// <summary>Key (and query) dim per head; 0 means d_model / heads.</summary>
    [Option("key/query dim per head (0 = d_model / heads)", Min = 0)]
    public int KeyDim { get; init; }

    /// <summary>Value dim per head; 0 means d_model / heads.</summary>
    [Option("value dim per head (0 = d_model / heads)", Min = 0)]
    public int ValueDim { get; init; }

    /// <summary>Parallel form used by Forward.</summary>
    [Option("parallel form: chunked or the per-token reference loop")]
    public MemoryForm Form { get; init; } = MemoryForm.Chunked;

    /// <summary>Key dim for width <paramref name="dModel"/>.</summary>
    public int KeyDimFor(int dModel) => HeadDims.Resolve(KeyDim, dModel, Heads);

    /// <summary>Value dim for width <paramref name="dModel"/>.</summary>
    public int ValueDimFor(int dModel) => HeadDims.Resolve(ValueDim, dModel, Heads);

    /// <inheritdoc />
    public virtual IEnumerable<(string Field, string Message)> Validate(int dModel) => HeadDims.Check(dModel, Heads, KeyDim, ValueDim);
}

/// <summary><see cref="HeadedMemoryOptions"/> with the short causal convolution + SiLU on q, k, v of Zoo's delta layers.</summary>
public abstract record ConvolvedMemoryOptions : HeadedMemoryOptions
{
    /// <summary>Short causal depthwise convolution + SiLU on q, k, v.</summary>
    [Option("short causal depthwise conv + SiLU on q, k, v")]
    public bool ShortConv { get; init; } = true;

    /// <summary>Kernel size of the short convolution.</summary>
    [Option("short conv kernel size", Min = 1, Max = 16)]
    public int ConvSize { get; init; } = 4;

    /// <summary>The <see cref="MemoryFeatures"/> options these fields give at width <paramref name="dModel"/> (dims resolved).</summary>
    internal LinearMemoryOptions Features(int dModel) => new()
    {
        Heads = Heads, KeyDim = KeyDimFor(dModel), ValueDim = ValueDimFor(dModel), ShortConv = ShortConv, ConvSize = ConvSize,
    };
}
