using Xunit.Abstractions;
using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>Based's Taylor linear attention: the feature map against eq. 2, the chunked form against the per-token reference.</summary>
public sealed class BasedTests(ITestOutputHelper output)
{
    [Fact]
    public void Taylor_features_give_the_second_order_expansion_of_exp()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        var q = randn(new long[] { 5, 7 }, dtype: ScalarType.Float64, generator: gen);
        var k = randn(new long[] { 5, 7 }, dtype: ScalarType.Float64, generator: gen);
        var kernel = (Based.TaylorFeatures(q) * Based.TaylorFeatures(k)).sum(-1);
        var s = (q * k).sum(-1) / Math.Sqrt(7);
        Assert.Equal(1 + 7 + 49, Based.TaylorFeatures(q).shape[^1]);
        Assert.True(TestSupport.MaxAbsDiff(kernel, 1 + s + s * s / 2) < 1e-12);
    }

    [Fact]
    public void Reference_is_normalised_attention_with_the_taylor_kernel()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(4);
        long b = 2, h = 2, l = 6, d = 3, v = 4, f = 1 + d + d * d;
        var q = randn(new[] { b, h, l, d }, dtype: ScalarType.Float64, generator: gen);
        var k = randn(new[] { b, h, l, d }, dtype: ScalarType.Float64, generator: gen);
        var values = randn(new[] { b, h, l, v }, dtype: ScalarType.Float64, generator: gen);
        var (y, _, _) = Based.Reference(Based.TaylorFeatures(q), Based.TaylorFeatures(k), values,
            zeros(new[] { b, h, f, v }, dtype: ScalarType.Float64), zeros(new[] { b, h, f }, dtype: ScalarType.Float64));
        var s = q.matmul(k.transpose(-1, -2)) / Math.Sqrt(d);
        var a = (1 + s + s * s / 2).tril();                                   // causal Taylor kernel, eq. 1
        var expected = a.matmul(values) / a.sum(-1, keepdim: true);
        Assert.True(TestSupport.MaxAbsDiff(y, expected) < 1e-10, $"differs by {TestSupport.MaxAbsDiff(y, expected)}");
    }

    [Theory]
    [InlineData("{\"heads\": 2, \"feature_dim\": 3, \"value_dim\": 5, \"chunk_size\": 5}", 23)]
    [InlineData("{\"heads\": 3, \"feature_dim\": 4, \"chunk_size\": 8}", 13)]
    public void Chunked_form_equals_the_reference_in_float64(string options, long length)
    {
        var d = FormComparison.Compare("based", options, options.Replace("}", ", \"form\": \"reference\"}"), 12, prefix: 6, length);
        output.WriteLine($"based {options} L {length}: {d}");
        Assert.True(d.Max < 1e-10, d.ToString());
    }

    [Fact]
    public void State_is_the_expanded_memory_and_its_normaliser_and_does_not_grow()
    {
        var layer = TestSupport.Float64Layer(TestSupport.Registry(), "based", "{}", 64, 1);
        Assert.Equal(4L * 273 * 17, layer.StateSize(10));
        Assert.Equal(layer.StateSize(10), layer.StateSize(10_000));
    }
}
