namespace MetaGrad.Tests;

/// <summary>
/// Fills refuse a number the dtype cannot hold, as PyTorch's do ("value cannot be converted to
/// type uint8_t without overflow"), instead of wrapping it silently. Cases and outcomes from
/// PyTorch 1.13 (Fixtures/fill_overflow.py).
/// </summary>
public class FillOverflowTests
{
    [Theory]
    [InlineData(300.0, DType.UInt8)]
    [InlineData(1e30, DType.Int64)]
    [InlineData(9.3e18, DType.Int64)]
    [InlineData(double.NaN, DType.Int32)]
    [InlineData(double.PositiveInfinity, DType.Int32)]
    [InlineData(1e39, DType.Float32)]
    [InlineData(70000.0, DType.Float16)]
    [InlineData(1e39, DType.BFloat16)]
    [InlineData(127.9, DType.Int8)]
    [InlineData(40000.0, DType.Int16)]
    [InlineData(70000.0, DType.UInt16)]
    public void Full_OfAValueTheDTypeCannotHold_Throws_NamingTheValueAndDType(double value, DType dtype)
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Full([2], value, dtype));
        Assert.Contains("Full", e.Message);
        Assert.Contains(dtype.TorchName(), e.Message);
        Assert.Contains("without overflow", e.Message);
    }

    [Fact]
    public void Fills_InPlaceMaskedAndIndexed_RefuseOverflowToo()
    {
        Assert.Contains("Fill_", Assert.Throws<ArgumentException>(() => Tensor.Zeros([2], DType.UInt8).Fill_(300)).Message);
        Assert.Contains("MaskedFill", Assert.Throws<ArgumentException>(() =>
            Tensor.Zeros([2], DType.Int16).MaskedFill(Tensor.From([true, false], [2]), 40000)).Message);
        Assert.Contains("IndexFill", Assert.Throws<ArgumentException>(() =>
            Tensor.Zeros([2], DType.Int8).IndexFill(0, Tensor.From([0L], [1]), 200)).Message);
    }

    [Fact]
    public void ValuesThatFit_AreKept_AsPyTorchKeepsThem()
    {
        Assert.Equal([255, 255], Tensor.Full([2], -1, DType.UInt8).ToArray<byte>());      // an unsigned type takes −max..max
        Assert.Equal([2L, 2L], Tensor.Full([2], 2.7, DType.Int64).ToArray<long>());       // truncated, in range
        Assert.Equal([float.PositiveInfinity, float.PositiveInfinity], Tensor.Full([2], double.PositiveInfinity).ToArray<float>());
        Assert.Equal([true, true], Tensor.Full([2], 5, DType.Bool).ToArray<bool>());
        Assert.Equal([(sbyte)-128, (sbyte)-128], Tensor.Zeros([2], DType.Int8).Fill_(-128).ToArray<sbyte>());
        Assert.True(float.IsNaN(Tensor.Full([1], double.NaN).Item<float>()));
    }
}
