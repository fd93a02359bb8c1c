using TorchSharp;
using Zoo.Core.Layers;
using Zoo.Core.Tasks;
using Zoo.Runner.Models;
using Zoo.Runner.Training;
using Zoo.Tasks.Recall;
using static TorchSharp.torch;

namespace Zoo.Tests;

public sealed class TrainerTests
{
    private static readonly MqarOptions Tiny = new() { Vocab = 32, Length = 16, Pairs = 2, TrainExamples = 0, TestExamples = 32 };
    private static readonly ModelSpec SmallModel = new() { DModel = 16, NLayers = 1, MlpRatio = 1 };

    [Theory]
    [InlineData("attention")]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("leaky-rnn")]
    [InlineData("gated-deltanet")]
    [InlineData("mom")]
    [InlineData("titans-lmm")]
    public void Loss_falls_and_the_run_ends_ok(string layer)
    {
        var registry = TestSupport.Registry();
        var task = new Mqar(Tiny);
        var options = registry.BindLayerOptions(layer, null, SmallModel.DModel);
        using var model = ModelFactory.Build(registry, layer, options, task.Signature, SmallModel);
        var spec = new TrainSpec { Steps = 40, Batch = 16, Lr = 1e-2, Warmup = 5, EvalEvery = 20 };
        var outcome = new Trainer(CPU).Train(model, task, spec, seed: 1);
        Assert.Equal(RunStatus.Ok, outcome.Status);
        Assert.Equal(2, outcome.Curve.Count);
        Assert.True(outcome.Curve[^1].TrainLoss < Math.Log(Tiny.Vocab), $"{layer}: mean loss {outcome.Curve[^1].TrainLoss} did not fall below chance {Math.Log(Tiny.Vocab)}");
        Assert.InRange(outcome.BestMetric, 0, 1);
        Assert.Equal(40L * 16 * 16, outcome.TokensSeen);
    }

    [Fact]
    public void Live_tensor_count_does_not_grow_over_steps()
    {
        var registry = TestSupport.Registry();
        var task = new Mqar(Tiny);
        using var model = ModelFactory.Build(registry, "lstm", registry.BindLayerOptions("lstm", null, 16), task.Signature, SmallModel);
        var trainer = new Trainer(CPU);
        var spec = new TrainSpec { Steps = 5, Batch = 8, Warmup = 1, EvalEvery = 5 };
        trainer.Train(model, task, spec, seed: 0); // warm-up: optimizer state is created on the first steps
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        trainer.Train(model, task, spec with { Steps = 30, EvalEvery = 10 }, seed: 0);
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        // A fresh optimizer per Train call owns a fixed number of state tensors; growth with steps would be a leak.
        long again = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        trainer.Train(model, task, spec with { Steps = 60, EvalEvery = 20 }, seed: 0);
        long afterLonger = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Equal(after - before, afterLonger - again);
        Assert.True(after - before < 40, $"{after - before} tensors left alive by a 30-step run");
    }

    [Fact]
    public void Nan_loss_is_recorded_as_diverged_not_thrown()
    {
        var task = new Mqar(Tiny);
        using var model = new Backbone(task.Signature, SmallModel, _ => new NanAfter(SmallModel.DModel, goodSteps: 3));
        var outcome = new Trainer(CPU).Train(model, task, new TrainSpec { Steps = 20, Batch = 4, Warmup = 1, EvalEvery = 2 }, seed: 0);
        Assert.Equal(RunStatus.Diverged, outcome.Status);
        Assert.Contains("step 3", outcome.Message);
        Assert.Equal(3L * 4 * 16, outcome.TokensSeen);
        Assert.Equal(2, outcome.BestStep);
    }

    [Fact]
    public void Same_seed_gives_the_same_metrics_on_cpu()
    {
        double Run()
        {
            var registry = TestSupport.Registry();
            var task = new Mqar(Tiny);
            var options = registry.BindLayerOptions("gru", null, 16);
            var generator = new Generator(11);
            using var model = ModelFactory.Build(registry, "gru", options, task.Signature, SmallModel);
            using (no_grad())
                foreach (var p in model.parameters()) p.copy_(randn(p.shape, generator: generator) * 0.1);
            var outcome = new Trainer(CPU).Train(model, task, new TrainSpec { Steps = 15, Batch = 8, Warmup = 2, EvalEvery = 5 }, seed: 4);
            return outcome.Curve.Sum(c => c.TrainLoss + c.TestLoss + c.TestMetric);
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Schedule_warms_up_linearly_then_decays_to_the_floor()
    {
        var spec = new TrainSpec { Steps = 101, Lr = 1.0, Warmup = 10, MinLrRatio = 0.1 };
        Assert.Equal(0.1, LearningRateSchedule.At(spec, 0), 12);
        Assert.Equal(1.0, LearningRateSchedule.At(spec, 9), 12);
        Assert.Equal(1.0, LearningRateSchedule.At(spec, 10), 12);
        Assert.Equal(0.55, LearningRateSchedule.At(spec, 55), 12);
        Assert.Equal(0.1, LearningRateSchedule.At(spec, 100), 12);
    }

    /// <summary>A layer that is the identity for <c>goodSteps</c> training forwards and then emits NaN.</summary>
    private sealed class NanAfter : SequenceLayer
    {
        private readonly TorchSharp.Modules.Linear mix;
        private readonly int _goodSteps;
        private int _calls;

        public NanAfter(int d, int goodSteps) : base("NanAfter", d)
        {
            mix = nn.Linear(d, d);
            _goodSteps = goodSteps;
            RegisterComponents();
        }

        public override LayerState InitialState(long batch, Device device, ScalarType dtype) => new();

        public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null)
        {
            if (!training) return (mix.forward(x), new());
            return (_calls++ < _goodSteps ? mix.forward(x) : mix.forward(x) * double.NaN, new());
        }

        public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) => (mix.forward(x), state);

        public override long StateSize(long sequenceLength) => 0;
    }
}

