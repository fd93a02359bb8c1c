using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Filters;
using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Benchmarks;

/// <summary>
/// The gated delta rule op: chunked (WY/UT, C = 32 and 64) against the per-token reference loop, forward and
/// forward+backward, at B 4, H 4, D 64 (issue 20: chunked forward+backward ≥ 8× the loop at L = 1024, time linear in L).
/// The two forms' equivalence is tested in GatedDeltaTests.
/// </summary>
/// <remarks>
/// The reference loop's forward+backward at L = 4096 is left out: its autograd graph holds 4096 copies of the
/// [B, H, D, D] state. One call took 10–53 s here while the loop still indexed its inputs per token (each index's
/// backward was input-sized; see Zoo.Core.Nn.TimePieces); since the loop unbinds them it is linear, but still slow.
/// </remarks>
[Config(typeof(GatedDeltaFormsConfig))]
public class GatedDeltaForms
{
    private Tensor[] _inputs = Array.Empty<Tensor>();

    [Params("chunked", "reference")]
    public string Form { get; set; } = "chunked";

    [Params(256, 1024, 4096)]
    public int Length { get; set; }

    /// <summary>Chunk size of the chunked form (the reference ignores it).</summary>
    [Params(32, 64)]
    public int Chunk { get; set; } = 64;

    public const int Batch = 4, Heads = 4, Dim = 64;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(0);
        var q = randn(new long[] { Batch, Heads, Length, Dim }, generator: g) / Math.Sqrt(Dim);
        var k = nn.functional.normalize(randn(new long[] { Batch, Heads, Length, Dim }, generator: g), dim: -1);
        var v = randn(new long[] { Batch, Heads, Length, Dim }, generator: g);
        var logDecay = -nn.functional.softplus(randn(new long[] { Batch, Heads, Length }, generator: g)) * 0.1;
        var beta = sigmoid(randn(new long[] { Batch, Heads, Length }, generator: g));
        _inputs = new[] { q, k, v, logDecay, beta }.Select(t => t.requires_grad_(true)).ToArray();
    }

    private (Tensor O, Tensor S) Run()
    {
        var x = _inputs;
        return Form == "chunked"
            ? GatedDelta.Chunked(x[0], x[1], x[2], x[3], x[4], chunkSize: Chunk)
            : GatedDelta.Reference(x[0], x[1], x[2], x[3], x[4]);
    }

    [Benchmark]
    public float Forward()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Run().O.sum().item<float>();
    }

    [Benchmark]
    public float ForwardBackward()
    {
        using var scope = NewDisposeScope();
        foreach (var t in _inputs) t.grad?.zero_();
        var (o, s) = Run();
        var loss = o.pow(2).mean() + s.pow(2).mean();
        loss.backward();
        return loss.item<float>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in _inputs) t.Dispose();
    }
}

/// <summary><see cref="InProcessConfig"/> without the reference loop's backward at L = 4096, and with the reference (which has no chunks) timed once.</summary>
public sealed class GatedDeltaFormsConfig : InProcessConfigBase
{
    public GatedDeltaFormsConfig() =>
        AddFilter(new SimpleFilter(b => !(b.Descriptor.WorkloadMethod.Name == nameof(GatedDeltaForms.ForwardBackward)
            && (string)b.Parameters["Form"] == "reference" && (int)b.Parameters["Length"] > 1024)
            && !((string)b.Parameters["Form"] == "reference" && (int)b.Parameters["Chunk"] != 64)));
}
