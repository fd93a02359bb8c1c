using BenchmarkDotNet.Attributes;
using Zoo.Core.Tasks;
using Zoo.Runner;
using Zoo.Runner.Bench;
using Zoo.Runner.Models;
using Zoo.Runner.Training;
using static TorchSharp.torch;

namespace Zoo.Benchmarks;

/// <summary>
/// One training step (forward, cross-entropy, backward, gradient clipping, AdamW) of the recall-long model (backbone,
/// d_model 64, 2 blocks, SwiGLU ratio 2, vocabulary 256) at batch 64, for LSTM and Gated DeltaNet (2 heads, chunk
/// 32 and 64): issue 20's target is Gated DeltaNet's step at most 2× LSTM's. Run it with OMP_NUM_THREADS=1, as the
/// suites train.
/// </summary>
[Config(typeof(InProcessConfig))]
public class TrainingStep
{
    private SequenceModel? _model;
    private TorchSharp.Modules.AdamW? _optimizer;
    private Tensor? _x, _y;

    [Params("lstm", "gated-deltanet:{\"heads\":2,\"chunk_size\":32}", "gated-deltanet:{\"heads\":2,\"chunk_size\":64}")]
    public string Layer { get; set; } = "lstm";

    [Params(64, 256)]
    public int Length { get; set; }

    public const int Batch = 64, DModel = 64, Vocab = 256;

    [GlobalSetup]
    public void Setup()
    {
        manual_seed(0);
        var registry = ZooComponents.Create();
        var (name, json) = BenchSubject.ParseSpec(Layer);
        var options = registry.BindLayerOptions(name, json, DModel, null, "layer");
        var spec = new ModelSpec { DModel = DModel, NLayers = 2, MlpRatio = 2 };
        _model = ModelFactory.Build(registry, name, options, new TaskSignature(Vocab, 0, Vocab, Length), spec);
        _model.train();
        _optimizer = optim.AdamW(_model.parameters(), lr: 1e-3, weight_decay: 0.1);
        _x = randint(0, Vocab, new long[] { Batch, Length });
        _y = randint(0, Vocab, new long[] { Batch * Length });
    }

    [Benchmark]
    public float Step()
    {
        using var scope = NewDisposeScope();
        var loss = nn.functional.cross_entropy(_model!.forward(_x!).reshape(Batch * Length, Vocab), _y!);
        _optimizer!.zero_grad();
        loss.backward();
        GradientClipping.ClipByTotalNorm(_model.parameters(), 1.0);   // the trainer's clipping (on the device, no read-back)
        _optimizer.step();
        return loss.item<float>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _x?.Dispose();
        _y?.Dispose();
        _optimizer?.Dispose();
        _model?.Dispose();
    }
}
