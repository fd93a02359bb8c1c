namespace Zoo.Runner;

/// <summary>
/// Tells an allocation failure from other failures, so that a run or a throughput measurement that ran out of memory
/// is recorded as <c>oom</c> (a property of the configuration and the machine), not as <c>error</c>.
/// </summary>
public static class AllocationFailure
{
    /// <summary>
    /// True for an allocation failure: .NET's <see cref="OutOfMemoryException"/>, CUDA's "out of memory" and libtorch's
    /// CPU allocator ("DefaultCPUAllocator: can't allocate memory").
    /// </summary>
    public static bool Is(Exception e) =>
        e is OutOfMemoryException
        || e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
        || e.Message.Contains("can't allocate memory", StringComparison.OrdinalIgnoreCase);
}
