using MetaGrad.IO;
using MetaGrad.NN;

namespace MetaGrad.Tests;

/// <summary>
/// Float16, BFloat16, UInt8, Int8 and Int16: storage, casts, promotion, arithmetic (computed wide
/// and rounded back), printing and safetensors. Expected values are PyTorch 1.13's, printed by
/// Fixtures/dtype_breadth.py (half and bfloat16 as raw bits, so that every rounding is checked exactly).
/// </summary>
public class DTypeBreadthTests
{
    static ushort[] Bits(params string[] hex) => hex.Select(h => Convert.ToUInt16(h, 16)).ToArray();

    static ushort[] HalfBits(Tensor t)
    {
        Assert.Equal(DType.Float16, t.DType);
        return t.ToArray<Half>().Select(BitConverter.HalfToUInt16Bits).ToArray();
    }

    static ushort[] BFloat16Bits(Tensor t)
    {
        Assert.Equal(DType.BFloat16, t.DType);
        return t.ToArray<BFloat16>().Select(b => b.Bits).ToArray();
    }

    // Python's float('nan'): .NET's float.NaN has the sign bit set, and a cast keeps the sign.
    static readonly float PositiveNaN = BitConverter.UInt32BitsToSingle(0x7FC00000);

    static Tensor Halves(params float[] values) => Tensor.From(values).Half();
    static Tensor BFloats(params float[] values) => Tensor.From(values).BFloat16();

    // ---- casts ----

    [Fact]
    public void Float32ToHalf_RoundsToNearestEven_OverflowsToInfinity_KeepsSubnormals()
    {
        var x = Tensor.From(new[] { 1.0f, 0.1f, 65504f, 65519.99f, 65520f, 1e5f, -0.0f, 2.9802322387695312e-08f, 5.960464477539063e-08f,
            8.940696716308594e-08f, 1e-6f, 2049f, 2051f, PositiveNaN, float.NegativeInfinity });
        Assert.Equal(Bits("0x3C00", "0x2E66", "0x7BFF", "0x7BFF", "0x7C00", "0x7C00", "0x8000", "0x0000", "0x0001", "0x0002", "0x0011", "0x6800", "0x6802", "0x7E00", "0xFC00"),
            HalfBits(x.Half()));
    }

    [Fact]
    public void Float64ToHalf_RoundsThroughFloat32_AsPyTorch()
    {
        // 2049.0000000001 rounds to 2049f first, then to even (2048): a direct rounding would give 2050.
        var x = Tensor.From(new[] { 0.1, 1.0000000000000002, 2049.0000000001 });
        Assert.Equal(Bits("0x2E66", "0x3C00", "0x6800"), HalfBits(x.Half()));
    }

    [Fact]
    public void Float32ToBFloat16_RoundsToNearestEven_AndKeepsNaN()
    {
        var x = Tensor.From(new[] { 1.0f, 0.1f, 1.00390625f, 1.01171875f, 3.38e38f, 3.4e38f, -2.5f, float.NaN, 1e-40f });
        var bits = BFloat16Bits(x.BFloat16());
        // PyTorch's vectorised CPU path writes NaN as 0xFFFF, c10::BFloat16 (one element) as 0x7FC0: both NaN; we follow c10.
        Assert.Equal(Bits("0x3F80", "0x3DCD", "0x3F80", "0x3F82", "0x7F7E", "0x7F80", "0xC020", "0x7FC0", "0x0001"), bits);
        Assert.True(float.IsNaN(x.BFloat16().ToArray<float>()[7]));
    }

    [Fact]
    public void BFloat16Struct_ConvertsExactlyBackToFloat()
    {
        Assert.Equal(0x3DCD, ((BFloat16)0.1f).Bits);
        Assert.Equal(0.10009765625f, (float)(BFloat16)0.1f);
        Assert.Equal(0x7FC0, ((BFloat16)float.NaN).Bits);
        Assert.Equal(0x7F80, ((BFloat16)float.PositiveInfinity).Bits);
        Assert.True(BFloat16.IsNaN(BFloat16.FromBits(0xFFFF)));
    }

