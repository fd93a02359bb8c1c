namespace Zoo.Core.Registry;

/// <summary>
/// Registers an <see cref="Tasks.ISequenceTask"/> under a name. The class needs a public constructor
/// <c>(TOptions options)</c> where TOptions is <see cref="OptionsType"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ZooTaskAttribute : Attribute
{
    /// <param name="name">Name used in suite files.</param>
    /// <param name="optionsType">The task's options record.</param>
    public ZooTaskAttribute(string name, Type optionsType) => (Name, OptionsType) = (name, optionsType);

    /// <summary>Registered name.</summary>
    public string Name { get; }

    /// <summary>The options record bound from the suite file's <c>options</c> object.</summary>
    public Type OptionsType { get; }

    /// <summary>One line for <c>zoo list tasks</c>.</summary>
    public string Summary { get; init; } = "";
}
