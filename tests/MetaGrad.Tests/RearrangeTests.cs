namespace MetaGrad.Tests;

/// <summary>
/// The rearranging shape operations (Unflatten, Movedim, Unfold, BroadcastTo, Tile, Roll, Rot90,
/// Diff, Meshgrid, RepeatInterleave): values worked by hand, which ones are views, and finite
/// differences in float64, twice where a Function of their own carries the gradient.
/// </summary>
public class RearrangeTests
{
    static Tensor Range(params int[] shape) => Tensor.Arange(0, ShapeMath.Numel(shape), 1, DType.Float64).Reshape(shape);
    static Tensor In(params int[] shape) => Check.Input(shape, (ulong)shape.Sum() + 5);

    [Fact]
    public void Unflatten_SplitsOneDimAndInfersMinusOne()
    {
        var y = Range(2, 6).Unflatten(1, 3, -1);
        Check.Shape([2, 3, 2], y);
        Check.Values([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], y);
        var x = Range(2, 6);
        Assert.Same(x.Storage, x.Unflatten(-1, 2, 3).Storage);   // a view
        Assert.Throws<ArgumentException>(() => Range(2, 6).Unflatten(1, 4, 2));
        Check.Gradients(x => x[0].Unflatten(0, 2, 2), In(4, 3));
    }

    [Fact]
    public void Movedim_MovesDimsAndKeepsTheRestInOrder()
    {
        var x = Range(2, 3, 4);
        Check.Shape([3, 4, 2], x.Movedim(0, -1));
        Check.Shape([4, 2, 3], x.Movedim([2], [0]));
        // Dims 0 and 1 go to 2 and 0; dim 2 takes the free position 1.
        var y = x.Movedim([0, 1], [2, 0]);
        Check.Shape([3, 4, 2], y);
        Assert.Equal(x[1, 2, 3].Item<double>(), y[2, 3, 1].Item<double>());
        Assert.Same(x.Storage, y.Storage);
        Assert.Throws<ArgumentException>(() => x.Movedim([0, 0], [1, 2]));
        Assert.Throws<ArgumentException>(() => x.Movedim([0], [1, 2]));
        Check.Gradients(t => t[0].Movedim([0, 2], [1, 0]), In(2, 3, 4));
    }

    [Fact]
    public void Unfold_IsAViewOfOverlappingWindows()
    {
        var x = Range(7);
        var y = x.Unfold(0, 3, 2);   // windows at 0, 2, 4
        Check.Shape([3, 3], y);
        Check.Values([0, 1, 2, 2, 3, 4, 4, 5, 6], y);
        Assert.Same(x.Storage, y.Storage);
        // Along a middle dim the window becomes the last dim.
        var z = Range(2, 4, 3).Unfold(1, 2, 1);
        Check.Shape([2, 3, 3, 2], z);
        Assert.Equal(new[] { 3.0 * 1 + 2, 3.0 * 2 + 2 }, z[0, 1, 2].ToArray<double>());
        Check.Shape([1], Tensor.From(5.0).Unfold(0, 1, 1));
        Assert.Throws<ArgumentException>(() => x.Unfold(0, 8, 1));
        Assert.Throws<ArgumentException>(() => x.Unfold(0, 2, 0));
    }

    [Fact]
    public void Unfold_AddsTheGradientsOfOverlappingWindows()
    {
        var x = Tensor.Zeros([5], DType.Float64, requiresGrad: true);
        x.Unfold(0, 3, 1).Sum().Backward();
        // Position i lies in min(i + 1, 3, 5 - i) of the windows [0..2], [1..3], [2..4].
        Check.Values([1, 2, 3, 2, 1], x.Grad!);
        Check.Gradients(t => t[0].Unfold(1, 2, 1), In(2, 4, 3));
        Check.Gradients(t => t[0].Unfold(-1, 2, 3), In(3, 7));
        Check.Gradients(t => t[0].T.Unfold(0, 3, 2), In(2, 6));
        // The gradient is itself differentiable: the second derivative of Σ unfold(x)² is 2·(times covered).
        var w = In(6);
        Check.Gradients(t => Autograd.Grad(t[0].Unfold(0, 3, 1).Square().Sum(), t[0], createGraph: true), w);
    }

    [Fact]
    public void BroadcastTo_IsExpand()
    {
        var x = Range(3, 1);
        var y = x.BroadcastTo(2, 3, 4);
        Check.Shape([2, 3, 4], y);
        Assert.Equal(2.0, y[1, 2, 3].Item<double>());
        var parts = Tensor.BroadcastTensors(Range(3, 1), Range(4), Tensor.From(1.0));
        Assert.All(parts, p => Check.Shape([3, 4], p));
        Assert.Throws<ArgumentException>(() => Tensor.BroadcastTensors(Range(3), Range(4)));
    }

    [Fact]
    public void Tile_PadsMissingRepsWithOnes()
    {
        var x = Range(2, 2);
        var y = x.Tile(2);   // as Tile(1, 2)
        Check.Shape([2, 4], y);
        Check.Values([0, 1, 0, 1, 2, 3, 2, 3], y);
        Check.Shape([3, 2, 2], x.Tile(3, 1, 1));
        Check.Gradients(t => t[0].Tile(2, 1, 3), In(2, 3));
    }

