using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Zoo.Tests;

/// <summary>
/// Finds host read-backs of tensors in C# source: calls that copy a tensor's values to the CPU and wait for the device
/// (<c>item</c>, <c>data</c>, <c>ToArray</c>, <c>ToSingle</c>, <c>allclose</c>, …) and casts of a tensor to a number. The
/// source is compiled against the assemblies the tests run with, so a call counts only when its receiver (or, for a
/// static call, its first argument) really is a tensor: LINQ's <c>ToArray</c> on a <c>Tensor[]</c> is not a read-back.
/// </summary>
internal static class HostReadBackScanner
{
    /// <summary>A read-back: where, and the call or cast as written.</summary>
    public sealed record Finding(string File, int Line, string Code);

    // Names of Tensor (and TensorAccessor) members and torch functions that return host values read from the device
    // (TorchSharp's equal is element-wise, a tensor, so it is not one).
    private static readonly HashSet<string> ReadBacks = new(StringComparer.Ordinal)
    {
        "item", "data", "ToArray", "ToScalar", "ToSingle", "ToDouble", "ToHalf", "ToBFloat16", "ToByte", "ToInt16",
        "ToInt32", "ToInt64", "ToBoolean", "ToComplexFloat32", "ToComplexFloat64", "ToNDArray", "tolist", "numpy",
        "allclose", "is_nonzero", "CopyTo",
    };

    // What ImplicitUsings gives every project of the repository (Directory.Build.props).
    private const string GlobalUsings =
        "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; " +
        "global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;";

    /// <summary>
    /// Compiles <paramref name="sources"/> (path, text) against the test process's assemblies, leaving out those named in
    /// <paramref name="excludedAssemblies"/> (the compiled sources' own), and returns every read-back with the
    /// compilation's errors; an error means symbols did not resolve and the scan cannot be trusted.
    /// </summary>
    public static (IReadOnlyList<Finding> Findings, IReadOnlyList<string> Errors) Scan(
        IEnumerable<(string Path, string Text)> sources, params string[] excludedAssemblies)
    {
        var trees = sources.Select(s => CSharpSyntaxTree.ParseText(s.Text, path: s.Path))
            .Append(CSharpSyntaxTree.ParseText(GlobalUsings, path: "GlobalUsings.cs")).ToList();
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => !excludedAssemblies.Contains(Path.GetFileNameWithoutExtension(p)))
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create("HostReadBackScan", trees, references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        var tensor = compilation.GetTypeByMetadataName("TorchSharp.torch+Tensor")
            ?? throw new InvalidOperationException("TorchSharp's Tensor type is not among the references");
        var findings = new List<Finding>();
        foreach (var tree in trees)
        {
            var model = compilation.GetSemanticModel(tree);
            foreach (var node in tree.GetRoot().DescendantNodes())
            {
                bool readBack = node switch
                {
                    InvocationExpressionSyntax call => IsReadBack(call, model, tensor),
                    CastExpressionSyntax cast => IsTensor(model.GetTypeInfo(cast.Expression).Type, tensor)
                                                 && !IsTensor(model.GetTypeInfo(cast).Type, tensor),
                    _ => false,
                };
                if (readBack)
                    findings.Add(new Finding(tree.FilePath, node.GetLocation().GetLineSpan().StartLinePosition.Line + 1, node.ToString()));
            }
        }
        return (findings, errors);
    }

    private static bool IsReadBack(InvocationExpressionSyntax call, SemanticModel model, INamedTypeSymbol tensor)
    {
        if (model.GetSymbolInfo(call).Symbol is not IMethodSymbol method || !ReadBacks.Contains(method.Name)) return false;
        if (call.Expression is MemberAccessExpressionSyntax access)
        {
            var receiver = model.GetTypeInfo(access.Expression).Type;
            if (IsTensor(receiver, tensor) || receiver?.Name == "TensorAccessor") return true;
        }
        // torch.allclose(a, b), or an extension method called as a static one.
        var first = call.ArgumentList.Arguments.FirstOrDefault();
        return method.IsStatic && first is not null && IsTensor(model.GetTypeInfo(first.Expression).Type, tensor);
    }

    private static bool IsTensor(ITypeSymbol? type, INamedTypeSymbol tensor)
    {
        for (var t = type; t is not null; t = t.BaseType)
            if (SymbolEqualityComparer.Default.Equals(t, tensor)) return true;
        return false;
    }
}
