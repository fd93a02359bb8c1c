using TorchSharp;
using Zoo.Runner.Training;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary><c>train.weight_decay_scope</c>: fla's exempt parameters are found by name and AdamW leaves them undecayed.</summary>
public sealed class WeightDecayGroupsTests
{
    [Fact]
    public void Fla_scope_exempts_the_decay_parameters_of_gated_deltanet_and_all_scope_exempts_nothing()
    {
        using var scope = NewDisposeScope();
        var layer = TestSupport.Float64Layer(TestSupport.Registry(), "gated-deltanet", "{\"heads\": 2}", 16, seed: 1);
        var names = layer.named_parameters().Select(p => p.name).ToList();
        var (decayed, exempt) = WeightDecayGroups.Split(layer, WeightDecayScope.Fla);
        Assert.Equal(2, exempt.Count);   // A_log and dt_bias
        Assert.Contains(names, n => n.EndsWith("A_log"));
        Assert.Contains(names, n => n.EndsWith("dt_bias"));
        Assert.Equal(names.Count, decayed.Count + exempt.Count);
        var (all, none) = WeightDecayGroups.Split(layer, WeightDecayScope.All);
        Assert.Empty(none);
        Assert.Equal(names.Count, all.Count);
    }

    [Fact]
    public void With_zero_gradients_an_adamw_step_shrinks_only_the_decayed_parameters()
    {
        using var scope = NewDisposeScope();
        var layer = TestSupport.Float64Layer(TestSupport.Registry(), "gated-deltanet", "{\"heads\": 2}", 16, seed: 1);
        var spec = new TrainSpec { Lr = 0.1, WeightDecay = 0.5, WeightDecayScope = WeightDecayScope.Fla };
        var before = layer.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        // Zero gradients: Adam's own update is 0/(0 + eps) = 0, so the step is the decoupled decay p ← (1 − lr·wd)·p alone.
        (layer.parameters().Select(p => p.sum()).Aggregate((a, b) => a + b) * 0).backward();
        using var optimizer = WeightDecayGroups.AdamW(layer, spec);
        optimizer.step();
        foreach (var (name, p) in layer.named_parameters())
        {
            bool exempt = WeightDecayGroups.IsFlaExempt(name);
            var expected = exempt ? before[name] : before[name] * (1 - 0.1 * 0.5);
            Assert.True(p.detach().allclose(expected, rtol: 1e-12, atol: 1e-14), $"{name} ({(exempt ? "exempt" : "decayed")})");
        }
    }
}
