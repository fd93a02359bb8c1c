using Zoo.Core.Nn;
using static TorchSharp.torch;

namespace Zoo.Tests;

public class TimePiecesTests
{
    [Theory]
    [InlineData(10, 0, 4, new long[] { 4, 4, 2 })]
    [InlineData(10, 3, 4, new long[] { 1, 4, 4, 1 })]
    [InlineData(8, 4, 4, new long[] { 4, 4 })]       // a phase of a whole period starts a fresh one
    [InlineData(3, 1, 4, new long[] { 3 })]
    [InlineData(0, 2, 4, new long[0])]
    public void Lengths_finish_the_current_period_then_walk_whole_ones(long length, long phase, long period, long[] expected) =>
        Assert.Equal(expected, TimePieces.Lengths(length, phase, period));

    [Fact]
    public void Split_pieces_and_their_gradients_match_slicing()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var x = randn(2, 11, 3, dtype: ScalarType.Float64).requires_grad_(true);
        var pieces = TimePieces.Split(x, 1, 2, 4);
        Assert.Equal(new long[] { 2, 4, 4, 1 }, pieces.Select(p => p.shape[1]).ToArray());
        var weights = arange(1, 12, dtype: ScalarType.Float64).view(1, 11, 1);
        var viaSplit = cat(pieces, 1);
        Assert.True(viaSplit.allclose(x, rtol: 0, atol: 0));
        var gSplit = autograd.grad(new[] { (viaSplit * weights).pow(2).sum() }, new[] { x })[0];
        var viaSlices = cat(new[] { x[.., 0..2], x[.., 2..6], x[.., 6..10], x[.., 10..11] }, 1);
        var gSlices = autograd.grad(new[] { (viaSlices * weights).pow(2).sum() }, new[] { x })[0];
        Assert.True(gSplit.allclose(gSlices, rtol: 0, atol: 0));
    }
}
