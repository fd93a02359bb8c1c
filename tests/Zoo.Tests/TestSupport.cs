using TorchSharp;
using System.Reflection;
using Zoo.Core.Layers;
using Zoo.Core.Registry;
using Zoo.Runner;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>Paths and helpers shared by tests. Tests never change torch's global defaults (docs/architecture.md, 'Testing conventions').</summary>
internal static class TestSupport
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Configuration =>
        typeof(TestSupport).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "Configuration").Value!;

    public static string ExamplePluginPath =>
        Path.Combine(RepoRoot, "examples", "Zoo.Example.Plugin", "bin", Configuration, "net10.0", "Zoo.Example.Plugin.dll");

    public static string BadPluginPath =>
        Path.Combine(RepoRoot, "tests", "Zoo.Tests.BadPlugin", "bin", Configuration, "net10.0", "Zoo.Tests.BadPlugin.dll");

    public static string ZooDll => Path.Combine(AppContext.BaseDirectory, "zoo.dll");

    public static ComponentRegistry Registry(bool withPlugin = false) =>
        ZooComponents.Create(withPlugin ? new[] { ExamplePluginPath } : null);

    /// <summary>Builds a layer in float64 with parameters drawn from <paramref name="seed"/> (explicit generator, no global state).</summary>
    public static SequenceLayer Float64Layer(ComponentRegistry registry, string name, string optionsJson, int dModel, long seed) =>
        Zoo.Testing.Float64Layer.Create(registry, name, optionsJson, dModel, (ulong)seed);

    public static Tensor Input(long b, long l, long d, long seed, ScalarType dtype = ScalarType.Float64) =>
        randn(new[] { b, l, d }, dtype: dtype, generator: new Generator((ulong)seed));

    public static double MaxAbsDiff(Tensor a, Tensor b) =>
        a.numel() == 0 && b.numel() == 0 ? 0 : (a - b).abs().max().to(ScalarType.Float64).item<double>();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Zoo.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Zoo.sln not found above " + AppContext.BaseDirectory);
    }
}
