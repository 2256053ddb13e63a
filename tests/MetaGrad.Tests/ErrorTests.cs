namespace MetaGrad.Tests;

/// <summary>Bad input gets an exception naming the operation, the shapes or dtypes, and what was expected.</summary>
public class ErrorTests
{
    [Fact]
    public void Broadcasting_Mismatch_NamesOperationAndShapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Ones(2, 3) + Tensor.Ones(4));
        Assert.Contains("Add", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[4]", ex.Message);
        Assert.Contains("non-singleton dimension 1", ex.Message);
    }

    [Fact]
    public void Dim_OutOfRange_NamesRange()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Ones(2, 3).Sum(2));
        Assert.Contains("Sum", ex.Message);
        Assert.Contains("[-2, 1]", ex.Message);
        Assert.Contains("got 2", ex.Message);
    }

    [Fact]
    public void Index_OutOfRange_NamesIndexAndSize()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Ones(2, 3)[1, 3]);
        Assert.Contains("index 3 is out of bounds for dimension 1 with size 3", ex.Message);
        var ex2 = Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Ones(4).Gather(0, Tensor.From(new long[] { 4 })));
        Assert.Contains("Gather", ex2.Message);
        var ex3 = Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Ones(3)[Tensor.From(new long[] { 0, 5 })]);
        Assert.Contains("index 5 is out of bounds", ex3.Message);
    }

    [Fact]
    public void Backward_OnNonScalarWithoutGradient_Explains()
    {
        var x = Tensor.Ones([3], requiresGrad: true);
        var ex = Assert.Throws<InvalidOperationException>(() => (x * 2f).Backward());
        Assert.Contains("only for scalar outputs", ex.Message);
        Assert.Contains("[3]", ex.Message);
    }

    [Fact]
    public void Backward_TwiceThroughFreedGraph_Explains()
    {
        var x = Tensor.Ones([3], requiresGrad: true);
        var y = (x * x).Sum();
        y.Backward();
        var ex = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("MulBackward", ex.Message);
        Assert.Contains("second time", ex.Message);
        Assert.Contains("retainGraph", ex.Message);
    }

    [Fact]
    public void RequiresGrad_OnIntegerTensor_IsRejected()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Tensor.From(new long[] { 1, 2 }).RequiresGrad = true);
        Assert.Contains("floating point", ex.Message);
        Assert.Contains("Int64", ex.Message);
    }

    [Fact]
    public void InPlaceChange_OfSavedTensor_IsCaughtAtBackward()
    {
        var x = Tensor.From(new float[] { 1, 2 }, requiresGrad: true);
        var y = x.Exp();            // Exp saves its output
        var z = y.Sum();
        y.Add_(1f);
        var ex = Assert.Throws<InvalidOperationException>(() => z.Backward());
        Assert.Contains("ExpBackward", ex.Message);
        Assert.Contains("modified by an inplace operation", ex.Message);
        Assert.Contains("version 1; expected version 0", ex.Message);
    }

    [Fact]
    public void InPlace_OnLeafRequiringGrad_IsRejected()
    {
        var x = Tensor.Ones([2], requiresGrad: true);
        var ex = Assert.Throws<InvalidOperationException>(() => x.Add_(1.0));
        Assert.Contains("leaf", ex.Message);
        using (Autograd.NoGrad()) x.Add_(1.0);
        Assert.Equal(new float[] { 2, 2 }, x.ToArray<float>());
    }

    [Fact]
    public void Matmul_ShapeMismatch_NamesBothShapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Ones(2, 3).Matmul(Tensor.Ones(4, 2)));
        Assert.Contains("Matmul", ex.Message);
        Assert.Contains("2x3 and 4x2", ex.Message);
    }

    [Fact]
    public void Reshape_ToWrongSize_NamesShapeAndSize()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Ones(2, 3).Reshape(4, 2));
        Assert.Contains("shape [4, 2] is invalid for input of size 6", ex.Message);
    }

    [Fact]
    public void View_OfNonContiguous_SuggestsReshape()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Tensor.Ones(2, 3).T.View(6));
        Assert.Contains("Reshape", ex.Message);
        Check.Shape([6], Tensor.Ones(2, 3).T.Reshape(6));
    }

    [Fact]
    public void Mask_OfWrongDType_IsRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Ones(3).MaskedFill(Tensor.From(new long[] { 1, 0, 1 }), 0));
        Assert.Contains("MaskedFill", ex.Message);
        Assert.Contains("Bool", ex.Message);
    }

    [Fact]
    public void Cat_ShapeMismatch_NamesTensors()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Cat([Tensor.Ones(2, 3), Tensor.Ones(3, 2)]));
        Assert.Contains("tensor 1 has shape [3, 2]", ex.Message);
    }

    [Fact]
    public void From_AShapeWhoseProductWrapsALong_IsRefused()
    {
        // 5 · 2147418113 · 1718039348 is 4 modulo 2^64: the four values were once accepted with Numel 4.
        var ex = Assert.Throws<ArgumentException>(() => Tensor.From(new float[4], [5, 1, 2147418113, 1718039348]));
        Assert.Contains("Tensor.From", ex.Message);
        Assert.Contains("[5, 1, 2147418113, 1718039348]", ex.Message);
    }

    [Fact]
    public void ShapesOfMoreElementsThanATensorHolds_AreRefusedByTheOperationThatMadeThem()
    {
        Assert.Contains("Zeros", Assert.Throws<ArgumentException>(() => Tensor.Zeros(1 << 16, 1 << 16)).Message);
        Assert.Contains("Empty", Assert.Throws<ArgumentException>(() => Tensor.Empty([16, 1 << 30, 1 << 30])).Message);
        Assert.Contains("Expand", Assert.Throws<ArgumentException>(() => Tensor.Ones(1, 1).Expand(1 << 16, 1 << 16)).Message);
        Assert.Contains("Repeat", Assert.Throws<ArgumentException>(() => Tensor.Ones(4).Repeat(1 << 30)).Message);
        Assert.Contains("Repeat", Assert.Throws<ArgumentException>(() => Tensor.Ones(2, 2).Repeat(1 << 16, 1 << 16)).Message);
        Assert.Contains("Reshape", Assert.Throws<ArgumentException>(() => Tensor.Ones(4).Reshape(2, 2147418113, 1718039348, 5)).Message);
        Assert.Contains("View", Assert.Throws<ArgumentException>(() => Tensor.Ones(4).View(-1, 1 << 30, 1 << 30, 1 << 4)).Message);
    }

    [Fact]
    public void ShapesWithAZeroDim_HoldNothingWhateverTheOtherDims()
    {
        Assert.Equal(0, Tensor.Zeros(0, 1 << 30, 1 << 30).Numel);
        Assert.Equal([0, 1 << 30, 1 << 30], Tensor.From(new float[0], [0, 1 << 30, 1 << 30]).Shape.ToArray());
    }
}
