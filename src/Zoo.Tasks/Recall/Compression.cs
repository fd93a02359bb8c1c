using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Tasks.Recall;

/// <summary>
/// Options of <see cref="Compression"/>; defaults are MAD's compression baseline (<c>configs/tasks/compression.yml</c>:
/// vocab 16, L 32, 12,800 train / 1,280 test). Difficulty ladder: vocab {32, 64, 128}, length {64, 128, 256},
/// train_examples {6400, 3200, 1600, 800}.
/// </summary>
public sealed record CompressionOptions : IValidatableOptions, IDifficultyLadder
{
    /// <summary>Vocabulary size: data tokens [0, V − 1) and the compression token V − 1.</summary>
    [Option("vocabulary size: data tokens [0, V − 1), compression token = V − 1", Min = 3)]
    public int Vocab { get; init; } = 16;

    /// <summary>MAD's seq_len: L − 1 data tokens and the compression token; the model then sees L − 2 more answer steps.</summary>
    [Option("MAD's seq_len: L − 1 data tokens + compression token (the model sees 2L − 2 tokens)", Min = 3)]
    public int Length { get; init; } = 32;

    /// <summary>Training set size (MAD: 12,800).</summary>
    [Option("training examples (0 = fresh examples every step)", Min = 0)]
    public int TrainExamples { get; init; } = 12_800;

    /// <summary>Test set size (MAD: 1,280).</summary>
    [Option("test examples", Min = 1)]
    public int TestExamples { get; init; } = 1_280;

    /// <inheritdoc />
    public IReadOnlyList<DifficultyChange> DifficultyChanges() =>
        DifficultyChange.Each("vocab", 32, 64, 128)
            .Concat(DifficultyChange.Each("length", 64, 128, 256))
            .Concat(DifficultyChange.Each("train_examples", 6400, 3200, 1600, 800))
            .ToList();

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel) => [];
}

/// <summary>
/// MAD's compression (Poli et al. 2024, "Mechanistic Design and Scaling of Hybrid Architectures", §3;
/// <c>generate_compression_instance</c>): L − 1 random tokens followed by a compression token; the model must
/// reconstruct the whole sequence from what it holds after the compression token. Chance is 1 / (V − 1).
/// <para>
/// How this differs from MAD, whose compression model is an encoder–decoder (<c>mad/model/auto_encoder.py</c>): there,
/// the layers encode the L tokens, only the last position's output (a d_model vector) is kept, and a position-conditioned
/// MLP decodes token i from that vector plus a sin-cos embedding of i, for all L positions (the compression token
/// included). Zoo's layer contract is a causal map trained next-step, so here the sequence continues instead: the input
/// is <c>x₀ … x_{L−2} C C … C</c> (2L − 2 tokens), and at the compression token and the L − 2 answer steps after it the
/// model must emit x₀, x₁, …, x_{L−2} in order; only those L − 1 positions are scored (the trivial compression-token
/// target that MAD also scores is left out). For a recurrent layer the bottleneck is its state after C (larger than
/// MAD's d_model vector) and it replays the sequence step by step rather than by random access. Attention keeps its
/// cache, so it can copy each token from a fixed offset and faces no bottleneck at all: attention's score here is not
/// comparable with MAD's, recurrent layers' scores are the informative ones.
/// </para>
/// </summary>
[ZooTask("compression", typeof(CompressionOptions), Summary = "MAD compression: reproduce the sequence in order after a compression token (causal form)")]
public sealed class Compression : TokenTask, IClassAveragedAccuracy, IChanceLevel
{
    private readonly CompressionOptions _o;

    /// <summary>One of the V − 1 data tokens, uniform at every scored position.</summary>
    public double Chance => 1.0 / (_o.Vocab - 1);

    /// <summary>Builds the task.</summary>
    public Compression(CompressionOptions options) => _o = options;

    /// <inheritdoc />
    public override TaskSignature Signature => new(_o.Vocab, 0, _o.Vocab, 2 * _o.Length - 2);

    /// <inheritdoc />
    public override int TestExamples => _o.TestExamples;

    /// <summary>The compression token, also the input of every answer step.</summary>
    public long CompressionToken => _o.Vocab - 1;

    /// <summary>Both splits score the reconstruction: the label at position L − 1 + i is data token i.</summary>
    public override (long[] Tokens, long[] Labels) Example(long seed, Split split, long index)
    {
        var rng = ExampleStream(seed, split, index, _o.TrainExamples);
        int data = _o.Length - 1, total = 2 * _o.Length - 2;
        var tokens = Enumerable.Repeat(CompressionToken, total).ToArray();
        var labels = TokenExamples.Unscored(total);
        for (int i = 0; i < data; i++)
        {
            tokens[i] = rng.NextInt(_o.Vocab - 1);
            labels[data + i] = tokens[i];
        }
        return (tokens, labels);
    }
}
