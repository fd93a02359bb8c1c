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
[Collection(nameof(GlobalTorchRngCollection))]
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
        using (var prefetcher = new BatchPrefetcher(seed, batch, steps, CPU, background: true))
            for (int step = 0; step < steps; step++)
            {
                using var got = prefetcher.Take(schedule[step], step);
                using var want = BatchPrefetcher.Generate(schedule[step], seed, batch, step);
                AssertSame(want, got, $"mqar step {step}");
            }
        using (var prefetcher = new BatchPrefetcher(seed, batch, steps, CPU, background: true))
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

    [Fact]
    public void Batches_are_built_off_the_trainers_thread_even_when_the_thread_pool_is_busy()
    {
        // Waiting on a task that has not started runs it on the waiting thread: with the pool busy, the prefetcher built
        // the next batch on the trainer's thread (inside its step's dispose scope) instead of in the background.
        var task = new ThreadRecordingTask(new Mqar(Tiny));
        using var gate = new ManualResetEventSlim(false);
        using (var prefetcher = new BatchPrefetcher(seed: 1, batch: 4, steps: 3, CPU, background: true))
        {
            using (prefetcher.Take(task, 0)) { }
            Assert.True(task.Built(1).Wait(TimeSpan.FromSeconds(60)), "step 1's batch was never built");
            // Every pool thread busy (and more work queued than threads), so step 2's build, queued next, cannot start.
            for (int i = 0; i < ThreadPool.ThreadCount + 4; i++) ThreadPool.UnsafeQueueUserWorkItem(_ => gate.Wait(), null);
            using (prefetcher.Take(task, 1)) { }
            var opener = new Thread(() => { Thread.Sleep(300); gate.Set(); });
            opener.Start();
            using (var got = prefetcher.Take(task, 2))
            using (var want = BatchPrefetcher.Generate(task.Inner, 1, 4, 2))
                AssertSame(want, got, "step 2");
            opener.Join();
        }
        Assert.DoesNotContain(Environment.CurrentManagedThreadId, task.ThreadsOf(1).Concat(task.ThreadsOf(2)));
    }

    // A task that records which threads built each training step's batch (of 4 examples).
    private sealed class ThreadRecordingTask(ISequenceTask inner) : ISequenceTask
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<long, (List<int> Threads, TaskCompletionSource Done)> _steps = new();

        public ISequenceTask Inner => inner;
        public TaskSignature Signature => inner.Signature;
        public string PrimaryMetric => inner.PrimaryMetric;
        public bool HigherIsBetter => inner.HigherIsBetter;
        public int TestExamples => inner.TestExamples;

        public Task Built(long step) => Step(step).Done.Task;

        public IReadOnlyList<int> ThreadsOf(long step) { lock (Step(step).Threads) return Step(step).Threads.ToList(); }

        public TaskBatch Batch(Split split, long seed, long firstExample, int count)
        {
            var batch = inner.Batch(split, seed, firstExample, count);
            var entry = Step(firstExample / 4);
            lock (entry.Threads) entry.Threads.Add(Environment.CurrentManagedThreadId);
            entry.Done.TrySetResult();
            return batch;
        }

        public Tensor Loss(Tensor output, TaskBatch batch) => inner.Loss(output, batch);
        public IReadOnlyDictionary<string, MetricTally> Metrics(Tensor output, TaskBatch batch) => inner.Metrics(output, batch);

        private (List<int> Threads, TaskCompletionSource Done) Step(long step) =>
            _steps.GetOrAdd(step, _ => (new List<int>(), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
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
