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
                Check(type, typeof(SequenceLayer), source, new[] { typeof(int), la.OptionsType });
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

    /// <summary>Binds the layer's options from JSON (strictly) without building the layer.</summary>
    public object BindLayerOptions(string name, JsonElement? options, int dModel, string? file = null, string path = "options") =>
        OptionsBinder.Bind(Layer(name, file).OptionsType, options, file, path, dModel);

    /// <summary>Binds the task's options from JSON (strictly) without building the task.</summary>
    public object BindTaskOptions(string name, JsonElement? options, string? file = null, string path = "options") =>
        OptionsBinder.Bind(Task(name, file).OptionsType, options, file, path);

    /// <summary>Builds a layer of width <paramref name="dModel"/> from already-bound options.</summary>
    public SequenceLayer CreateLayer(string name, int dModel, object options) =>
        (SequenceLayer)Construct(Layer(name), dModel, options);

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

    private static void Check(Type type, Type required, string source, Type[] ctorArgs)
    {
        if (!required.IsAssignableFrom(type) || type.IsAbstract)
            throw new ZooConfigException(source, type.FullName, $"is registered but is not a concrete {required.Name}");
        if (type.GetConstructor(ctorArgs) is null)
            throw new ZooConfigException(source, type.FullName,
                $"needs a public constructor ({string.Join(", ", ctorArgs.Select(t => t.Name))})");
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
