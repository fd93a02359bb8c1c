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

    public static string MemoryPluginPath =>
        Path.Combine(RepoRoot, "tests", "Zoo.Tests.MemoryPlugin", "bin", Configuration, "net10.0", "Zoo.Tests.MemoryPlugin.dll");

    public static string ZooDll => Path.Combine(AppContext.BaseDirectory, "zoo.dll");

    public static ComponentRegistry Registry(bool withPlugin = false) =>
        ZooComponents.Create(withPlugin ? new[] { ExamplePluginPath } : null);

    /// <summary>Builds a layer in float64 with parameters drawn from <paramref name="seed"/> (explicit generator, no global state).</summary>
    public static SequenceLayer Float64Layer(ComponentRegistry registry, string name, string optionsJson, int dModel, long seed) =>
        Zoo.Testing.Float64Layer.Create(registry, name, optionsJson, dModel, (ulong)seed);

    public static Tensor Input(long b, long l, long d, long seed, ScalarType dtype = ScalarType.Float64) =>
        randn(new[] { b, l, d }, dtype: dtype, generator: new Generator((ulong)seed));

    // Root-mean-square error of a lower-precision result against its float64 reference, relative to the reference's RMS.
    public static double RelativeRmse(Tensor reference, Tensor result) =>
        (reference - result.to(ScalarType.Float64)).pow(2).mean().sqrt().item<double>() / reference.pow(2).mean().sqrt().item<double>();

    public static double MaxAbsDiff(Tensor a, Tensor b) =>
        a.numel() == 0 && b.numel() == 0 ? 0 : (a - b).abs().max().to(ScalarType.Float64).item<double>();

    /// <summary>
    /// Asserts that a fast form's run equals the reference's: outputs and final state within <paramref name="tolerance"/>,
    /// each gradient (named by <paramref name="names"/>) within <paramref name="gradientTolerance"/>; the largest
    /// differences go to <paramref name="output"/> after <paramref name="label"/>.
    /// </summary>
    public static void AssertSameRun(Xunit.Abstractions.ITestOutputHelper output, string label, (Tensor O, Tensor S, Tensor[] Grads) reference,
        (Tensor O, Tensor S, Tensor[] Grads) fast, IReadOnlyList<string> names, double tolerance, double gradientTolerance)
    {
        double dO = MaxAbsDiff(reference.O, fast.O), dS = MaxAbsDiff(reference.S, fast.S);
        var dG = reference.Grads.Zip(fast.Grads, MaxAbsDiff).ToArray();
        output.WriteLine($"{label}: |Δo| {dO:E2} |ΔS| {dS:E2} max |Δgrad| {dG.Max():E2}");
        Assert.True(dO < tolerance, $"outputs differ by {dO}");
        Assert.True(dS < tolerance, $"final states differ by {dS}");
        for (int i = 0; i < dG.Length; i++)
            Assert.True(dG[i] < gradientTolerance, $"grad of {names[i]} differs by {dG[i]}");
    }

    /// <summary>
    /// The largest difference between two states' tensors, walking both trees by name; a state whose names, shapes or
    /// counters differ from the other's fails the assertion, naming the path.
    /// </summary>
    public static double MaxStateDiff(LayerState a, LayerState b, string path = "state")
    {
        Assert.Equal(a.Tensors.Select(t => t.Name), b.Tensors.Select(t => t.Name));
        Assert.Equal(a.Children.Select(c => c.Name), b.Children.Select(c => c.Name));
        Assert.True(a.Counters.SequenceEqual(b.Counters), $"{path}: counters differ");
        double worst = 0;
        foreach (var (name, t) in a.Tensors)
        {
            Assert.True(t.shape.SequenceEqual(b[name].shape), $"{path}.{name}: shapes differ");
            worst = Math.Max(worst, MaxAbsDiff(t, b[name]));
        }
        foreach (var (name, child) in a.Children) worst = Math.Max(worst, MaxStateDiff(child, b.Child(name), $"{path}.{name}"));
        return worst;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Zoo.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Zoo.sln not found above " + AppContext.BaseDirectory);
    }
}
