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

/// <summary>How a matrix-memory layer's projection and conv weights are initialised.</summary>
public enum WeightInit
{
    /// <summary>TorchSharp's defaults (Kaiming-uniform linear weights), Zoo's choice before fla parity was offered.</summary>
    Library,
    /// <summary>N(0, 0.02) for every linear and conv weight, as fla's models initialise them (initializer_range 0.02).</summary>
    Normal,
}

/// <summary>
/// Options shared by the matrix-memory layers (Gated DeltaNet, DeltaNet, linear attention, Simple GLA, each memory of
/// Mixture-of-Memories). The last five are fla's <c>GatedDeltaNet</c> choices where Zoo's defaults differ; Zoo keeps its
/// own defaults so committed results stay comparable, and a port from fla sets <c>a_init_min: 0, weight_init: normal,
/// silu_without_conv: true</c> (and <c>value_dim</c> = 2 × key dim for fla's <c>expand_v</c> 2).
/// </summary>
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

    /// <summary>
    /// Lower end of the decay rate's initialisation, A ~ U(a_init_min, 16) (A_log = log A). Zoo keeps Mamba-2's 1;
    /// fla's GatedDeltaNet draws from U(0, 16), so some heads start with almost no decay.
    /// </summary>
    [Option("decay rate A ~ U(a_init_min, 16) at initialisation (Zoo, Mamba-2: 1; fla: 0)", Min = 0, Max = 16, MaxExclusive = true, AddedLater = true)]
    public double AInitMin { get; init; } = 1;

    /// <summary>Initialisation of the projection and conv weights.</summary>
    [Option("projection and conv weight initialisation (library: TorchSharp's defaults; normal: N(0, 0.02) as fla)", AddedLater = true)]
    public WeightInit WeightInit { get; init; } = WeightInit.Library;

    /// <summary>
    /// With <see cref="ShortConv"/> off, still apply SiLU to q, k, v (fla does; Zoo's default applies nothing, so
    /// short_conv: false removes the conv and its activation together).
    /// </summary>
    [Option("apply SiLU to q, k, v when short_conv is off (fla: true)", AddedLater = true)]
    public bool SiluWithoutConv { get; init; }

    /// <summary>
    /// β = 2σ(W_β x) ∈ (0, 2) instead of σ(·) ∈ (0, 1): the transition I − β k kᵀ then has eigenvalues in (−1, 1],
    /// which lets a delta-rule memory track parity-like state (Grazzi et al. 2025; fla's <c>allow_neg_eigval</c>).
    /// </summary>
    [Option("write strength β = 2σ(·) ∈ (0, 2): negative eigenvalues of I − β k kᵀ (fla: allow_neg_eigval)", AddedLater = true)]
    public bool AllowNegEigval { get; init; }

    /// <summary>
    /// Value heads (fla's <c>num_v_heads</c>, grouped value attention): that many states of key_dim × value_dim, each
    /// group of value_heads / heads sharing one query and key head, with its own value, β, decay and output gate.
    /// 0 means one value head per head (Zoo's and fla's default). The state grows with it; the q/k projections do not.
    /// </summary>
    [Option("value heads, a multiple of heads: groups of value heads share a q/k head (fla: num_v_heads; 0 = heads)", Min = 0, AddedLater = true)]
    public int ValueHeads { get; init; }

    /// <summary>Value heads: <see cref="ValueHeads"/>, or <see cref="Heads"/> when 0.</summary>
    public int ValueHeadCount => ValueHeads > 0 ? ValueHeads : Heads;

    /// <summary>Key dim for width <paramref name="dModel"/>.</summary>
    public int KeyDimFor(int dModel) => HeadDims.Resolve(KeyDim, dModel, Heads);

    /// <summary>Value dim for width <paramref name="dModel"/>.</summary>
    public int ValueDimFor(int dModel) => HeadDims.Resolve(ValueDim, dModel, Heads);

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        foreach (var problem in HeadDims.Check(dModel, Heads, KeyDim, ValueDim)) yield return problem;
        if (ValueHeads > 0 && ValueHeads % Heads != 0)
            yield return ("value_heads", $"{ValueHeads} is not a multiple of heads {Heads}; allowed: 0 or a multiple of {Heads}");
    }
}