public sealed class BareModelTests
{
    [Fact]
    public void Bare_model_exposes_the_hidden_trajectory_its_readout_reads()
    {
        var registry = TestSupport.Registry();
        var task = new Mqar(new MqarOptions { Vocab = 32, Length = 16, Pairs = 2 });
        var spec = new ModelSpec { Kind = ModelKind.Bare, DModel = 10 };
        using var model = (BareModel)ModelFactory.Build(registry, "leaky-rnn", registry.BindLayerOptions("leaky-rnn", null, 10), task.Signature, spec);
        using var scope = NewDisposeScope();
        using var batch = task.Batch(Split.Train, 0, 0, 3);
        var (hidden, state) = model.Hidden(batch.Inputs);
        Assert.Equal(new long[] { 3, 16, 10 }, hidden.shape);
        Assert.Equal(0.0, TestSupport.MaxAbsDiff(model.Readout(hidden), model.forward(batch.Inputs)));
        Assert.Equal(0.0, TestSupport.MaxAbsDiff(state["h"], hidden[.., -1]));
        Assert.Single(model.SequenceLayers);
    }

    [Fact]
    public void Bare_model_trains()
    {
        var registry = TestSupport.Registry();
        var task = new Mqar(new MqarOptions { Vocab = 32, Length = 16, Pairs = 2, TrainExamples = 0, TestExamples = 16 });
        var spec = new ModelSpec { Kind = ModelKind.Bare, DModel = 16 };
        using var model = ModelFactory.Build(registry, "gru", registry.BindLayerOptions("gru", null, 16), task.Signature, spec);
        var outcome = new Trainer(CPU).Train(model, task, new TrainSpec { Steps = 30, Batch = 16, Lr = 1e-2, Warmup = 2, EvalEvery = 30 }, seed: 0);
        Assert.Equal(RunStatus.Ok, outcome.Status);
        Assert.True(outcome.Curve[^1].TrainLoss < Math.Log(32));
    }
}