    [Fact]
    public void Int64ToHalf_AndHalfToFloat32()
    {
        Assert.Equal(Bits("0x6800", "0x7BFF", "0x7C00", "0xC200"), HalfBits(Tensor.From(new[] { 2049L, 65519L, 65520L, -3L }).Half()));
        var h = Tensor.From(new[] { BitConverter.UInt16BitsToHalf(0x3C00), BitConverter.UInt16BitsToHalf(0x0001), BitConverter.UInt16BitsToHalf(0x7BFF),
            BitConverter.UInt16BitsToHalf(0x8400), BitConverter.UInt16BitsToHalf(0x7E00) }, [5]);
        var f = h.Float().ToArray<float>();
        Assert.Equal(new[] { 1.0f, 5.960464477539063e-08f, 65504.0f, -6.103515625e-05f }, f[..4]);
        Assert.True(float.IsNaN(f[4]));
    }

    [Fact]
    public void ToSmallIntegers_TruncatesTowardZero_ThenWraps()
    {
        Assert.Equal(new byte[] { 0, 1, 254, 255, 0, 255, 44, 127 },
            Tensor.From(new[] { 0.0f, 1.7f, 254.9f, 255.0f, -0.5f, -1.0f, 300.0f, -129.0f }).Byte().ToArray<byte>());
        Assert.Equal(new sbyte[] { -128, 127, -1, 0 }, Tensor.From(new[] { -128.9f, 127.5f, -1.5f, 0.99f }).Char().ToArray<sbyte>());
        Assert.Equal(new byte[] { 0, 1, 255, 255 }, Tensor.From(new[] { 256L, 257L, -1L, 511L }).Byte().ToArray<byte>());
        Assert.Equal(new short[] { -25536, 32767, 32767 }, Tensor.From(new[] { 40000L, -32769L, 32767L }).Short().ToArray<short>());
        Assert.Equal(new sbyte[] { -56, 127, -128 }, Tensor.From(new byte[] { 200, 127, 128 }).Char().ToArray<sbyte>());
        Assert.Equal(new byte[] { 3, 200 }, Halves(3.75f, 200.5f).Byte().ToArray<byte>());
        Assert.Equal(Bits("0x3DCD", "0x4040"), BFloat16Bits(Halves(0.1f, 3.0f).BFloat16()));
    }

    // ---- promotion ----

    const string PyTorchPromotions = "f32+f32=f32 f32+f64=f64 f32+i64=f32 f32+i32=f32 f32+bool=f32 f32+f16=f32 f32+bf16=f32 f32+u8=f32 f32+i8=f32 f32+i16=f32 f64+f32=f64 f64+f64=f64 f64+i64=f64 f64+i32=f64 f64+bool=f64 f64+f16=f64 f64+bf16=f64 f64+u8=f64 f64+i8=f64 f64+i16=f64 i64+f32=f32 i64+f64=f64 i64+i64=i64 i64+i32=i64 i64+bool=i64 i64+f16=f16 i64+bf16=bf16 i64+u8=i64 i64+i8=i64 i64+i16=i64 i32+f32=f32 i32+f64=f64 i32+i64=i64 i32+i32=i32 i32+bool=i32 i32+f16=f16 i32+bf16=bf16 i32+u8=i32 i32+i8=i32 i32+i16=i32 bool+f32=f32 bool+f64=f64 bool+i64=i64 bool+i32=i32 bool+bool=bool bool+f16=f16 bool+bf16=bf16 bool+u8=u8 bool+i8=i8 bool+i16=i16 f16+f32=f32 f16+f64=f64 f16+i64=f16 f16+i32=f16 f16+bool=f16 f16+f16=f16 f16+bf16=f32 f16+u8=f16 f16+i8=f16 f16+i16=f16 bf16+f32=f32 bf16+f64=f64 bf16+i64=bf16 bf16+i32=bf16 bf16+bool=bf16 bf16+f16=f32 bf16+bf16=bf16 bf16+u8=bf16 bf16+i8=bf16 bf16+i16=bf16 u8+f32=f32 u8+f64=f64 u8+i64=i64 u8+i32=i32 u8+bool=u8 u8+f16=f16 u8+bf16=bf16 u8+u8=u8 u8+i8=i16 u8+i16=i16 i8+f32=f32 i8+f64=f64 i8+i64=i64 i8+i32=i32 i8+bool=i8 i8+f16=f16 i8+bf16=bf16 i8+u8=i16 i8+i8=i8 i8+i16=i16 i16+f32=f32 i16+f64=f64 i16+i64=i64 i16+i32=i32 i16+bool=i16 i16+f16=f16 i16+bf16=bf16 i16+u8=i16 i16+i8=i16 i16+i16=i16";

