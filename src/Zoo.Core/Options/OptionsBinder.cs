using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Zoo.Core.Options;

/// <summary>
/// Binds a JSON object onto an options record, strictly: unknown fields, wrong types and values out of
/// range are <see cref="ZooConfigException"/>s naming the file, the field and what is allowed.
/// Fields are the record's public settable properties, spelled snake_case in JSON (<c>HeadDim</c> → <c>head_dim</c>);
/// a field the JSON leaves out keeps the record's default.
/// </summary>
public static class OptionsBinder
{
    /// <summary>One documented field of an options type, for binding and for <c>zoo list</c>.</summary>
    public sealed record Field(string JsonName, PropertyInfo Property, OptionAttribute? Doc)
    {
        /// <summary>The allowed values in words: a range, an enum's names, or the type.</summary>
        public string Allowed()
        {
            var t = Nullable.GetUnderlyingType(Property.PropertyType) ?? Property.PropertyType;
            if (t.IsEnum) return "one of " + string.Join(", ", Enum.GetNames(t).Select(EnumName));
            if (IsNested(t)) return "an object: " + string.Join(", ", Fields(t).Select(f => f.JsonName));
            // A 32-bit field's own limits are part of what is allowed ("[1, 2147483647]", not "[1, inf)").
            var range = t == typeof(int) ? (Doc ?? new OptionAttribute("")).RangeText(int.MinValue, int.MaxValue) : Doc?.RangeText();
            var kind = TypeWord(t);
            return range is null ? kind : $"{kind} in {range}";
        }
    }

    /// <summary>The bindable fields of <paramref name="optionsType"/> in declaration order.</summary>
    public static IReadOnlyList<Field> Fields(Type optionsType) =>
        optionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract")
            .OrderBy(p => p.MetadataToken)
            .Select(p => new Field(JsonName(p.Name), p, p.GetCustomAttribute<OptionAttribute>()))
            .ToList();

    /// <summary>snake_case spelling of a property name.</summary>
    public static string JsonName(string propertyName) => JsonNamingPolicy.SnakeCaseLower.ConvertName(propertyName);

