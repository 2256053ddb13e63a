using MetaGrad.Conformance.Harness;
using static MetaGrad.Conformance.Interop.TorchBridge;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// Float16, BFloat16, UInt8, Int8 and Int16 against libtorch: casts bit for bit, elementwise
/// arithmetic (libtorch's CPU computes half types in float and rounds each result, as MetaGrad does)
/// bit for bit, transcendental functions, reductions and matmul within one rounding, and the
/// small integers' wraparound and promotions exactly.
/// </summary>
public class NarrowDTypeConformance
{
    public static TheoryData<DType> HalfFloats() => [DType.Float16, DType.BFloat16];

    // Values over many binades, ties between neighbours and out-of-range ones included.
    static Tensor Spread(int n, double scale, int seed) =>
        Tensor.From(Enumerable.Range(0, n).Select(i => (float)(scale * Math.Sin(1.7 * i + seed) * Math.Pow(2, (i % 13) - 6))).ToArray(), [n / 8, 8]);

    static void SameBits(Tensor ours, torch.Tensor theirs, string what)
    {
        using var t = theirs;
        var expected = FromTorch(t);
        Assert.True(ours.DType == expected.DType, $"{what}: dtype {ours.DType} in MetaGrad, {expected.DType} in libtorch");
        Assert.True(ours.Shape.SequenceEqual(expected.Shape), $"{what}: shapes differ");
        var (a, b) = (ours.ToArray<double>(), expected.ToArray<double>());
        for (int i = 0; i < a.Length; i++)
            Assert.True(a[i].Equals(b[i]), $"{what}[{i}]: MetaGrad {a[i]:R}, libtorch {b[i]:R}");
    }

    static void Close(Tensor ours, torch.Tensor theirs, string what)
    {
        using var t = theirs;
        Assert.True(ours.DType == FromTorch(t.dtype), $"{what}: dtype {ours.DType} in MetaGrad, {t.dtype} in libtorch");
        var tolerance = Tolerance.For(ours.DType);
        AssertClose(t, ours, tolerance.Rel, tolerance.Abs, what);
    }

    [Theory]
    [MemberData(nameof(HalfFloats))]
    public void CastsFromFloat32AndFloat64_AreBitExact(DType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var x = Spread(4096, 70000, 1);
        SameBits(x.To(dtype), ToTorch(x).to_type(ToTorch(dtype)), $"Float32 -> {dtype}");
        var wide = x.Double() * 1.0000001;
        SameBits(wide.To(dtype), ToTorch(wide).to_type(ToTorch(dtype)), $"Float64 -> {dtype}");
        // Within Int16's range: beyond it (and for infinities) C++ leaves the conversion undefined.
        var back = x.Clamp(-32000, 32000).To(dtype);
        SameBits(back.To(DType.Int16), ToTorch(back).to_type(torch.ScalarType.Int16), $"{dtype} -> Int16");
    }

    [Theory]
    [MemberData(nameof(HalfFloats))]
    public void Arithmetic_IsBitExact(DType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var a = Spread(512, 100, 2).To(dtype);
        var b = Spread(512, 3, 3).To(dtype) + 0.5;
        var (ta, tb) = (ToTorch(a), ToTorch(b));
        SameBits(a + b, ta + tb, "Add");
        SameBits(a - b, ta - tb, "Sub");
        SameBits(a * b, ta * tb, "Mul");
        SameBits(a / b, ta / tb, "Div");
        SameBits(a * 2.5, ta * 2.5, "Mul by a scalar");
        SameBits(a.Maximum(b), ta.maximum(tb), "Maximum");
        SameBits(a.Abs(), ta.abs(), "Abs");
        SameBits(a.Clamp(-1, 1), ta.clamp(-1, 1), "Clamp");
        SameBits(a < b, ta < tb, "Lt");
    }

    [Theory]
    [MemberData(nameof(HalfFloats))]
    public void FunctionsReductionsAndMatmul_AgreeWithinOneRounding(DType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var a = Spread(512, 4, 4).To(dtype);
        var ta = ToTorch(a);
        Close(a.Exp(), ta.exp(), "Exp");
        Close(a.Tanh(), ta.tanh(), "Tanh");
        Close(a.Sigmoid(), ta.sigmoid(), "Sigmoid");
        Close(a.Abs().Sqrt(), ta.abs().sqrt(), "Sqrt");
        Close(a.Sum(1), ta.sum(1), "Sum(1)");
        Close(a.Mean(), ta.mean(), "Mean");
        Close(a.Max(), ta.max(), "Max");
        var m = Spread(64, 1, 5).To(dtype);
        Close(a.Matmul(m), ta.matmul(ToTorch(m)), "Matmul");
    }

    [Fact]
    public void SmallIntegers_WrapAndPromoteAsLibtorch()
    {
        using var scope = torch.NewDisposeScope();
        var u = Tensor.From(Enumerable.Range(0, 64).Select(i => (byte)(i * 37 % 256)).ToArray());
        var v = Tensor.From(Enumerable.Range(0, 64).Select(i => (byte)(i * 91 % 256)).ToArray());
        var p = Tensor.From(Enumerable.Range(0, 64).Select(i => (sbyte)(i * 53 % 256 - 128)).ToArray());
        var s = Tensor.From(Enumerable.Range(0, 64).Select(i => (short)(i * 1237 - 30000)).ToArray());
        var (tu, tv, tp, ts) = (ToTorch(u), ToTorch(v), ToTorch(p), ToTorch(s));
        SameBits(u + v, tu + tv, "UInt8 Add");
        SameBits(u * v, tu * tv, "UInt8 Mul");
        SameBits(u - v, tu - tv, "UInt8 Sub");
        SameBits(-u, -tu, "UInt8 Neg");
        SameBits(p * p, tp * tp, "Int8 Mul");
        SameBits(p.Abs(), tp.abs(), "Int8 Abs");
        SameBits(s * 3, ts * 3, "Int16 Mul by a scalar");
        SameBits(u + p, tu + tp, "UInt8 + Int8 (Int16)");
        SameBits(p + s, tp + ts, "Int8 + Int16");
        SameBits(u.Sum(), tu.sum(), "UInt8 Sum (Int64)");
        SameBits(p.Max(), tp.max(), "Int8 Max");
        SameBits(u.To(DType.Float16) + p, ToTorch(u.To(DType.Float16)) + tp, "Float16 + Int8");
        // In range, float to small integer truncates toward zero (out of range C++ leaves it undefined).
        var f = Tensor.From(Enumerable.Range(0, 64).Select(i => i * 3.97f).ToArray());
        SameBits(f.Byte(), ToTorch(f).to_type(torch.ScalarType.Byte), "Float32 -> UInt8");
        SameBits((f - 127).Char(), ToTorch(f - 127).to_type(torch.ScalarType.Int8), "Float32 -> Int8");
    }
}
