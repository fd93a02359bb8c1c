namespace Zoo.Core.Tasks;

/// <summary>Which stream of examples: train and test never share a seed.</summary>
public enum Split
{
    /// <summary>Training examples.</summary>
    Train,
    /// <summary>Held-out examples used for evaluation.</summary>
    Test,
}
