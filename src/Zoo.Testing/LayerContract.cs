using System.Reflection;
using TorchSharp;
using Zoo.Core.Layers;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Testing;

/// <summary>
/// The contract every <see cref="SequenceLayer"/> must meet (docs/architecture.md, 'Sequence layer'), as checks that
/// return a pass/fail result with a one-line reason instead of throwing, so that Zoo's tests, <c>zoo check</c> and a
/// plugin's own tests run the same code. Everything runs in float64 on the CPU with explicit generators.
/// </summary>
/// <remarks>
/// States are treated as opaque: the checks only hand them back to the layer. Two states are judged equal when the
/// layer, continuing from each, produces the same outputs on the same further tokens. The one exception is the
/// state-size check, which has to count the numbers a state holds.
/// </remarks>
public static class LayerContract
{
    /// <summary>The options JSON meaning "the layer's defaults".</summary>
    public const string Defaults = "{}";

    private const string Float64 = "float64", StepEqualsParallel = "step == parallel", HalvesEqualWhole = "halves == whole",
        OddLengths = "odd lengths", Causality = "causality", StateSize = "state size", Gradients = "gradients";

    /// <summary>The checks, in the order they run.</summary>
    public static IReadOnlyList<string> CheckNames { get; } =
        new[] { Float64, StepEqualsParallel, HalvesEqualWhole, OddLengths, Causality, StateSize, Gradients };

    /// <summary>
    /// Every registered layer accepted by <paramref name="include"/> (all by default), under each options set its class
    /// declares with <see cref="ContractCaseAttribute"/>, or under its defaults when it declares none. (A layer whose
    /// defaults need longer sequences than the checks use, e.g. a segment of 64, declares small shapes instead.)
    /// </summary>
    public static IEnumerable<ContractCase> Cases(ComponentRegistry registry, Func<ComponentEntry, bool>? include = null)
    {
        foreach (var entry in registry.Layers.Where(include ?? (_ => true)))
        {
            var declared = entry.Type.GetCustomAttributes<ContractCaseAttribute>().Select(a => a.Options).Distinct().ToList();
            foreach (var options in declared.Count == 0 ? new List<string> { Defaults } : declared)
                yield return new ContractCase(entry.Name, options);
        }
    }

    /// <summary>Runs every check on every case of <see cref="Cases"/>.</summary>
    public static IReadOnlyList<ContractResult> CheckAll(ComponentRegistry registry, Func<ComponentEntry, bool>? include = null, ContractSettings? settings = null) =>
        Cases(registry, include).SelectMany(c => Check(registry, c, settings)).ToList();

    /// <summary>
    /// Builds the layer of <paramref name="contractCase"/> from <paramref name="registry"/> and runs every check on it: one
    /// result per check, or a single failed <c>build</c> result when the layer cannot be built.
    /// </summary>
    public static IReadOnlyList<ContractResult> Check(ComponentRegistry registry, ContractCase contractCase, ContractSettings? settings = null)
    {
        var s = settings ?? new ContractSettings();
        using var scope = NewDisposeScope();
        SequenceLayer layer;
        try
        {
            layer = Float64Layer.Create(registry, contractCase.Layer, contractCase.Options, s.DModel, s.Seed);
        }
        catch (Exception e)
        {
            return new[] { new ContractResult(contractCase, "build", false, OneLine(e)) };
        }
        using (layer)
        {
            var checks = new (string Name, Func<SequenceLayer, ContractSettings, (bool, string)> Run)[]
            {
                (Float64, CheckFloat64), (StepEqualsParallel, CheckStepEqualsParallel), (HalvesEqualWhole, CheckHalves),
                (OddLengths, CheckOddLengths), (Causality, CheckCausality), (StateSize, CheckStateSize),
                (Gradients, CheckGradients), // last: it leaves gradients on the parameters
            };
            var results = new List<ContractResult>();
            foreach (var (name, run) in checks)
            {
                using var checkScope = NewDisposeScope();
                try
                {
                    var (passed, reason) = run(layer, s);
                    results.Add(new ContractResult(contractCase, name, passed, reason));
                }
                catch (Exception e)
                {
                    results.Add(new ContractResult(contractCase, name, false, OneLine(e)));
                }
            }
            return results;
        }
    }

