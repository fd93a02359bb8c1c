namespace Zoo.Core.Tasks;

/// <summary>
/// Implemented by a task's options record when the task has a difficulty ladder: the changes MAD applies to this
/// baseline. The ladder is a function of the baseline (e.g. noisy recall's vocabulary changes include its noise
/// vocabulary), so it lives on the bound options, not on the task class. It is a method, not a field, so it never
/// enters an options hash.
/// </summary>
public interface IDifficultyLadder
{
    /// <summary>Every change, in the order MAD lists them; the baseline itself is not one of them.</summary>
    IReadOnlyList<DifficultyChange> DifficultyChanges();
}