    /// <summary>
    /// Creates <paramref name="optionsType"/> with its defaults and overwrites the fields <paramref name="json"/> gives.
    /// </summary>
    /// <param name="optionsType">A record with a public parameterless constructor.</param>
    /// <param name="json">A JSON object, or null / undefined for all defaults.</param>
    /// <param name="file">File the JSON came from (for messages).</param>
    /// <param name="path">JSON path of the object (for messages), e.g. <c>layers[0].options</c>.</param>
    /// <param name="dModel">Layer width passed to <see cref="IValidatableOptions.Validate"/>; 0 for tasks.</param>
    public static object Bind(Type optionsType, JsonElement? json, string? file, string path, int dModel = 0)
    {
        var instance = Activator.CreateInstance(optionsType)
            ?? throw new InvalidOperationException($"{optionsType.Name} needs a public parameterless constructor");
        var fields = Fields(optionsType);
        var given = new HashSet<string>(StringComparer.Ordinal);
        if (json is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } obj)
        {
            if (obj.ValueKind != JsonValueKind.Object)
                throw new ZooConfigException(file, path, $"expected a JSON object, got {obj.ValueKind.ToString().ToLowerInvariant()}");
            foreach (var prop in obj.EnumerateObject())
            {
                var field = fields.FirstOrDefault(f => f.JsonName == prop.Name);
                var fieldPath = Join(path, prop.Name);
                if (field is null)
                {
                    var names = fields.Select(f => f.JsonName).ToList();
                    var near = NameMatcher.Nearest(prop.Name, names);
                    var hint = near is null ? "" : $" (did you mean '{near}'?)";
                    var allowed = names.Count == 0 ? "this has no options" : "allowed: " + string.Join(", ", names);
                    throw new ZooConfigException(file, fieldPath, $"unknown field{hint}; {allowed}");
                }
                field.Property.SetValue(instance, Convert(prop.Value, field, file, fieldPath, dModel));
                given.Add(field.JsonName);
            }
        }
        // A nested record the JSON leaves out keeps its default, which may still be wrong for this d_model (titans-mal's
        // default attention at an odd width): it is checked like a written one, so the error names its field here.
        foreach (var field in fields.Where(f => !given.Contains(f.JsonName) && IsNested(f.Property.PropertyType)))
            if (field.Property.GetValue(instance) is { } nested) Validate(nested, file, Join(path, field.JsonName), dModel);
        Validate(instance, file, path, dModel, nested: false);
        return instance;
    }

    // The record's own checks, and with `nested` those of every nested record inside it (all at their defaults).
    private static void Validate(object options, string? file, string path, int dModel, bool nested = true)
    {
        if (nested)
            foreach (var field in Fields(options.GetType()).Where(f => IsNested(f.Property.PropertyType)))
                if (field.Property.GetValue(options) is { } inner) Validate(inner, file, Join(path, field.JsonName), dModel);
        if (options is IValidatableOptions v && v.Validate(dModel).FirstOrDefault() is var problem && problem != default)
            throw new ZooConfigException(file, Join(path, problem.Field), problem.Message);
    }

    /// <summary>Typed convenience over <see cref="Bind(Type, JsonElement?, string?, string, int)"/>.</summary>
    public static T Bind<T>(JsonElement? json, string? file = null, string path = "options", int dModel = 0) where T : class =>
        (T)Bind(typeof(T), json, file, path, dModel);

    /// <summary>
    /// The options as a canonical JSON object (every field, snake_case, declaration order; a field marked
    /// <see cref="OptionAttribute.AddedLater"/> only when it differs from its default): what a result row hashes, so
    /// two spellings of the same configuration get the same hash.
    /// </summary>
    public static JsonObject ToJson(object options)
    {
        var o = new JsonObject();
        var type = options.GetType();
        foreach (var f in Fields(type))
        {
            var v = f.Property.GetValue(options);
            if (f.Doc?.AddedLater == true && Equals(v, f.Property.GetValue(DefaultsOf(type)))) continue;
            o[f.JsonName] = v switch
            {
                null => null,
                Enum e => JsonValue.Create(EnumName(e.ToString())),
                _ when IsNested(v.GetType()) => ToJson(v),
                _ => JsonSerializer.SerializeToNode(v, v.GetType()),
            };
        }
        return o;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, object> Defaults = new();

    // A fresh instance of an options record: its field initialisers are its defaults.
    private static object DefaultsOf(Type optionsType) => Defaults.GetOrAdd(optionsType, t => Activator.CreateInstance(t)!);

    /// <summary>A default value as text, the way JSON would spell it.</summary>
    public static string DefaultText(Field f, object defaults)
    {
        var v = f.Property.GetValue(defaults);
        return v switch
        {
            null => "null",
            Enum e => EnumName(e.ToString()),
            _ when IsNested(v.GetType()) => ToJson(v).ToJsonString(),
            bool b => b ? "true" : "false",
            IFormattable n => n.ToString(null, CultureInfo.InvariantCulture),
            _ => v.ToString() ?? "",
        };
    }

    private static object? Convert(JsonElement value, Field field, string? file, string path, int dModel)
    {
        var declared = field.Property.PropertyType;
        var underlying = Nullable.GetUnderlyingType(declared);
        if (value.ValueKind == JsonValueKind.Null)
        {
            if (underlying is not null || !declared.IsValueType) return null;
            throw new ZooConfigException(file, path, $"null is not allowed; expected {field.Allowed()}");
        }
        var t = underlying ?? declared;
        ZooConfigException Wrong() => new(file, path, $"{Show(value)} is not allowed; expected {field.Allowed()}");

        if (IsNested(t))
            return Bind(t, value, file, path, dModel);
        if (t.IsEnum)
        {
            if (value.ValueKind != JsonValueKind.String) throw Wrong();
            var match = Enum.GetNames(t).FirstOrDefault(n => EnumName(n) == value.GetString());
            return match is null ? throw Wrong() : Enum.Parse(t, match);
        }
        if (t == typeof(bool))
            return value.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => throw Wrong() };
        if (t == typeof(string))
            return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Wrong();
        if (t == typeof(int) || t == typeof(long) || t == typeof(double) || t == typeof(float))
        {
            if (value.ValueKind != JsonValueKind.Number) throw Wrong();
            double d = value.GetDouble();
            bool integral = t == typeof(int) || t == typeof(long);
            if (integral && (d != Math.Floor(d) || (t == typeof(int) && (d > int.MaxValue || d < int.MinValue))
                             || (t == typeof(long) && (d >= 9.2233720368547758E18 || d < -9.2233720368547758E18)))) throw Wrong();
            if (field.Doc is { } doc && !doc.Allows(d)) throw Wrong();
            if (double.IsNaN(d) || double.IsInfinity(d)) throw Wrong();
            return t == typeof(int) ? (object)(int)d : t == typeof(long) ? (object)(long)d : t == typeof(float) ? (object)(float)d : d;
        }
        try
        {
            return value.Deserialize(declared);
        }
        catch (JsonException)
        {
            throw Wrong();
        }
    }

    /// <summary>True for an options record nested inside another (bound recursively, strictly).</summary>
    public static bool IsNested(Type t) => t.IsClass && t != typeof(string) && !t.IsArray && t.GetConstructor(Type.EmptyTypes) is not null;

    private static string Show(JsonElement v) => v.ValueKind == JsonValueKind.String ? $"\"{v.GetString()}\"" : v.GetRawText();

    private static string Join(string path, string field) => string.IsNullOrEmpty(path) ? field : $"{path}.{field}";

    /// <summary>JSON spelling of an enum member: <c>LeakyRelu</c> → <c>leaky_relu</c>.</summary>
    public static string EnumName(string member) => JsonName(member);

    private static string TypeWord(Type t) =>
        t == typeof(int) || t == typeof(long) ? "integer"
        : t == typeof(double) || t == typeof(float) ? "number"
        : t == typeof(bool) ? "true or false"
        : t == typeof(string) ? "string"
        : t == typeof(JsonElement) ? "a JSON value"
        : t.Name;
}