    // Outputs and states are float64 when the parameters and the input are; outputs are finite and shaped like the input.
    private static (bool, string) CheckFloat64(SequenceLayer layer, ContractSettings s)
    {
        var x = Input(2, 7, s, 1);
        var (y, _) = layer.Forward(x);
        if (y.dtype != ScalarType.Float64 || !y.shape.SequenceEqual(x.shape))
            return (false, $"Forward gave {y.dtype} {Shape(y)} for a Float64 {Shape(x)} input");
        if (!y.isfinite().all().item<bool>()) return (false, "Forward gave non-finite outputs");
        var (yt, _) = layer.Step(x.unbind(1)[0], layer.InitialState(2, x.device, ScalarType.Float64));
        if (yt.dtype != ScalarType.Float64 || !yt.shape.SequenceEqual(new[] { 2L, s.DModel }))
            return (false, $"Step gave {yt.dtype} {Shape(yt)}, expected Float64 [2, {s.DModel}]");
        if (!yt.isfinite().all().item<bool>()) return (false, "Step gave non-finite outputs");
        return (true, $"Forward {Shape(y)} and Step {Shape(yt)} outputs are finite Float64");
    }

    // Step token by token from the initial state == one parallel Forward: outputs, and the final states.
    private static (bool, string) CheckStepEqualsParallel(SequenceLayer layer, ContractSettings s)
    {
        var x = Input(3, 9, s, 2);
        var (parallel, parallelState) = layer.Forward(x);
        var state = layer.InitialState(3, x.device, x.dtype);
        var outputs = new List<Tensor>();
        foreach (var token in x.unbind(1))
        {
            var (y, next) = layer.Step(token, state);
            outputs.Add(y);
            state = next;
        }
        var stepped = stack(outputs, 1);
        return Agree(layer, s, "|step − forward|", parallel, stepped, parallelState, state);
    }

    // Forward over 5 then 6 tokens, carrying the state == Forward over all 11.
    private static (bool, string) CheckHalves(SequenceLayer layer, ContractSettings s) => CheckPieces(layer, s, new long[] { 5, 6 }, 3);

    // Pieces of 1, 3 and 7 tokens: a single token and lengths that are no multiple of any chunk or segment size must
    // still read and update the memory like the whole sequence does.
    private static (bool, string) CheckOddLengths(SequenceLayer layer, ContractSettings s) => CheckPieces(layer, s, new long[] { 1, 3, 7 }, 4);

    private static (bool, string) CheckPieces(SequenceLayer layer, ContractSettings s, long[] lengths, ulong inputSeed)
    {
        var x = Input(2, lengths.Sum(), s, inputSeed);
        var (whole, wholeState) = layer.Forward(x);
        LayerState? state = null;
        var outputs = new List<Tensor>();
        foreach (var piece in x.split(lengths, 1))
        {
            var (y, next) = layer.Forward(piece, state);
            outputs.Add(y);
            state = next;
        }
        return Agree(layer, s, $"|pieces {string.Join("+", lengths)} − whole|", whole, cat(outputs, 1), wholeState, state!);
    }

    // A change to token 5 leaves outputs 0..4 unchanged and changes output 5 or later.
    private static (bool, string) CheckCausality(SequenceLayer layer, ContractSettings s)
    {
        var x = Input(1, 8, s, 5);
        var changed = x.clone();
        changed[.., 5] += 1.0;
        var (a, _) = layer.Forward(x);
        var (b, _) = layer.Forward(changed);
        var pastA = a.split(new long[] { 5, 3 }, 1);
        var pastB = b.split(new long[] { 5, 3 }, 1);
        double past = MaxAbsDiff(pastA[0], pastB[0]), future = MaxAbsDiff(pastA[1], pastB[1]);
        if (past >= s.Tolerance) return (false, $"changing token 5 changed earlier outputs by {past:G3}");
        if (future <= s.MinEffect) return (false, $"changing token 5 changed no output from 5 on (max {future:G3})");
        return (true, $"earlier outputs unchanged ({past:G3}), later ones moved by {future:G3}");
    }

