using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Zoo.Runner.Models;

/// <summary>SwiGLU MLP (Shazeer 2020): W_down (SiLU(W_gate x) ⊙ W_up x).</summary>
public sealed class SwiGlu : nn.Module<Tensor, Tensor>
{
    private readonly Linear gate, up, down;

    /// <summary>Builds the MLP with hidden size <paramref name="hidden"/>.</summary>
    public SwiGlu(int dModel, int hidden) : base("SwiGlu")
    {
        gate = nn.Linear(dModel, hidden, hasBias: false);
        up = nn.Linear(dModel, hidden, hasBias: false);
        down = nn.Linear(hidden, dModel, hasBias: false);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return down.forward(nn.functional.silu(gate.forward(x)) * up.forward(x)).MoveToOuterDisposeScope();
    }
}