    static readonly Dictionary<string, DType> Short = new()
    {
        ["f32"] = DType.Float32, ["f64"] = DType.Float64, ["i64"] = DType.Int64, ["i32"] = DType.Int32, ["bool"] = DType.Bool,
        ["f16"] = DType.Float16, ["bf16"] = DType.BFloat16, ["u8"] = DType.UInt8, ["i8"] = DType.Int8, ["i16"] = DType.Int16,
    };

    [Fact]
    public void Promote_MatchesPyTorchsTable_ForEveryPair()
    {
        var pairs = PyTorchPromotions.Split(' ');
        Assert.Equal(100, pairs.Length);
        foreach (var pair in pairs)
        {
            var (operands, result) = (pair.Split('=')[0].Split('+'), pair.Split('=')[1]);
            Assert.True(Short[result] == DTypes.Promote(Short[operands[0]], Short[operands[1]]), pair);
        }
    }

    [Fact]
    public void MixedOperands_PromoteBeforeComputing()
    {
        var u = Tensor.From(new byte[] { 200, 100, 3, 0 });
        var p = Tensor.From(new sbyte[] { 100, -100, -128, 5 });
        var sum = u + p;
        Assert.Equal(DType.Int16, sum.DType);
        Assert.Equal(new short[] { 300, 0, -125, 5 }, sum.ToArray<short>());
        Assert.Equal(Bits("0x5A48", "0x5642", "0x63D6", "0x4200"), HalfBits(u + Halves(1.0f, 0.1f, 1000.0f, 3.0f)));
        Assert.Equal(DType.Float16, (Halves(1f) * 2.5).DType);
        Assert.Equal(DType.UInt8, (u * 3).DType);
    }

    // ---- arithmetic ----

    [Fact]
    public void HalfArithmetic_ComputesInFloat_RoundingEachResult()
    {
        var a = Halves(1.0f, 0.1f, 1000.0f, 3.0f, -2.5f);
        var b = Halves(0.2f, 0.7f, 0.3f, 7.0f, 1e-3f);
        Assert.Equal(Bits("0x3CCD", "0x3A67", "0x63D1", "0x4900", "0xC0FF"), HalfBits(a + b));
        Assert.Equal(Bits("0x3266", "0x2C7B", "0x5CB0", "0x4D40", "0x991F"), HalfBits(a * b));
        Assert.Equal(Bits("0x4500", "0x3092", "0x6A82", "0x36DB", "0xE8E1"), HalfBits(a / b));
        Assert.Equal(Bits("0x3C01", "0x3C00", "0x4170", "0x3C03", "0x3BFB"), HalfBits((a / 1000).Exp()));
        Assert.Equal(Bits("0x3C00", "0x350F", "0x4FE8", "0x3EEE", "0x3E53"), HalfBits(a.Abs().Sqrt()));
        Assert.Equal(Bits("0x4100", "0x3400", "0x68E2", "0x4780", "0xC640"), HalfBits(a * 2.5));
    }

