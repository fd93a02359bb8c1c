namespace Zoo.Core.Registry;

/// <summary>
/// Registers a <see cref="Layers.SequenceLayer"/> under a name. The class needs a public constructor
/// <c>(int dModel, TOptions options)</c> where TOptions is <see cref="OptionsType"/>, or
/// <c>(int dModel, TOptions options, ComponentRegistry registry)</c> for a layer that builds other registered layers
/// (see <see cref="IWrapperOptions"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ZooLayerAttribute : Attribute
{
    /// <param name="name">Name used in suite files and on the command line (lower-case, dashes).</param>
    /// <param name="optionsType">The layer's options record.</param>
    public ZooLayerAttribute(string name, Type optionsType) => (Name, OptionsType) = (name, optionsType);

    /// <summary>Registered name.</summary>
    public string Name { get; }

    /// <summary>The options record bound from the suite file's <c>options</c> object.</summary>
    public Type OptionsType { get; }

    /// <summary>One line for <c>zoo list layers</c>, citing the paper.</summary>
    public string Summary { get; init; } = "";
}
