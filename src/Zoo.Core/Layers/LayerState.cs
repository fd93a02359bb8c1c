using TorchSharp;
using static TorchSharp.torch;

namespace Zoo.Core.Layers;

/// <summary>
/// The recurrent state a <see cref="SequenceLayer"/> carries between steps or segments, as named parts: tensors
/// (<c>state["h"]</c>), child states (<c>state.Child("memory")</c>: the state of a layer a composite is built from, in
/// that layer's own names) and counters (<c>state.Counter("position")</c>: host-side facts such as the position in a
/// chunk, kept as numbers so that reading them never waits for the device). Only the layer that made a state reads it.
/// </summary>
/// <remarks>
/// A state is built once, by chaining <see cref="With(string, Tensor)"/> calls on a new one, and read afterwards; a
/// layer returns a new state from each call. Names are unique per kind within one state, and parts keep the order they
/// were added in. <see cref="Dispose"/>, <see cref="MoveToOuterDisposeScope"/> and <see cref="Map"/> walk the whole tree.
/// </remarks>
public sealed class LayerState : IDisposable
{
    private readonly OrderedDictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);
    private readonly OrderedDictionary<string, LayerState> _children = new(StringComparer.Ordinal);
    private readonly OrderedDictionary<string, long> _counters = new(StringComparer.Ordinal);

    /// <summary>Adds the tensor <paramref name="name"/>; the state owns it from now on. Returns this state.</summary>
    public LayerState With(string name, Tensor tensor) => Add(_tensors, "tensor", name, tensor);

    /// <summary>Adds the child state <paramref name="name"/>; this state owns it from now on. Returns this state.</summary>
    public LayerState With(string name, LayerState child) => Add(_children, "child state", name, child);

    /// <summary>Adds the counter <paramref name="name"/>. Returns this state.</summary>
    public LayerState WithCounter(string name, long value) => Add(_counters, "counter", name, value);

    /// <summary>The tensor <paramref name="name"/>.</summary>
    public Tensor this[string name] => Get(_tensors, "tensor", name);

    /// <summary>The child state <paramref name="name"/>.</summary>
    public LayerState Child(string name) => Get(_children, "child state", name);

    /// <summary>The counter <paramref name="name"/>.</summary>
    public long Counter(string name) => Get(_counters, "counter", name);

    /// <summary>This state's own tensors, in the order they were added.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> Tensors => _tensors.Select(p => (p.Key, p.Value));

    /// <summary>This state's child states, in the order they were added.</summary>
    public IEnumerable<(string Name, LayerState State)> Children => _children.Select(p => (p.Key, p.Value));

    /// <summary>This state's own counters, in the order they were added.</summary>
    public IEnumerable<(string Name, long Value)> Counters => _counters.Select(p => (p.Key, p.Value));

    /// <summary>Every tensor of the tree: this state's own, then each child's, depth first.</summary>
    public IEnumerable<Tensor> AllTensors() => _tensors.Values.Concat(_children.Values.SelectMany(c => c.AllTensors()));

    /// <summary>
    /// A state of the same shape (names, children, counters) whose every tensor is <paramref name="f"/> of this one's,
    /// e.g. <c>t =&gt; t.detach()</c> for truncated BPTT or <c>t =&gt; t.to(device)</c> to move it.
    /// </summary>
    public LayerState Map(Func<Tensor, Tensor> f)
    {
        var mapped = new LayerState();
        foreach (var (name, t) in _tensors) mapped.With(name, f(t));
        foreach (var (name, c) in _children) mapped.With(name, c.Map(f));
        foreach (var (name, v) in _counters) mapped.WithCounter(name, v);
        return mapped;
    }

    /// <summary>Moves every tensor of the tree out of the current dispose scope so it survives the scope's end.</summary>
    public LayerState MoveToOuterDisposeScope()
    {
        foreach (var t in _tensors.Values) t.MoveToOuterDisposeScope();
        foreach (var c in _children.Values) c.MoveToOuterDisposeScope();
        return this;
    }

    /// <summary>Disposes every tensor of the tree.</summary>
    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        foreach (var c in _children.Values) c.Dispose();
    }

    private LayerState Add<T>(OrderedDictionary<string, T> parts, string kind, string name, T value)
    {
        if (!parts.TryAdd(name, value)) throw new ArgumentException($"the state already has a {kind} '{name}'", nameof(name));
        return this;
    }

    private static T Get<T>(OrderedDictionary<string, T> parts, string kind, string name) =>
        parts.TryGetValue(name, out var value) ? value
        : throw new KeyNotFoundException($"the state has no {kind} '{name}'; it has: {(parts.Count == 0 ? "none" : string.Join(", ", parts.Keys))}");
}
