namespace Zoo.Tests;

/// <summary>
/// Issue 15, case 20: build outputs link libtorch's files to the NuGet cache instead of copying ≈ 525 MB into every
/// runnable output folder, while the patched shim stays a real copy (the cache is never written to).
/// </summary>
public sealed class OutputLayoutTests
{
    private static readonly string Native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");

    [Fact]
    public void Libtorch_in_a_build_output_is_a_link_into_the_nuget_cache_and_the_patched_shim_is_a_copy()
    {
        if (!OperatingSystem.IsLinux()) return;  // the links and the shim patch are the Linux build's
        var libtorch = new FileInfo(Path.Combine(Native, "libtorch_cpu.so"));
        Assert.True(libtorch.Exists, $"{libtorch.FullName} missing");
        Assert.NotNull(libtorch.LinkTarget);
        Assert.True(File.Exists(libtorch.ResolveLinkTarget(returnFinalTarget: true)!.FullName), "the link resolves to a file");
        var shim = new FileInfo(Path.Combine(Native, "libLibTorchSharp.so"));
        Assert.True(shim.Exists, $"{shim.FullName} missing");
        Assert.Null(shim.LinkTarget);  // patched in place: a link would patch the cache's copy
        // What the folder itself holds stays small: the real (non-link) files are the shim and small libraries.
        long ownBytes = new DirectoryInfo(Native).EnumerateFiles().Where(f => f.LinkTarget is null).Sum(f => f.Length);
        Assert.True(ownBytes < 100L << 20, $"{ownBytes >> 20} MiB of real files in {Native}");
    }
}