    // StateSize(L) is the recurrent memory per sequence after L tokens, the x-axis of accuracy-vs-state plots. Layers may
    // count it as their peak (a segment's full cache) or leave out parts that are off (a leaky RNN without adaptation still
    // carries a zero adaptation vector), so the check holds the declaration to what can be judged from outside: a layer
    // that holds numbers declares a positive size that does not depend on the batch, and the declared size grows with L
    // exactly when the numbers held do (a KV cache declared as constant, or a fixed memory declared as growing, fail).
    private static (bool, string) CheckStateSize(SequenceLayer layer, ContractSettings s)
    {
        const long shortLength = 9, longLength = 4 * shortLength;
        var (_, shortState) = layer.Forward(Input(2, shortLength, s, 6));
        var (_, longState) = layer.Forward(Input(2, longLength, s, 6));
        var (_, oneState) = layer.Forward(Input(1, shortLength, s, 6));
        long heldShort = FloatingNumbers(shortState), heldLong = FloatingNumbers(longState), heldOne = FloatingNumbers(oneState);
        long declaredShort = layer.StateSize(shortLength), declaredLong = layer.StateSize(longLength);
        if (heldShort != 2 * heldOne) return (false, $"the state holds {heldOne} numbers for 1 sequence but {heldShort} for 2: not per sequence");
        heldShort /= 2;
        heldLong /= 2;
        if (declaredShort < 0 || (heldShort > 0) != (declaredShort > 0))
            return (false, $"StateSize({shortLength}) = {declaredShort}, but the state holds {heldShort} numbers per sequence");
        static bool Grows(long a, long b) => b >= 2 * a && b > a;
        bool heldGrows = Grows(heldShort, heldLong), declaredGrows = Grows(declaredShort, declaredLong);
        var seen = $"StateSize {declaredShort} → {declaredLong}, state holds {heldShort} → {heldLong} per sequence (L {shortLength} → {longLength})";
        return heldGrows == declaredGrows ? (true, seen) : (false, $"{seen}: one grows with L and the other does not");
    }

    // The one place the kit looks inside a state (its layout belongs to the layer): how many floating-point numbers it holds.
    private static long FloatingNumbers(LayerState state) => state.AllTensors().Where(t => t.is_floating_point()).Sum(t => t.numel());

    // Every parameter gets a finite, non-zero gradient from the outputs (vacuous for a layer without parameters).
    private static (bool, string) CheckGradients(SequenceLayer layer, ContractSettings s)
    {
        var parameters = layer.named_parameters().ToList();
        if (parameters.Count == 0) return (true, "the layer has no parameters");
        var (y, _) = layer.Forward(Input(2, 7, s, 7));
        y.pow(2).sum().backward();
        foreach (var (name, p) in parameters)
        {
            if (p.grad is null) return (false, $"{name} got no gradient");
            if (!p.grad.isfinite().all().item<bool>()) return (false, $"{name} has a non-finite gradient");
            if (p.grad.abs().sum().item<double>() <= 0) return (false, $"{name} has an all-zero gradient");
        }
        return (true, parameters.Count == 1 ? "the parameter gets a finite non-zero gradient" : $"all {parameters.Count} parameters get finite non-zero gradients");
    }

    // Outputs within tolerance, and the two final states indistinguishable: continuing from each gives the same outputs.
    private static (bool, string) Agree(SequenceLayer layer, ContractSettings s, string what, Tensor expected, Tensor actual, LayerState expectedState, LayerState actualState)
    {
        if (!expected.shape.SequenceEqual(actual.shape)) return (false, $"shapes differ: {Shape(expected)} vs {Shape(actual)}");
        double outputs = MaxAbsDiff(expected, actual);
        if (!(outputs < s.Tolerance)) return (false, $"max {what} = {outputs:G3} (tolerance {s.Tolerance:G3})");
        var probe = Input(expected.shape[0], 5, s, 99);
        double states = MaxAbsDiff(layer.Forward(probe, expectedState).Output, layer.Forward(probe, actualState).Output);
        if (!(states < s.Tolerance)) return (false, $"outputs agree ({outputs:G3}) but continuing from the two final states differs by {states:G3}");
        return (true, $"max {what} = {outputs:G3}; continuing from the final states: {states:G3}");
    }

    private static Tensor Input(long batch, long length, ContractSettings s, ulong stream)
    {
        using var generator = new Generator(s.Seed * 1000 + stream);   // a native handle, not a tensor: no scope frees it
        return randn(new[] { batch, length, s.DModel }, dtype: ScalarType.Float64, generator: generator);
    }

    private static double MaxAbsDiff(Tensor a, Tensor b) =>
        a.numel() == 0 && b.numel() == 0 ? 0 : (a - b).abs().max().item<double>();

    private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    private static string OneLine(Exception e)
    {
        var inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
        return $"{inner.GetType().Name}: {inner.Message.Split('\n')[0].Trim()}";
    }
}
