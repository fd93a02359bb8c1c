using System.Reflection;
using System.Text.Json;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Tasks;

namespace Zoo.Core.Registry;

/// <summary>
/// Finds layers and tasks by name. Zoo's own assemblies and plugin assemblies are scanned the same way,
/// through <see cref="ZooLayerAttribute"/> and <see cref="ZooTaskAttribute"/>.
/// </summary>
public sealed class ComponentRegistry
{
    private readonly Dictionary<string, ComponentEntry> _layers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ComponentEntry> _tasks = new(StringComparer.Ordinal);

    /// <summary>Registered layers, by name.</summary>
    public IEnumerable<ComponentEntry> Layers => _layers.Values.OrderBy(e => e.Name, StringComparer.Ordinal);

    /// <summary>Registered tasks, by name.</summary>
    public IEnumerable<ComponentEntry> Tasks => _tasks.Values.OrderBy(e => e.Name, StringComparer.Ordinal);

    /// <summary>
    /// Registers every attributed type of <paramref name="assembly"/>; returns how many were found.
    /// A name registered twice is an error naming both sources.
    /// </summary>
    public int Scan(Assembly assembly)
    {
        var source = string.IsNullOrEmpty(assembly.Location) ? assembly.GetName().Name ?? "?" : assembly.Location;
        int found = 0;
        foreach (var type in assembly.GetTypes())
        {
            if (type.GetCustomAttribute<ZooLayerAttribute>() is { } la)
            {
                Check(type, typeof(SequenceLayer), source, new[] { typeof(int), la.OptionsType }, new[] { typeof(int), la.OptionsType, typeof(ComponentRegistry) });
                Add(_layers, "layer", new ComponentEntry(la.Name, type, la.OptionsType, la.Summary, source));
                found++;
            }
            if (type.GetCustomAttribute<ZooTaskAttribute>() is { } ta)
            {
                Check(type, typeof(ISequenceTask), source, new[] { ta.OptionsType });
                Add(_tasks, "task", new ComponentEntry(ta.Name, type, ta.OptionsType, ta.Summary, source));
                found++;
            }
        }
        return found;
    }

    /// <summary>The layer entry for <paramref name="name"/>, or a config error listing the known names.</summary>
    public ComponentEntry Layer(string name, string? file = null, string? field = null) => Find(_layers, "layer", name, file, field);

    /// <summary>The task entry for <paramref name="name"/>, or a config error listing the known names.</summary>
    public ComponentEntry Task(string name, string? file = null, string? field = null) => Find(_tasks, "task", name, file, field);

    /// <summary>
    /// Binds the layer's options from JSON (strictly) without building the layer; for a wrapper
    /// (<see cref="IWrapperOptions"/>) also checks the wrapped layer's name and binds its options.
    /// </summary>
    public object BindLayerOptions(string name, JsonElement? options, int dModel, string? file = null, string path = "options")
    {
        var bound = OptionsBinder.Bind(Layer(name, file).OptionsType, options, file, path, dModel);
        if (bound is IWrapperOptions wrapper) BindWrapped(wrapper, dModel, file, path);
        return bound;
    }

    /// <summary>Binds the task's options from JSON (strictly) without building the task.</summary>
    public object BindTaskOptions(string name, JsonElement? options, string? file = null, string path = "options") =>
        OptionsBinder.Bind(Task(name, file).OptionsType, options, file, path);

    /// <summary>Builds a layer of width <paramref name="dModel"/> from already-bound options.</summary>
    public SequenceLayer CreateLayer(string name, int dModel, object options)
    {
        var entry = Layer(name);
        return (SequenceLayer)(TakesRegistry(entry) ? Construct(entry, dModel, options, this) : Construct(entry, dModel, options));
    }

