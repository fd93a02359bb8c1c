namespace Zoo.Tests;

/// <summary>
/// A learning check too slow for the default run (CI has 2 cores). Tagged <c>Category=Slow</c> and skipped unless
/// <c>ZOO_SLOW=1</c>: run them with <c>ZOO_SLOW=1 dotnet test Zoo.sln --filter Category=Slow</c>.
/// </summary>
public sealed class SlowFactAttribute : FactAttribute
{
    public SlowFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ZOO_SLOW") != "1")
            Skip = "slow learning check: ZOO_SLOW=1 dotnet test Zoo.sln --filter Category=Slow";
    }
}
