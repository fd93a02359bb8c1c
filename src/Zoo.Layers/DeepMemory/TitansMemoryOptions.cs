using Zoo.Core.Options;
using Zoo.Layers.LinearMemory;

namespace Zoo.Layers.DeepMemory;

/// <summary>Which form of the <see cref="NeuralMemory"/> op a layer's parallel forward uses.</summary>
public enum NeuralMemoryForm
{
    /// <summary>Chunked closed form (fast).</summary>
    Chunked,
    /// <summary>Per-token loop with autograd inner gradients (slow; for checks).</summary>
    Reference,
}

/// <summary>Options of <see cref="TitansMemory"/>.</summary>
public sealed record TitansMemoryOptions : IValidatableOptions
{
    /// <summary>Heads, each with its own memory MLP.</summary>
    [Option("heads, each with its own memory MLP", Min = 1)]
    public int Heads { get; init; } = 2;

    /// <summary>Key/query dim per head; 0 means d_model / heads.</summary>
    [Option("key/query dim per head (0 = d_model / heads)", Min = 0)]
    public int KeyDim { get; init; }

    /// <summary>Value dim per head; 0 means d_model / heads.</summary>
    [Option("value dim per head (0 = d_model / heads)", Min = 0)]
    public int ValueDim { get; init; }

    /// <summary>Short causal depthwise convolution + SiLU after the q, k, v projections (Titans §4.4, as in Gated DeltaNet).</summary>
    [Option("short causal depthwise conv + SiLU after the q, k, v projections (the paper's architecture)")]
    public bool ShortConv { get; init; } = true;

    /// <summary>Kernel size of the short convolution.</summary>
    [Option("short conv kernel size", Min = 1, Max = 16)]
    public int ConvSize { get; init; } = 4;

    /// <summary>
    /// titans-pytorch's memory model: M(x) = LayerNorm(MLP(x)) + x (TTT's wrapper), in the write loss and the read. Not
    /// in the paper; it keeps the learned initial memory from dominating the read. Needs key dim = value dim.
    /// </summary>
    [Option("memory M(x) = LayerNorm(MLP(x)) + x, as titans-pytorch (not in the paper; needs key_dim = value_dim)")]
    public bool ResidualNorm { get; init; }

    /// <summary>Layers of the memory MLP.</summary>
    [Option("layers of the memory MLP (Titans uses ≥ 2)", Min = 2, Max = 6)]
    public int Depth { get; init; } = 2;

    /// <summary>Hidden width of the memory MLP as a multiple of the key dim.</summary>
    [Option("memory MLP hidden width / key dim", Min = 0.25, Max = 16)]
    public double HiddenMult { get; init; } = 2;

    /// <summary>Nonlinearity between memory layers.</summary>
    [Option("memory MLP nonlinearity")]
    public MemoryActivation Activation { get; init; } = MemoryActivation.Silu;

    /// <summary>Tokens per gradient chunk (inner gradients at the chunk-start weights); 1 is the exact per-token rule.</summary>
    [Option("tokens per gradient chunk (1 = exact per-token update)", Min = 1, Max = 1024)]
    public int ChunkSize { get; init; } = 16;

    /// <summary>Data-dependent momentum η of the surprise (off: η = 0).</summary>
    [Option("momentum η on the surprise")]
    public bool Momentum { get; init; } = true;

    /// <summary>
    /// Largest momentum: η_t = momentum_max · σ(W_η x_t). Momentum multiplies the inner step by 1/(1 − η), so with η free
    /// to approach 1 training pushed it to 0.99 and the memory of Titans MAC grew to 1e8 and overflowed within 50–80
    /// steps on MQAR; at 0.5 with the default inner_lr, θ/(1 − η) ≤ 0.02, half the stability bound above.
    /// </summary>
    [Option("largest momentum η (η = momentum_max · σ); the inner step grows as θ/(1 − η)", Min = 0, Max = 1, MaxExclusive = true)]
    public double MomentumMax { get; init; } = 0.5;

    /// <summary>Data-dependent forgetting α (off: α = 0).</summary>
    [Option("forgetting gate α")]
    public bool Forgetting { get; init; } = true;

    /// <summary>
    /// Largest inner learning rate: θ_t = inner_lr · σ(W_θ x_t) on the summed loss ‖M(k) − v‖²; 0 means 1 / value dim,
    /// titans-pytorch's default (max_lr 1 on the loss averaged over the value dim). With L2-normalised keys the inner
    /// loss of a 2×-wide SiLU MLP has curvature about 2‖a‖² ≈ 45 in its last layer, and momentum multiplies the step by
    /// 1/(1 − η), so θ/(1 − η) must stay well below 2/45 ≈ 0.04; 0.5 made the memory weights grow without bound from
    /// initialisation on sequences of 64 tokens or more. The earlier default, 0.01, was 3–6× below titans-pytorch's at
    /// value dims 32–16 and wrote too weakly to recall (issue 18).
    /// </summary>
    [Option("largest inner learning rate θ on the summed inner loss (0 = 1 / value dim, titans-pytorch's max_lr 1 on the mean loss)", Min = 0)]
    public double InnerLr { get; init; }

    /// <summary>Output gate after the per-head RMSNorm.</summary>
    [Option("output gate SiLU(W_g x) after the per-head RMSNorm")]
    public bool OutputGate { get; init; } = true;

    /// <summary>Parallel form used by Forward.</summary>
    [Option("parallel form of the op")]
    public NeuralMemoryForm Form { get; init; } = NeuralMemoryForm.Chunked;

    /// <summary>Key dim at width <paramref name="dModel"/>.</summary>
    public int KeyDimFor(int dModel) => HeadDims.Resolve(KeyDim, dModel, Heads);

    /// <summary>Value dim at width <paramref name="dModel"/>.</summary>
    public int ValueDimFor(int dModel) => HeadDims.Resolve(ValueDim, dModel, Heads);

    /// <summary>Largest inner learning rate at width <paramref name="dModel"/>.</summary>
    public double InnerLrFor(int dModel) => InnerLr > 0 ? InnerLr : 1.0 / ValueDimFor(dModel);

    /// <summary>The read-out's options (heads, value dim, gate).</summary>
    public LinearMemoryOptions Readout(int dModel) => new() { Heads = Heads, KeyDim = KeyDimFor(dModel), ValueDim = ValueDimFor(dModel), OutputGate = OutputGate };

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        foreach (var problem in HeadDims.Check(dModel, Heads, KeyDim, ValueDim)) yield return problem;
        if (ResidualNorm && KeyDimFor(dModel) != ValueDimFor(dModel))
            yield return ("residual_norm", $"needs key_dim = value_dim (the residual adds the key to the read), got {KeyDimFor(dModel)} and {ValueDimFor(dModel)}");
    }
}