    [Fact]
    public void Roll_ShiftsCyclically()
    {
        var x = Range(2, 3);
        Check.Values([5, 0, 1, 2, 3, 4], x.Roll(1));            // flattened
        Check.Values([2, 0, 1, 5, 3, 4], x.Roll(1, 1));
        Check.Values([1, 2, 0, 4, 5, 3], x.Roll(-4, -1));       // -4 ≡ 2 (mod 3) to the left: 1 to the left
        Check.Values([5, 3, 4, 2, 0, 1], x.Roll([1, 1], [0, 1]));
        var same = x.Roll(3, 1);
        Check.Values([0, 1, 2, 3, 4, 5], same);
        Assert.NotSame(x.Storage, same.Storage);
        Assert.Throws<ArgumentException>(() => x.Roll([1, 2], [0]));
        Check.Gradients(t => t[0].Roll([2, -1], [0, 1]), In(3, 4));
        Check.Gradients(t => t[0].Roll(5), In(2, 3));
    }

    [Fact]
    public void Rot90_RotatesFromTheFirstDimTowardsTheSecond()
    {
        // [[0, 1], [2, 3]] rotated anticlockwise is [[1, 3], [0, 2]], as numpy.rot90.
        var x = Range(2, 2);
        Check.Values([1, 3, 0, 2], x.Rot90());
        Check.Values([3, 2, 1, 0], x.Rot90(2));
        Check.Values([2, 0, 3, 1], x.Rot90(-1));
        Check.Values([2, 0, 3, 1], x.Rot90(1, [1, 0]));
        Check.Values([0, 1, 2, 3], x.Rot90(4));
        Assert.Throws<ArgumentException>(() => x.Rot90(1, [0, 0]));
        Assert.Throws<ArgumentException>(() => Range(3).Rot90());
        Check.Gradients(t => t[0].Rot90(1, [2, 0]), In(2, 3, 4));
        Check.Gradients(t => t[0].Rot90(3), In(2, 3));
    }

    [Fact]
    public void Diff_TakesRepeatedForwardDifferences()
    {
        var x = Tensor.From(new double[] { 1, 4, 9, 16 }, [4]);
        Check.Values([3, 5, 7], x.Diff());
        Check.Values([2, 2], x.Diff(2));
        Check.Values([1, 4, 9, 16], x.Diff(0));
        Check.Shape([0], x.Diff(7));
        Check.Values([1, 3, 5, 7, -16], x.Diff(prepend: Tensor.Zeros([1], DType.Float64), append: Tensor.Zeros([1], DType.Float64)));
        var rows = Range(2, 3);
        Check.Values([3, 3, 3], rows.Diff(dim: 0));
        var b = Tensor.From(new[] { true, true, false, true }, [4]);
        Assert.Equal(new[] { false, true, true }, b.Diff().ToArray<bool>());
        Assert.Throws<ArgumentException>(() => Tensor.From(1.0).Diff());
        Assert.Throws<ArgumentException>(() => x.Diff(-1));
        Assert.Throws<ArgumentException>(() => rows.Diff(prepend: Range(1, 2)));
        Check.Gradients(t => t[0].Diff(2, 1), In(2, 5));
        Check.Gradients(t => t[0].Diff(1, 0, t[1], t[2]), In(2, 3), Check.Input([1, 3], 3), Check.Input([2, 3], 4));
    }

    [Fact]
    public void Meshgrid_IjAndXy()
    {
        var a = Tensor.From(new double[] { 1, 2, 3 }, [3]);
        var b = Tensor.From(new double[] { 4, 5 }, [2]);
        var ij = Tensor.Meshgrid([a, b]);
        Check.Shape([3, 2], ij[0]);
        Check.Values([1, 1, 2, 2, 3, 3], ij[0]);
        Check.Values([4, 5, 4, 5, 4, 5], ij[1]);
        var xy = Tensor.Meshgrid([a, b], "xy");
        Check.Shape([2, 3], xy[0]);
        Check.Values([1, 2, 3, 1, 2, 3], xy[0]);
        Check.Values([4, 4, 4, 5, 5, 5], xy[1]);
        var three = Tensor.Meshgrid([a, b, Tensor.From(7.0)], "xy");
        Assert.All(three, t => Check.Shape([2, 3, 1], t));
        Assert.Throws<ArgumentException>(() => Tensor.Meshgrid([a, b], "ji"));
        Assert.Throws<ArgumentException>(() => Tensor.Meshgrid([a, Range(2, 2)]));
        Check.Gradients(t => Tensor.Meshgrid([t[0], t[1]], "xy")[0] * Tensor.Meshgrid([t[0], t[1]], "xy")[1], In(3), In(2));
    }

    [Fact]
    public void RepeatInterleave_RepeatsEachElementInPlace()
    {
        var x = Range(2, 2);
        Check.Values([0, 0, 1, 1, 2, 2, 3, 3], x.RepeatInterleave(2));
        Check.Values([0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3], x.RepeatInterleave(3, 0));
        Check.Values([0, 0, 1, 2, 2, 3], x.RepeatInterleave(Tensor.From(new long[] { 2, 1 }, [2]), 1));
        Check.Values([0, 0, 1, 1, 2, 2, 3, 3], x.RepeatInterleave(Tensor.From(2L)));
        Assert.Equal(new long[] { 0, 0, 2, 2, 2 }, Tensor.RepeatInterleave(Tensor.From(new long[] { 2, 0, 3 }, [3])).ToArray<long>());
        Check.Shape([2, 0], x.RepeatInterleave(0, 1));
        Assert.Throws<ArgumentException>(() => x.RepeatInterleave(Tensor.From(new long[] { 1, 2, 3 }, [3]), 0));
        Assert.Throws<ArgumentException>(() => x.RepeatInterleave(Tensor.From(new long[] { 1, -1 }, [2]), 0));
        Assert.Throws<ArgumentException>(() => x.RepeatInterleave(-1));
        Check.Gradients(t => t[0].RepeatInterleave(3, 1), In(2, 3));
        Check.Gradients(t => t[0].RepeatInterleave(Tensor.From(new long[] { 0, 2, 1 }, [3]), -1), In(2, 3));
    }
}
