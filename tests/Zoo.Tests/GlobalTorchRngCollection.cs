namespace Zoo.Tests;

/// <summary>
/// Tests that seed torch's global generator (<c>manual_seed</c>) and then compare two trainings or two builds. The
/// generator is one per process: a test class running in parallel that builds any layer draws from it between the seed
/// and the build, and the "same seed" runs differ. xUnit runs this collection alone, after the parallel ones.
/// </summary>
[CollectionDefinition(nameof(GlobalTorchRngCollection), DisableParallelization = true)]
public sealed class GlobalTorchRngCollection;
