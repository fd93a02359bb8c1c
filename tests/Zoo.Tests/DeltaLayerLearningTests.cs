using Xunit.Abstractions;
using Zoo.Runner.Models;
using Zoo.Runner.Training;
using Zoo.Tasks.Recall;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// kda, gated-deltaproduct and rwkv7 learn an easy MQAR (V 64, L 32, 4 pairs; values drawn from 32 tokens, so chance is 1/32)
/// clearly above chance in 500 steps of batch 32, the setting of BaselineLearningTests (slow: 10 and 8 min of wall time on
/// 2 cores shared at load ≈ 20). Measured once (seed 0): kda 0.999, gated-deltaproduct 0.895, rwkv7 0.998 (2 min 19 s wall, 1.5 CPU-min, one thread) — past the 1/pairs plateau
/// (0.25) where retnet, gla and mamba2 sit at this budget; the bar stays at 4/32 as theirs.
/// gated-kalmanet (per-token Chebyshev solves, heavier per step) runs 200 steps: 0.199 measured once (seed 0; 6 min of wall
/// time at load ≈ 10), above the bar, below kda's 0.999 at 500.
/// </summary>
[Trait("Category", "Slow")]
public sealed class DeltaLayerLearningTests(ITestOutputHelper output)
{
    private void LearnsAboveChance(string layer, int steps = 500)
    {
        var registry = TestSupport.Registry();
        var mqar = new Mqar(new MqarOptions { Vocab = 64, Length = 32, Pairs = 4, TrainExamples = 0, TestExamples = 256 });
        var spec = new ModelSpec { DModel = 64, NLayers = 2, MlpRatio = 2 };
        manual_seed(0);
        using var m = ModelFactory.Build(registry, layer, registry.BindLayerOptions(layer, null, 64), mqar.Signature, spec);
        var outcome = new Trainer(CPU).Train(m, mqar, new TrainSpec { Steps = steps, Batch = 32, Lr = 3e-3, Warmup = 50, EvalEvery = 100, EvalExamples = 256 }, seed: 0);
        output.WriteLine($"{layer}: best MQAR accuracy {outcome.BestMetric:F3} (chance 1/32)");
        Assert.True(outcome.BestMetric > 4.0 / 32, $"{layer} reached only {outcome.BestMetric:F3} (chance 1/32)");
    }

    [SlowFact] public void Kda_learns_an_easy_mqar() => LearnsAboveChance("kda");
    [SlowFact] public void Gated_deltaproduct_learns_an_easy_mqar() => LearnsAboveChance("gated-deltaproduct");
    [SlowFact] public void Rwkv7_learns_an_easy_mqar() => LearnsAboveChance("rwkv7");
    [SlowFact] public void Gated_kalmanet_learns_an_easy_mqar() => LearnsAboveChance("gated-kalmanet", steps: 200);
}
