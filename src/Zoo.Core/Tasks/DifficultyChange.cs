using System.Globalization;
using System.Text.Json.Nodes;

namespace Zoo.Core.Tasks;

/// <summary>
/// One named difficulty change: option overrides applied to a task's baseline options, one change at a time
/// (MAD's protocol, Poli et al. 2024, "Mechanistic Design and Scaling of Hybrid Architectures", §3: each task has a
/// baseline setting and changes of one knob each — vocabulary, length, training-set size, noise —, and a task's score
/// is the mean over the baseline and every change).
/// </summary>
/// <param name="Name">Name used in suite files, e.g. <c>vocab=64</c>.</param>
/// <param name="Overrides">Options fields to set (snake_case, as in a suite file's <c>options</c> object).</param>
public sealed record DifficultyChange(string Name, JsonObject Overrides)
{
    /// <summary>The change that sets one field: named <c>field=value</c>.</summary>
    public static DifficultyChange Set(string field, double value)
    {
        var text = value.ToString("G", CultureInfo.InvariantCulture);
        return new DifficultyChange($"{field}={text}", new JsonObject { [field] = value == Math.Floor(value) && Math.Abs(value) < 1e15 ? JsonValue.Create((long)value) : JsonValue.Create(value) });
    }

    /// <summary>One change per value of <paramref name="field"/>.</summary>
    public static IEnumerable<DifficultyChange> Each(string field, params double[] values) => values.Select(v => Set(field, v));
}
