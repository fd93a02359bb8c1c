namespace Zoo.Core.Options;

/// <summary>
/// Options whose fields constrain each other (e.g. d_model divisible by heads). Ranges of single
/// fields belong in <see cref="OptionAttribute"/>; this is for the rest.
/// </summary>
public interface IValidatableOptions
{
    /// <summary>Problems as (field, message) pairs; empty when valid. <paramref name="dModel"/> is the layer width, 0 for tasks.</summary>
    IEnumerable<(string Field, string Message)> Validate(int dModel);
}
