using static TorchSharp.torch;

namespace Zoo.Tests;

public sealed class AttentionTests
{
    private const int D = 8;

    [Fact]
    public void Sliding_window_hides_tokens_older_than_the_window()
    {
        using var scope = NewDisposeScope();
        var layer = TestSupport.Float64Layer(TestSupport.Registry(), "attention", "{\"heads\": 2, \"window\": 3}", D, 1);
        var x = TestSupport.Input(1, 8, D, seed: 2);
        var changed = x.clone();
        changed[.., 0] += 1.0;
        var (a, _) = layer.Forward(x);
        var (b, _) = layer.Forward(changed);
        Assert.True(TestSupport.MaxAbsDiff(a[.., 2], b[.., 2]) > 1e-8, "token 0 is inside token 2's window");
        Assert.True(TestSupport.MaxAbsDiff(a[.., 3..], b[.., 3..]) < 1e-12, "token 0 is outside the window of tokens ≥ 3");
    }

    [Fact]
    public void Window_at_least_the_length_equals_full_attention()
    {
        using var scope = NewDisposeScope();
        var full = TestSupport.Float64Layer(TestSupport.Registry(), "attention", "{\"heads\": 2}", D, 3);
        var windowed = TestSupport.Float64Layer(TestSupport.Registry(), "attention", "{\"heads\": 2, \"window\": 16}", D, 3);
        var x = TestSupport.Input(2, 10, D, seed: 4);
        Assert.True(TestSupport.MaxAbsDiff(full.Forward(x).Output, windowed.Forward(x).Output) < 1e-12);
        Assert.Equal(2 * 15 * D, windowed.StateSize(100));
    }
}