    [Fact]
    public void BFloat16Arithmetic_ComputesInFloat_RoundingEachResult()
    {
        var c = BFloats(1.0f, 0.1f, 300.0f, 3.0f);
        var d = BFloats(0.2f, 0.7f, 0.3f, 7.0f);
        Assert.Equal(Bits("0x3F9A", "0x3F4D", "0x4396", "0x4120"), BFloat16Bits(c + d));
        Assert.Equal(Bits("0x3E4D", "0x3D8F", "0x42B4", "0x41A8"), BFloat16Bits(c * d));
        Assert.Equal(Bits("0x3F43", "0x3DCC", "0x3F80", "0x3F7F"), BFloat16Bits(c.Tanh()));
    }

    [Fact]
    public void SmallIntegerArithmetic_WrapsAsPyTorch()
    {
        var u = Tensor.From(new byte[] { 200, 100, 3, 0 });
        var v = Tensor.From(new byte[] { 100, 200, 255, 1 });
        Assert.Equal(new byte[] { 44, 44, 2, 1 }, (u + v).ToArray<byte>());
        Assert.Equal(new byte[] { 32, 32, 253, 0 }, (u * v).ToArray<byte>());
        Assert.Equal(new byte[] { 100, 156, 4, 255 }, (u - v).ToArray<byte>());
        Assert.Equal(new byte[] { 56, 156, 253, 0 }, (-u).ToArray<byte>());
        Assert.Equal(new byte[] { 88, 44, 9, 0 }, (u * 3).ToArray<byte>());
        Assert.Equal(new[] { false, true, true, true }, (u < v).ToArray<bool>());
        var p = Tensor.From(new sbyte[] { 100, -100, -128, 5 });
        var q = Tensor.From(new sbyte[] { 100, -100, -1, 3 });
        Assert.Equal(new sbyte[] { -56, 56, 127, 8 }, (p + q).ToArray<sbyte>());
        Assert.Equal(new sbyte[] { 16, 16, -128, 15 }, (p * q).ToArray<sbyte>());
        Assert.Equal(new sbyte[] { 100, 100, -128, 5 }, p.Abs().ToArray<sbyte>());
        Assert.Equal(new short[] { 24464, 24464 }, Tensor.From(new short[] { 300, -300 }).Pow(2).ToArray<short>());
    }

    [Fact]
    public void Reductions_AccumulateWide()
    {
        // A half running sum of 0.1 would stall at 256·0.1's spacing; accumulated in float it reaches 100.
        var tenth = Tensor.Full([1000], 0.1, DType.Float16);
        Assert.Equal(Bits("0x5640"), HalfBits(tenth.Sum()));
        Assert.Equal(Bits("0x2E66"), HalfBits(tenth.Mean()));
        Assert.Equal(Bits("0x42C8"), BFloat16Bits(Tensor.Full([1000], 0.1, DType.BFloat16).Sum()));
        Assert.Equal(Bits("0x63D0"), HalfBits(Halves(1.0f, 0.1f, 1000.0f, 3.0f, -2.5f).Max()));
        Assert.Equal(Bits("0x3DCD", "0x3E4D", "0x3E9A", "0x3ECD", "0x3F00"), BFloat16Bits(Tensor.Full([5], 0.1, DType.BFloat16).Cumsum(0)));
        var u = Tensor.From(new byte[] { 200, 100, 3, 0 });
        var total = u.Sum();
        Assert.Equal(DType.Int64, total.DType);   // integer sums give int64, as in PyTorch
        Assert.Equal(303L, total.Item<long>());
        var max = u.Max();
        Assert.Equal(DType.UInt8, max.DType);
        Assert.Equal((byte)200, max.Item<byte>());
    }

