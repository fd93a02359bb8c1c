using Zoo.Core.Registry;

namespace Zoo.Runner;

/// <summary>The registry of Zoo's built-in layers and tasks plus any plugins.</summary>
public static class ZooComponents
{
    /// <summary>Scans Zoo.Layers, Zoo.Tasks and each plugin in <paramref name="pluginPaths"/>.</summary>
    public static ComponentRegistry Create(IEnumerable<string>? pluginPaths = null, string? referencedFrom = null)
    {
        var registry = new ComponentRegistry();
        registry.Scan(typeof(Zoo.Layers.Recurrent.Lstm).Assembly);
        registry.Scan(typeof(Zoo.Tasks.Recall.Mqar).Assembly);
        foreach (var p in pluginPaths ?? Array.Empty<string>()) PluginLoader.Load(registry, p, referencedFrom);
        return registry;
    }
}
