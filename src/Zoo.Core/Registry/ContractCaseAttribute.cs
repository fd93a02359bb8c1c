namespace Zoo.Core.Registry;

/// <summary>
/// An options set (JSON, as in a suite file) under which the layer contract checks (Zoo.Testing) run this layer, besides
/// its defaults. Declare the small shapes that reach the layer's other code paths: chunk sizes below the test lengths,
/// reference forms, optional parts switched off. Repeatable.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class ContractCaseAttribute : Attribute
{
    /// <param name="options">The layer's <c>options</c> object as JSON, e.g. <c>{"chunk_size": 4}</c>.</param>
    public ContractCaseAttribute(string options) => Options = options;

    /// <summary>The options object as JSON.</summary>
    public string Options { get; }
}
