using Zoo.Core.Options;

namespace Zoo.Layers.LinearMemory;

/// <summary>Which form of the <see cref="GatedDelta"/> op a layer's parallel forward uses.</summary>
public enum MemoryForm
{
    /// <summary>Chunkwise-parallel WY form (fast).</summary>
    Chunked,
    /// <summary>Per-token reference loop (slow; for checks and benchmarks).</summary>
    Reference,
}

/// <summary>Options shared by the matrix-memory layers (Gated DeltaNet, DeltaNet, linear attention, Simple GLA).</summary>
public sealed record LinearMemoryOptions : IValidatableOptions
{
    /// <summary>Number of heads, each with its own K×V state.</summary>
    [Option("number of heads, each with a key_dim × value_dim state", Min = 1)]
    public int Heads { get; init; } = 2;

    /// <summary>Key (and query) dimension per head; 0 means d_model / heads.</summary>
    [Option("key/query dim per head (0 = d_model / heads)", Min = 0)]
    public int KeyDim { get; init; }

    /// <summary>Value dimension per head; 0 means d_model / heads.</summary>
    [Option("value dim per head (0 = d_model / heads)", Min = 0)]
    public int ValueDim { get; init; }

    /// <summary>Chunk size C of the chunked form.</summary>
    [Option("chunk size C of the chunked form", Min = 1, Max = 1024)]
    public int ChunkSize { get; init; } = 64;

    /// <summary>Short causal depthwise convolution + SiLU on q, k, v.</summary>
    [Option("short causal depthwise conv + SiLU on q, k, v")]
    public bool ShortConv { get; init; } = true;

    /// <summary>Kernel size of the short convolution.</summary>
    [Option("short conv kernel size", Min = 1, Max = 16)]
    public int ConvSize { get; init; } = 4;

    /// <summary>Output gate: per-head RMSNorm(o) ⊙ SiLU(W_g x); off leaves RMSNorm(o).</summary>
    [Option("output gate SiLU(W_g x) after the per-head RMSNorm")]
    public bool OutputGate { get; init; } = true;

    /// <summary>Parallel form used by Forward.</summary>
    [Option("parallel form of the op")]
    public MemoryForm Form { get; init; } = MemoryForm.Chunked;

    /// <summary>Key dim for width <paramref name="dModel"/>.</summary>
    public int KeyDimFor(int dModel) => HeadDims.Resolve(KeyDim, dModel, Heads);

    /// <summary>Value dim for width <paramref name="dModel"/>.</summary>
    public int ValueDimFor(int dModel) => HeadDims.Resolve(ValueDim, dModel, Heads);

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel) => HeadDims.Check(dModel, Heads, KeyDim, ValueDim);
}
