using Zoo.Core.Layers;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// A layer's fast form against its reference form with the same weights, in float64: from a non-zero initial state made a
/// leaf (so its gradient is compared too), over a length the chunk does not divide; the loss reads the outputs and the final
/// state. Returns the largest differences of outputs, final state, parameter gradients and initial-state gradients.
/// </summary>
internal static class FormComparison
{
    public sealed record Diffs(double Output, double State, double ParameterGrad, double InitialStateGrad)
    {
        public double Max => Math.Max(Math.Max(Output, State), Math.Max(ParameterGrad, InitialStateGrad));
        public override string ToString() =>
            $"outputs {Output:E2}, final state {State:E2}, parameter gradients {ParameterGrad:E2}, initial-state gradients {InitialStateGrad:E2}";
    }

    public static Diffs Compare(string layer, string fastOptions, string referenceOptions, int dModel, long prefix, long length)
    {
        using var scope = NewDisposeScope();
        var registry = TestSupport.Registry();
        var fast = TestSupport.Float64Layer(registry, layer, fastOptions, dModel, seed: 5);
        var reference = TestSupport.Float64Layer(registry, layer, referenceOptions, dModel, seed: 5);
        var warm = TestSupport.Input(2, prefix, dModel, seed: 6);
        var x = TestSupport.Input(2, length, dModel, seed: 7);
        (Tensor Y, LayerState S, Tensor[] Grads, Tensor[] StateGrads) Run(SequenceLayer m)
        {
            var (_, s0) = m.Forward(warm);
            var leaf = s0.Map(t => t.detach().requires_grad_());
            var (y, s) = m.Forward(x, leaf);
            var loss = (y * linspace(-1, 1, y.numel(), dtype: y.dtype).reshape(y.shape)).sum();
            foreach (var (_, t) in s.Tensors.Where(t => t.Tensor.numel() > 0))
                loss = loss + (t * linspace(-0.5, 0.5, t.numel(), dtype: t.dtype).reshape(t.shape)).sum();
            loss.backward();
            return (y.detach(), s, m.parameters().Select(p => p.grad!.clone()).ToArray(),
                    leaf.Tensors.Select(t => t.Tensor.grad ?? zeros_like(t.Tensor)).ToArray());
        }
        var (fy, fs, fg, fsg) = Run(fast);
        var (ry, rs, rg, rsg) = Run(reference);
        Assert.Equal(rg.Length, fg.Length);
        Assert.Equal(rsg.Length, fsg.Length);
        Assert.True(rsg.Any(g => g.abs().sum().to(ScalarType.Float64).item<double>() > 0), "no gradient reached the initial state");
        double Worst(Tensor[] a, Tensor[] b) => a.Zip(b).Select(p => TestSupport.MaxAbsDiff(p.First, p.Second)).DefaultIfEmpty(0).Max();
        return new Diffs(TestSupport.MaxAbsDiff(fy, ry), TestSupport.MaxStateDiff(fs, rs), Worst(fg, rg), Worst(fsg, rsg));
    }
}
