using System.Reflection;
using System.Runtime.Loader;
using Zoo.Core.Options;

namespace Zoo.Core.Registry;

/// <summary>
/// Loads a plugin assembly the user names and registers its layers and tasks. Plugins go into the default
/// load context so that their reference to Zoo.Core (and TorchSharp) binds to the copies already loaded.
/// </summary>
public static class PluginLoader
{
    /// <summary>
    /// Loads <paramref name="path"/> and scans it into <paramref name="registry"/>. A missing file, a file that is
    /// not a .NET assembly, types that fail to load, or an assembly with no layer or task are errors naming the path.
    /// </summary>
    public static Assembly Load(ComponentRegistry registry, string path, string? referencedFrom = null)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new ZooConfigException(referencedFrom, "plugin", $"plugin file not found: {full}");
        Assembly assembly;
        try
        {
            assembly = AssemblyLoadContext.Default.Assemblies.FirstOrDefault(a => !a.IsDynamic && a.Location == full)
                ?? AssemblyLoadContext.Default.LoadFromAssemblyPath(full);
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException)
        {
            throw new ZooConfigException(referencedFrom, "plugin", $"{full} is not a loadable .NET assembly: {e.Message}");
        }
        int found;
        try
        {
            found = registry.Scan(assembly);
        }
        catch (ReflectionTypeLoadException e)
        {
            var first = e.LoaderExceptions.FirstOrDefault(x => x is not null)?.Message ?? e.Message;
            throw new ZooConfigException(referencedFrom, "plugin", $"{full}: its types failed to load: {first}");
        }
        if (found == 0)
            throw new ZooConfigException(referencedFrom, "plugin",
                $"{full} has no class marked [ZooLayer] or [ZooTask]; nothing to register");
        return assembly;
    }
}
