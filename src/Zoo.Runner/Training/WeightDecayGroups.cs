using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Zoo.Runner.Training;

/// <summary>Which parameters <c>train.weight_decay</c> applies to.</summary>
public enum WeightDecayScope
{
    /// <summary>Every parameter (one AdamW group).</summary>
    All,

    /// <summary>Every parameter but those fla and Mamba mark <c>_no_weight_decay</c>.</summary>
    Fla,
}

/// <summary>
/// The AdamW parameter groups of a model. fla's Gated DeltaNet, KDA and Mamba-2 (and Mamba's own code) set
/// <c>_no_weight_decay</c> on the decay-rate parameters <c>A_log</c> and <c>dt_bias</c> and Mamba's skip <c>D</c>:
/// weight decay pulls <c>dt_bias</c> towards 0, i.e. softplus(0) ≈ 0.69 and a per-token decay of exp(−0.69·A), which
/// shortens the memory the layer starts with. Zoo's layers name those parameters as fla does, so the match is by name.
/// </summary>
public static class WeightDecayGroups
{
    /// <summary>Parameter names (last path segment) fla exempts from weight decay.</summary>
    public static readonly IReadOnlySet<string> FlaExempt = new HashSet<string> { "A_log", "dt_bias", "D" };

    /// <summary>Whether the parameter at <paramref name="path"/> (e.g. <c>blocks.0.mixer.A_log</c>) is one fla exempts.</summary>
    public static bool IsFlaExempt(string path) => FlaExempt.Contains(path[(path.LastIndexOf('.') + 1)..]);

    /// <summary>The model's trainable parameters split into (decayed, exempt) under <paramref name="scope"/>.</summary>
    public static (List<Parameter> Decayed, List<Parameter> Exempt) Split(nn.Module model, WeightDecayScope scope)
    {
        var decayed = new List<Parameter>();
        var exempt = new List<Parameter>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) continue;
            bool free = scope == WeightDecayScope.Fla && IsFlaExempt(name);
            (free ? exempt : decayed).Add(p);
        }
        return (decayed, exempt);
    }

    /// <summary>AdamW over <paramref name="model"/>'s parameters: one group, or a second with no weight decay.</summary>
    public static optim.Optimizer AdamW(nn.Module model, TrainSpec spec)
    {
        var (decayed, exempt) = Split(model, spec.WeightDecayScope);
        if (exempt.Count == 0) return optim.AdamW(decayed, lr: spec.Lr, weight_decay: spec.WeightDecay);
        var groups = new[]
        {
            new AdamW.ParamGroup(decayed, lr: spec.Lr, weight_decay: spec.WeightDecay),
            new AdamW.ParamGroup(exempt, lr: spec.Lr, weight_decay: 0),
        };
        return optim.AdamW(groups, lr: spec.Lr, weight_decay: spec.WeightDecay);
    }
}
