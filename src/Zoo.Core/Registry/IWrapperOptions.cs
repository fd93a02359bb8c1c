using System.Text.Json;

namespace Zoo.Core.Registry;

/// <summary>
/// Options of a layer that wraps another registered layer (e.g. Memory Caching around a memory layer), named in the
/// options' <c>base</c> field with its options in <c>base_options</c>. The registry checks the name against every
/// registered layer, plugins included, and binds <c>base_options</c> strictly against that layer's options when the
/// wrapper's options are bound, so a wrong name or option is a config error before anything is built; the wrapper
/// then builds the wrapped layer with <see cref="ComponentRegistry.CreateWrapped"/>.
/// </summary>
public interface IWrapperOptions
{
    /// <summary>Registered name of the wrapped layer.</summary>
    string Base { get; }

    /// <summary>The wrapped layer's options as written (a JSON object, or null for its defaults).</summary>
    JsonElement? BaseOptions { get; }

    /// <summary>
    /// What a layer must implement to be wrapped (an interface such as <c>IReadableMemory</c>). Implement it explicitly,
    /// so it is not an option: options are the record's public settable properties.
    /// </summary>
    Type WrappedContract { get; }
}
