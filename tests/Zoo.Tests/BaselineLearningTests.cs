using Zoo.Runner.Models;
using Zoo.Runner.Training;
using Zoo.Tasks.Recall;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// The issue-16 baseline layers learn an easy MQAR (V 64, L 32, 4 pairs; values drawn from 32 tokens, so chance is 1/32)
/// above chance in 500 steps of batch 32 (slow: about a minute each on an idle core). A weak check: at this budget the
/// suite runs of the same setting (retnet 0.253, gla 0.253, mamba2 0.22; this check: based 0.272, forgetting-attention 0.202) sit on the 1/pairs plateau (the answer is one
/// of the 4 values in context), not on the key–value binding, which needs the recall-long budget.
/// </summary>
[Trait("Category", "Slow")]
public sealed class BaselineLearningTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private void LearnsAboveChance(string layer)
    {
        var registry = TestSupport.Registry();
        var mqar = new Mqar(new MqarOptions { Vocab = 64, Length = 32, Pairs = 4, TrainExamples = 0, TestExamples = 256 });
        var spec = new ModelSpec { DModel = 64, NLayers = 2, MlpRatio = 2 };
        manual_seed(0);
        using var m = ModelFactory.Build(registry, layer, registry.BindLayerOptions(layer, null, 64), mqar.Signature, spec);
        var outcome = new Trainer(CPU).Train(m, mqar, new TrainSpec { Steps = 500, Batch = 32, Lr = 3e-3, Warmup = 50, EvalEvery = 100, EvalExamples = 256 }, seed: 0);
        output.WriteLine($"{layer}: best MQAR accuracy {outcome.BestMetric:F3} (chance 1/32)");
        Assert.True(outcome.BestMetric > 4.0 / 32, $"{layer} reached only {outcome.BestMetric:F3} (chance 1/32)");
    }

    [SlowFact] public void Retnet_learns_an_easy_mqar() => LearnsAboveChance("retnet");
    [SlowFact] public void Mamba2_learns_an_easy_mqar() => LearnsAboveChance("mamba2");
    [SlowFact] public void Gla_learns_an_easy_mqar() => LearnsAboveChance("gla");
    [SlowFact] public void Hgrn2_learns_an_easy_mqar() => LearnsAboveChance("hgrn2");
    [SlowFact] public void Based_learns_an_easy_mqar() => LearnsAboveChance("based");
    [SlowFact] public void Forgetting_attention_learns_an_easy_mqar() => LearnsAboveChance("forgetting-attention");
}
