using Zoo.Core.Options;
using Zoo.Layers.LinearMemory;

namespace Zoo.Runner.Bench;

/// <summary>Element type of the op bench's inputs.</summary>
public enum OpDtype
{
    /// <summary>32-bit float.</summary>
    Float32,
    /// <summary>bfloat16 (fla's default benchmark type).</summary>
    Bfloat16,
}

/// <summary>Options of the <c>gated-delta-op</c> bench subject: the bare <see cref="GatedDelta"/> op at fla's benchmark shapes.</summary>
public sealed record GatedDeltaOpOptions : IValidatableOptions
{
    /// <summary>Heads H; the head dim is d_model / H.</summary>
    [Option("heads H; head dim D = d_model / H", Min = 1)]
    public int Heads { get; init; } = 8;

    /// <summary>Which form of the op.</summary>
    [Option("form of the op")]
    public MemoryForm Form { get; init; } = MemoryForm.Chunked;

    /// <summary>Chunk size of the chunked form.</summary>
    [Option("chunk size C of the chunked form", Min = 1, Max = 1024)]
    public int ChunkSize { get; init; } = 64;

    /// <summary>Element type of q, k, v, the gates and the output.</summary>
    [Option("element type of the inputs")]
    public OpDtype Dtype { get; init; } = OpDtype.Float32;

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (dModel % Heads != 0) yield return ("heads", $"d_model {dModel} is not divisible by heads {Heads}");
    }
}
