using System.Text.Json;

namespace Zoo.Core.Options;

/// <summary>
/// Refuses JSON objects that give a key twice (<c>"steps": 3, "steps": 4</c>): which one wins is a parser detail, so
/// the file does not say what it means. Called on every config file before its values are read.
/// </summary>
public static class DuplicateKeys
{
    /// <summary>Throws a config error naming <paramref name="file"/>, the key's JSON path and the key when one repeats.</summary>
    public static void Check(JsonElement element, string? file, string at = "")
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in element.EnumerateObject())
            {
                var path = at.Length == 0 ? p.Name : $"{at}.{p.Name}";
                if (!seen.Add(p.Name))
                    throw new ZooConfigException(file, path, $"key '{p.Name}' appears twice in {(at.Length == 0 ? "the top-level object" : at)}; give each key once");
                Check(p.Value, file, path);
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in element.EnumerateArray()) Check(item, file, $"{at}[{i++}]");
        }
    }
}
