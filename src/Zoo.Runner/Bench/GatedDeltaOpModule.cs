using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Runner.Bench;

/// <summary>
/// The bare gated delta op as a bench subject, set up as fla's <c>chunk_gated_delta_rule</c> benchmark is (fla-org
/// benchmarks/ops registry: q, k, v ~ N(0, 1), g = logsigmoid(N(0, 1)), β = sigmoid(N(0, 1)), every input requiring
/// grad, q and k L2-normalised and q scaled by 1/√D inside the timed call), so the two time the same work. The bench
/// input x [B, L, H·D] gives only the shape: the op's inputs are drawn once per shape (seed 1) in Zoo's layout
/// [B, H, L, D] and kept, as fla's are, outside the timed call; the output goes back to [B, L, H·D].
/// </summary>
public sealed class GatedDeltaOpModule : nn.Module<Tensor, Tensor>
{
    /// <summary>Subject name in <c>zoo bench --layers</c>.</summary>
    public const string SubjectName = "gated-delta-op";

    private readonly GatedDeltaOpOptions _options;
    private readonly int _headDim;
    private Tensor[] _inputs = Array.Empty<Tensor>();

    /// <summary>The op at width <paramref name="dModel"/> = heads × head dim.</summary>
    public GatedDeltaOpModule(int dModel, GatedDeltaOpOptions options) : base("GatedDeltaOp")
    {
        (_options, _headDim) = (options, dModel / options.Heads);
        RegisterComponents();
    }

    /// <summary>How many times inputs were drawn: once per shape, never inside a timed call at a kept shape.</summary>
    public int Draws { get; private set; }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], l = x.shape[1];
        var (q, k, v, g, beta) = Inputs(b, l, x.device);
        var qn = nn.functional.normalize(q, dim: -1) * (1.0 / Math.Sqrt(_headDim));
        var kn = nn.functional.normalize(k, dim: -1);
        var (o, _) = _options.Form == MemoryForm.Chunked
            ? GatedDelta.Chunked(qn, kn, v, g, beta, chunkSize: _options.ChunkSize)
            : GatedDelta.Reference(qn, kn, v, g, beta);
        return o.transpose(1, 2).reshape(b, l, _options.Heads * _headDim);
    }

    // The inputs for this shape, drawn once; their gradients are zeroed here so a forward+backward call starts clean.
    private (Tensor Q, Tensor K, Tensor V, Tensor G, Tensor Beta) Inputs(long b, long l, Device device)
    {
        // Device has no value equality: compare type and index.
        if (_inputs.Length == 0 || _inputs[0].shape[0] != b || _inputs[0].shape[2] != l
            || _inputs[0].device_type != device.type || _inputs[0].device_index != device.index)
        {
            Draws++;
            foreach (var t in _inputs) t.Dispose();
            var dtype = _options.Dtype == OpDtype.Bfloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
            using var gen = new Generator(1, device);
            long h = _options.Heads;
            Tensor Draw(params long[] shape) => randn(shape, device: device, generator: gen);
            using var noGrad = no_grad();
            _inputs = new[]
            {
                Draw(b, h, l, _headDim), Draw(b, h, l, _headDim), Draw(b, h, l, _headDim),
                nn.functional.logsigmoid(Draw(b, h, l)), sigmoid(Draw(b, h, l)),
            }.Select(t => t.to(dtype).requires_grad_(true).DetachFromDisposeScope()).ToArray();
        }
        foreach (var t in _inputs) t.grad?.zero_();
        return (_inputs[0], _inputs[1], _inputs[2], _inputs[3], _inputs[4]);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) foreach (var t in _inputs) t.Dispose();
        base.Dispose(disposing);
    }
}
