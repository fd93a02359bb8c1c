using System.Text.Json;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Runner.Plots;

/// <summary>Chance levels of task settings as stored in result rows (task name and options JSON), for the figures' chance lines.</summary>
public static class ChanceLevels
{
    /// <summary>
    /// A lookup that builds each task setting once from <paramref name="registry"/> and asks it for its
    /// <see cref="IChanceLevel"/>; null for tasks without one, and for tasks or options the registry cannot build (a plugin
    /// not loaded, options from an older Zoo): a figure without a chance line is better than no figure.
    /// </summary>
    public static LeaderboardPlots.ChanceOf From(ComponentRegistry registry)
    {
        var cache = new Dictionary<(string, string), double?>();
        return (task, options) =>
        {
            if (cache.TryGetValue((task, options), out var known)) return known;
            double? chance = null;
            try
            {
                using var doc = JsonDocument.Parse(options.Length == 0 ? "{}" : options);
                var built = registry.CreateTask(task, registry.BindTaskOptions(task, doc.RootElement));
                if (built is IChanceLevel level) chance = level.Chance;
                (built as IDisposable)?.Dispose();
            }
            catch (Exception e) when (e is ZooConfigException or JsonException or ArgumentException)
            {
                chance = null;
            }
            return cache[(task, options)] = chance;
        };
    }
}
