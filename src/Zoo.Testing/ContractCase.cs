namespace Zoo.Testing;

/// <summary>One registered layer under one options set (JSON): what the contract checks run on.</summary>
/// <param name="Layer">Registered layer name.</param>
/// <param name="Options">The layer's <c>options</c> object as JSON; <c>{}</c> for its defaults.</param>
public sealed record ContractCase(string Layer, string Options)
{
    /// <summary>The layer name, followed by its options unless they are the defaults.</summary>
    public override string ToString() => Options == LayerContract.Defaults ? Layer : $"{Layer} {Options}";
}
