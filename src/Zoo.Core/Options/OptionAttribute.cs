namespace Zoo.Core.Options;

/// <summary>
/// Documents one field of an options record and its allowed range. The binder enforces the range and
/// <c>zoo list</c> prints the description and the default.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OptionAttribute : Attribute
{
    /// <param name="description">One line: what the field means (cite the equation where there is one).</param>
    public OptionAttribute(string description) => Description = description;

    /// <summary>What the field means.</summary>
    public string Description { get; }

    /// <summary>
    /// The field was added after results with its options type were published: the canonical JSON (and so the config
    /// hash) leaves it out while it holds its default, so adding it leaves every committed hash as it was. A field
    /// marked so must default to the behaviour the layer had before it existed.
    /// </summary>
    public bool AddedLater { get; init; }

    /// <summary>Smallest allowed value (numbers only); NaN for none.</summary>
    public double Min { get; init; } = double.NaN;

    /// <summary>Largest allowed value (numbers only); NaN for none.</summary>
    public double Max { get; init; } = double.NaN;

    /// <summary>When true, <see cref="Min"/> itself is not allowed.</summary>
    public bool MinExclusive { get; init; }

    /// <summary>When true, <see cref="Max"/> itself is not allowed.</summary>
    public bool MaxExclusive { get; init; }

    /// <summary>The range as text, e.g. <c>(0, 1]</c>, or null when unbounded.</summary>
    /// <param name="typeMin">The field type's own smallest value (e.g. <see cref="int.MinValue"/>), shown when <see cref="Min"/> is unset; NaN for none.</param>
    /// <param name="typeMax">The field type's own largest value, shown when <see cref="Max"/> is unset; NaN for none.</param>
    public string? RangeText(double typeMin = double.NaN, double typeMax = double.NaN)
    {
        if (double.IsNaN(Min) && double.IsNaN(Max) && double.IsNaN(typeMin)) return null;
        var lo = !double.IsNaN(Min) ? (MinExclusive ? "(" : "[") + Fmt(Min) : double.IsNaN(typeMin) ? "(-inf" : "[" + Fmt(typeMin);
        var hi = !double.IsNaN(Max) ? Fmt(Max) + (MaxExclusive ? ")" : "]") : double.IsNaN(typeMax) ? "inf)" : Fmt(typeMax) + "]";
        return $"{lo}, {hi}";
    }

    /// <summary>Whether <paramref name="v"/> lies in the range.</summary>
    public bool Allows(double v) =>
        !double.IsNaN(v)
        && (double.IsNaN(Min) || (MinExclusive ? v > Min : v >= Min))
        && (double.IsNaN(Max) || (MaxExclusive ? v < Max : v <= Max));

    private static string Fmt(double v) => v.ToString("G", System.Globalization.CultureInfo.InvariantCulture);
}