    [Fact]
    public void Matmul_AccumulatesInFloat_RoundsOnce()
    {
        var m1 = BFloats(0.1f, 0.2f, 0.3f, 1.5f, -2.0f, 0.7f).Reshape(2, 3);
        var m2 = BFloats(0.3f, 1.0f, 0.25f, -0.5f, 2.0f, 0.125f).Reshape(3, 2);
        // The float product rounded once; PyTorch 1.13's CPU bfloat16 mm rounds its partial sums and
        // gives 0x3F2E for the first element, one unit lower (0.68171 lies nearer 0x3F2F's 0.68359).
        Assert.Equal(Bits("0x3F2F", "0x3D1A", "0x3FAD", "0x4026"), BFloat16Bits(m1.Matmul(m2)));
        // PyTorch 1.13 has no CPU half matmul: the expectation is its float product rounded to half.
        Assert.Equal(Bits("0x3974", "0x28D0", "0x3D66", "0x412D"), HalfBits(m1.Half().Matmul(m2.Half())));
    }

    [Fact]
    public void HalfGradient_EqualsPyTorchs()
    {
        var x = Tensor.From(new[] { 0.1f, -1.5f, 3.0f }).Half().RequiresGrad_();
        var w = Halves(0.3f, 0.7f, -0.2f);
        (x * x * w).Sum().Backward();
        Assert.Equal(Bits("0x2BAE", "0xC034", "0xBCCC"), HalfBits(x.Grad!));
    }

    // ---- storage, creation and data movement ----

    public static TheoryData<DType> NarrowDTypes() => [DType.Float16, DType.BFloat16, DType.UInt8, DType.Int8, DType.Int16, DType.UInt16];

    [Theory]
    [MemberData(nameof(NarrowDTypes))]
    public void CreationAndDataMovement_KeepDTypeAndValues(DType dtype)
    {
        Assert.Equal(new double[] { 0, 0 }, Tensor.Zeros([2], dtype).ToArray<double>());
        Assert.Equal(new double[] { 1, 1, 1 }, Tensor.Ones([3], dtype).ToArray<double>());
        Assert.Equal(new double[] { 7, 7 }, Tensor.Full([2], 7, dtype).ToArray<double>());
        var x = Tensor.Arange(0, 6, 1, dtype).Reshape(2, 3);
        Assert.Equal(dtype, x.DType);
        Assert.Equal(new double[] { 0, 3, 1, 4, 2, 5 }, x.T.Contiguous().ToArray<double>());
        Assert.Equal(new double[] { 0, 3, 1, 4, 2, 5 }, x.Permute(1, 0).Clone().ToArray<double>());
        Assert.Equal(new double[] { 4, 5 }, x[1, 1..].ToArray<double>());
        Assert.Equal(new double[] { 3, 4, 5, 0, 1, 2 }, x.IndexSelect(0, Tensor.From(new[] { 1L, 0L })).ToArray<double>());
        var cat = Tensor.Cat([x, x], 1);
        Assert.Equal(dtype, cat.DType);
        Assert.Equal(new double[] { 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5 }, cat.ToArray<double>());
        Assert.Equal([2, 2, 3], Tensor.Stack([x, x]).Shape.ToArray());
        Assert.Equal(new double[] { 1, 3, 5 }, x.MaskedSelect(x.Remainder(2) == 1.0).ToArray<double>());
        Assert.Equal(new double[] { 5, 4, 3, 2, 1, 0 }, x.Flip(0, 1).Contiguous().ToArray<double>());
        Assert.Equal(4.0, x[1, 1].Item());
        Assert.True(x.Equal(x.Clone()));
        var y = x.Clone();
        y[0, 0] = Tensor.Scalar(9, dtype);
        Assert.Equal(new double[] { 9, 1, 2, 3, 4, 5 }, y.ToArray<double>());
        Assert.Equal(new double[] { 0, 1, 2, 3, 4, 5 }, x.ToArray<double>());
        Assert.Equal(dtype.IsFloatingPoint(), dtype is DType.Float16 or DType.BFloat16);
    }

