namespace Zoo.Layers;

/// <summary>Per-head dimensions of the memory layers: given explicitly, or d_model / heads (0 = derive).</summary>
internal static class HeadDims
{
    public static int Resolve(int given, int dModel, int heads) => given > 0 ? given : dModel / heads;

    /// <summary>A derived dimension needs d_model divisible by the head count.</summary>
    public static IEnumerable<(string Field, string Message)> Check(int dModel, int heads, int keyDim, int valueDim)
    {
        if (dModel > 0 && (keyDim == 0 || valueDim == 0) && dModel % heads != 0)
            yield return ("heads", $"d_model {dModel} is not divisible by heads {heads}; allowed: a divisor of {dModel}, or set key_dim and value_dim");
    }
}