    /// <summary>Builds the layer that <paramref name="wrapper"/> names, with the same checks as binding its options.</summary>
    public SequenceLayer CreateWrapped(IWrapperOptions wrapper, int dModel)
    {
        var (name, options) = BindWrapped(wrapper, dModel, null, "options");
        return CreateLayer(name, dModel, options);
    }

    // The wrapped layer's name, checked against every registered layer that fulfils the wrapper's contract, and its
    // options bound under the wrapper's path.
    private (string Name, object Options) BindWrapped(IWrapperOptions wrapper, int dModel, string? file, string path)
    {
        var contract = wrapper.WrappedContract;
        var allowed = _layers.Values.Where(e => contract.IsAssignableFrom(e.Type)).Select(e => e.Name).Order(StringComparer.Ordinal).ToList();
        var field = $"{path}.{OptionsBinder.JsonName(nameof(IWrapperOptions.Base))}";
        if (!_layers.TryGetValue(wrapper.Base, out var entry) || !contract.IsAssignableFrom(entry.Type))
        {
            var near = NameMatcher.Nearest(wrapper.Base, allowed);
            var why = entry is null ? "no layer has that name" + (near is null ? "" : $" (did you mean '{near}'?)")
                : $"{entry.Type.Name} does not implement {contract.Name}";
            throw new ZooConfigException(file, field, $"'{wrapper.Base}' cannot be wrapped: {why}; allowed: {string.Join(", ", allowed)}");
        }
        var optionsPath = $"{path}.{OptionsBinder.JsonName(nameof(IWrapperOptions.BaseOptions))}";
        return (entry.Name, BindLayerOptions(entry.Name, wrapper.BaseOptions, dModel, file, optionsPath));
    }

    // A layer that builds other registered layers takes the registry as its constructor's third argument.
    private static bool TakesRegistry(ComponentEntry layer) =>
        layer.Type.GetConstructor(new[] { typeof(int), layer.OptionsType, typeof(ComponentRegistry) }) is not null;

    /// <summary>Builds a task from already-bound options.</summary>
    public ISequenceTask CreateTask(string name, object options) => (ISequenceTask)Construct(Task(name), options);

    private static object Construct(ComponentEntry entry, params object[] args)
    {
        try
        {
            return Activator.CreateInstance(entry.Type, args)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is { } inner)
        {
            if (inner is ZooConfigException) throw inner;
            throw new ZooConfigException(entry.Source, entry.Name,
                $"{entry.Type.Name} threw while being built: {inner.GetType().Name}: {inner.Message}");
        }
    }

    private static void Check(Type type, Type required, string source, params Type[][] ctorArgs)
    {
        if (!required.IsAssignableFrom(type) || type.IsAbstract)
            throw new ZooConfigException(source, type.FullName, $"is registered but is not a concrete {required.Name}");
        if (ctorArgs.All(args => type.GetConstructor(args) is null))
            throw new ZooConfigException(source, type.FullName,
                $"needs a public constructor {string.Join(" or ", ctorArgs.Select(args => $"({string.Join(", ", args.Select(t => t.Name))})"))}");
    }

    private static void Add(Dictionary<string, ComponentEntry> map, string kind, ComponentEntry entry)
    {
        if (map.TryGetValue(entry.Name, out var existing))
        {
            if (existing.Type == entry.Type) return; // the same assembly scanned twice
            throw new ZooConfigException(entry.Source, entry.Name,
                $"{kind} name '{entry.Name}' is already registered by {existing.Type.FullName} from {existing.Source}");
        }
        map[entry.Name] = entry;
    }

    private static ComponentEntry Find(Dictionary<string, ComponentEntry> map, string kind, string name, string? file, string? field)
    {
        if (map.TryGetValue(name, out var e)) return e;
        var near = NameMatcher.Nearest(name, map.Keys);
        var hint = near is null ? "" : $" (did you mean '{near}'?)";
        throw new ZooConfigException(file, field, $"unknown {kind} '{name}'{hint}; known {kind}s: {string.Join(", ", map.Keys.Order())}");
    }
}