    [Fact]
    public void From_TakesEachNarrowElementType()
    {
        Assert.Equal(DType.Float16, Tensor.From(new[,] { { (Half)1.5f } }).DType);
        Assert.Equal(DType.BFloat16, Tensor.From(new[] { (BFloat16)2.5f }, [1]).DType);
        Assert.Equal(DType.UInt8, Tensor.From(new byte[,] { { 1, 2 } }).DType);
        Assert.Equal(DType.Int8, Tensor.From(new sbyte[] { -1 }).DType);
        Assert.Equal(DType.Int16, Tensor.From(new short[] { -1 }).DType);
        Assert.Equal(1.5, Tensor.From(new[,] { { (Half)1.5f } }).Item());
    }

    [Fact]
    public void ElementSizesAndNames_AreTorchs()
    {
        Assert.Equal(new[] { 2, 2, 1, 1, 2 }, new[] { DType.Float16, DType.BFloat16, DType.UInt8, DType.Int8, DType.Int16 }.Select(d => d.ElementSize()));
        Assert.Equal(new[] { "torch.float16", "torch.bfloat16", "torch.uint8", "torch.int8", "torch.int16" },
            new[] { DType.Float16, DType.BFloat16, DType.UInt8, DType.Int8, DType.Int16 }.Select(d => d.TorchName()));
        Assert.True(Tensor.Zeros([1], DType.Float16).RequiresGrad_().RequiresGrad);
        Assert.True(DType.UInt8.IsInteger() && !DType.UInt8.IsFloatingPoint());
    }

    [Fact]
    public void Printing_MatchesPyTorch()
    {
        Assert.Equal("tensor([1.5000, 2.2500, 0.1000], dtype=torch.float16)", Halves(1.5f, 2.25f, 0.1f).ToString());
        Assert.Equal("tensor([[ 1., -2.]], dtype=torch.bfloat16)", BFloats(1.0f, -2.0f).Reshape(1, 2).ToString());
        Assert.Equal("tensor([  1, 255], dtype=torch.uint8)", Tensor.From(new byte[] { 1, 255 }).ToString());
        Assert.Equal("tensor([-1,  7], dtype=torch.int8)", Tensor.From(new sbyte[] { -1, 7 }).ToString());
        Assert.Equal("tensor(300, dtype=torch.int16)", Tensor.Scalar(300, DType.Int16).ToString());
    }

    // ---- what refuses ----

    [Fact]
    public void FusedAndLapackKernels_RefuseNarrowFloats_NamingOperationAndDType()
    {
        var x = Tensor.Ones([1, 1, 3, 3], DType.Float16);
        var w = Tensor.Ones([1, 1, 2, 2], DType.Float16);
        var conv = Assert.Throws<NotSupportedException>(() => Functional.Conv2d(x, w));
        Assert.Contains("Conv2d", conv.Message);
        Assert.Contains("Float16", conv.Message);
        Assert.Contains(".Float()", conv.Message);
        var chol = Assert.Throws<NotSupportedException>(() => Linalg.Cholesky(Tensor.Eye(2).BFloat16()));
        Assert.Contains("BFloat16", chol.Message);
        Assert.Contains("Quantile", Assert.Throws<ArgumentException>(() => Halves(1f, 2f).Quantile(0.5)).Message);
    }

    [Fact]
    public void SmallIntegerIndexTensors_AreRefused_NotReadAsMasks()
    {
        var x = Tensor.Arange(4.0);
        var e = Assert.Throws<ArgumentException>(() => x[Tensor.From(new byte[] { 1, 0 })]);
        Assert.Contains("UInt8", e.Message);
        Assert.Throws<ArgumentException>(() => x.IndexSelect(0, Tensor.From(new short[] { 1 })));
    }

    [Fact]
    public void FloatLimits_AreTheDTypes()
    {
        var h = Halves(float.PositiveInfinity, float.NegativeInfinity).NanToNum();
        Assert.Equal(new double[] { 65504, -65504 }, h.ToArray<double>());
        Assert.Throws<ArgumentException>(() => Tensor.Randperm(300, DType.UInt8));
        Assert.Equal(new long[] { 0, 1, 2, 3 }, Tensor.Randperm(4, DType.Int8).Sort().Values.ToArray<long>());
    }

