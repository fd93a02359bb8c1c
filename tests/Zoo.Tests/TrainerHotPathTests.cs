using TorchSharp;
using Zoo.Core.Tasks;
using Zoo.Runner.Models;
using Zoo.Runner.Training;
using Zoo.Tasks.Recall;
using Zoo.Tasks.Replay;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// The trainer's step without host read-backs: gradient clipping on the device equals libtorch's, and the batch
/// prefetcher hands out exactly the batches the trainer built itself, in the same order.
/// </summary>
public sealed class TrainerHotPathTests
{
    private static readonly MqarOptions Tiny = new() { Vocab = 32, Length = 16, Pairs = 2, TrainExamples = 0, TestExamples = 32 };

    [Theory]
    [InlineData(ScalarType.Float32, 0.05)]   // clips
    [InlineData(ScalarType.Float32, 1e6)]    // factor 1
    [InlineData(ScalarType.Float64, 0.05)]
    [InlineData(ScalarType.Float64, 1e6)]
    public void Device_clipping_equals_libtorch_clip_grad_norm(ScalarType dtype, double maxNorm)
    {
        (nn.Module<Tensor, Tensor> Model, Tensor X) Make()
        {
            manual_seed(7);
            var model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3));
            model.to(dtype);
            var x = randn(new long[] { 4, 5 }, dtype: dtype);
            model.forward(x).square().sum().backward();
            return (model, x);
        }
        var (reference, _) = Make();
        var (fast, _) = Make();
        double expected = nn.utils.clip_grad_norm_(reference.parameters(), maxNorm);
        using var norm = GradientClipping.ClipByTotalNorm(fast.parameters(), maxNorm);
        Assert.Equal(expected, norm.to(ScalarType.Float64).item<double>());
        foreach (var (r, f) in reference.parameters().Zip(fast.parameters()))
            Assert.True(r.grad!.eq(f.grad!).all().item<bool>(), $"gradient of a {string.Join("x", r.shape)} parameter differs");
        Assert.True(expected > 0);
    }

    [Fact]
    public void Clipping_without_gradients_returns_zero_and_touches_nothing()
    {
        var layer = nn.Linear(3, 2);
        using var norm = GradientClipping.ClipByTotalNorm(layer.parameters(), 1.0);
        Assert.Equal(0.0, norm.item<float>());
        Assert.All(layer.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void Prefetched_batches_equal_the_batches_built_in_place_in_order()
    {
        var mqar = new Mqar(Tiny);
        var other = new Mqar(Tiny with { Pairs = 3 });
        var path = new PathIntegration(new PathIntegrationOptions { Steps = 12, PlaceCells = 16 });
        const long seed = 5;
        const int batch = 4, steps = 9;
        // A curriculum-like switch of task at step 4 and back at 7, so a prefetched batch is thrown away twice.
        var schedule = Enumerable.Range(0, steps).Select(s => (ISequenceTask)(s is >= 4 and < 7 ? other : mqar)).ToList();
        using (var prefetcher = new BatchPrefetcher(seed, batch, steps, CPU))
            for (int step = 0; step < steps; step++)
            {
                using var got = prefetcher.Take(schedule[step], step);
                using var want = BatchPrefetcher.Generate(schedule[step], seed, batch, step);
                AssertSame(want, got, $"mqar step {step}");
            }
        using (var prefetcher = new BatchPrefetcher(seed, batch, steps, CPU))
            for (int step = 0; step < steps; step++)
            {
                using var got = prefetcher.Take(path, step);
                using var want = BatchPrefetcher.Generate(path, seed, batch, step);
                AssertSame(want, got, $"path-integration step {step}");
            }
    }

    [Fact]
    public void Training_with_prefetched_batches_repeats_bit_for_bit()
    {
        var registry = TestSupport.Registry();
        var task = new Mqar(Tiny);
        var model = new ModelSpec { DModel = 16, NLayers = 1, MlpRatio = 1 };
        var spec = new TrainSpec { Steps = 23, Batch = 8, Lr = 1e-2, Warmup = 2, EvalEvery = 7, GradClip = 0.5 };
        RunOutcome Train()
        {
            manual_seed(3);
            using var m = ModelFactory.Build(registry, "gru", registry.BindLayerOptions("gru", null, 16), task.Signature, model);
            return new Trainer(CPU).Train(m, task, spec, seed: 2);
        }
        var (a, b) = (Train(), Train());
        Assert.Equal(RunStatus.Ok, a.Status);
        Assert.Equal(a.Curve, b.Curve);
        Assert.Equal(23L * 8 * 16, a.TokensSeen);
        Assert.Equal(new[] { 7, 14, 21, 23 }, a.Curve.Select(p => p.Step));
    }

    private static void AssertSame(TaskBatch want, TaskBatch got, string what)
    {
        Assert.True(want.Inputs.eq(got.Inputs).all().item<bool>(), what + ": inputs differ");
        Assert.True(want.Targets.eq(got.Targets).all().item<bool>(), what + ": targets differ");
        Assert.True(want.Mask.eq(got.Mask).all().item<bool>(), what + ": masks differ");
        Assert.Equal(want.Context is null, got.Context is null);
        if (want.Context is not null) Assert.True(want.Context.eq(got.Context!).all().item<bool>(), what + ": contexts differ");
    }
}