    // ---- modules ----

    [Fact]
    public void HalfLinear_EqualsFloatLinearRounded_AndGradientsAreHalf()
    {
        var linear = new Linear(3, 2, generator: new Generator(1)).Half();
        Assert.Equal(DType.Float16, linear.Weight.DType);
        Assert.Equal(DType.Float16, linear.Bias!.DType);
        var x = Halves(0.5f, -1.25f, 2.0f, 0.1f, 0.2f, 0.3f).Reshape(2, 3);
        var y = linear.Forward(x);
        var expected = Functional.Linear(x.Float(), linear.Weight.Float(), linear.Bias.Float()).Half();
        Assert.Equal(HalfBits(expected), HalfBits(y));
        y.Sum().Backward();
        Assert.Equal(DType.Float16, linear.Weight.Grad!.DType);
        // Each row of dL/dW is the column sums of x, accumulated in float and rounded once.
        Assert.Equal(HalfBits(x.Float().Sum(0).Half()), HalfBits(linear.Weight.Grad[0]));
        Assert.Equal(DType.BFloat16, new Linear(2, 2).BFloat16().Weight.DType);
    }

    // ---- safetensors ----

    // Fixtures/dtype_breadth.py, run with a file name, wrote this file (base64 of its bytes).
    const string PyTorchFile =
        "HgEAAAAAAAB7ImhhbGYiOnsiZHR5cGUiOiJGMTYiLCJzaGFwZSI6WzIsMl0sImRhdGFfb2Zmc2V0cyI6WzAsOF19LCJiZjE2Ijp7ImR0eXBlIjoiQkYxNiIsInNoYXBlIjpbM10sImRhdGFfb2Zmc2V0cyI6WzgsMTRdfSwidTgiOnsiZHR5cGUiOiJVOCIsInNoYXBlIjpbM10sImRhdGFfb2Zmc2V0cyI6WzE0LDE3XX0sImk4Ijp7ImR0eXBlIjoiSTgiLCJzaGFwZSI6WzNdLCJkYXRhX29mZnNldHMiOlsxNywyMF19LCJpMTYiOnsiZHR5cGUiOiJJMTYiLCJzaGFwZSI6WzIsMV0sImRhdGFfb2Zmc2V0cyI6WzIwLDI0XX19ADxmrv97AHyAP809Yv8AB/+AAH8AgDkw";

    [Fact]
    public void Safetensors_ReadsPyTorchsNarrowDTypes()
    {
        using var stream = new MemoryStream(Convert.FromBase64String(PyTorchFile));
        var t = Safetensors.Load(stream).Tensors;
        Assert.Equal(Bits("0x3C00", "0xAE66", "0x7BFF", "0x7C00"), HalfBits(t["half"]));
        Assert.Equal([2, 2], t["half"].Shape.ToArray());
        Assert.Equal(new[] { 1.0f, 0.10009765625f }, t["bf16"].ToArray<float>()[..2]);
        Assert.Equal(DType.BFloat16, t["bf16"].DType);
        Assert.Equal(new byte[] { 0, 7, 255 }, t["u8"].ToArray<byte>());
        Assert.Equal(new sbyte[] { -128, 0, 127 }, t["i8"].ToArray<sbyte>());
        Assert.Equal(new short[] { -32768, 12345 }, t["i16"].ToArray<short>());
        Assert.Equal([2, 1], t["i16"].Shape.ToArray());
        using var again = new MemoryStream();
        Safetensors.Save(again, t);
        again.Position = 0;
        var back = Safetensors.Load(again).Tensors;
        foreach (var (name, tensor) in t) Assert.True(tensor.Equal(back[name]) && back[name].DType == tensor.DType, name);
    }
}
