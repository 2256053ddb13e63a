using System.Buffers.Binary;
using System.Text;
using MetaGrad.IO;
using MetaGrad.NN;

namespace MetaGrad.Tests;

/// <summary>
/// UInt16, PyTorch's "barebones" torch.uint16 (PyTorch 2.3 and later): promotion as c10's promoteTypes,
/// casts, wrapping arithmetic computed in Int64, reductions, printing and safetensors U16. PyTorch 1.13
/// (the one installed) has no uint16, so values come from numpy's uint16 (Fixtures/uint16.py prints
/// them) or are worked by hand from the rule cited beside them.
/// </summary>
public class UInt16Tests
{
    static Tensor U16(params ushort[] values) => Tensor.From(values, [values.Length]);

    static ushort[] Values(Tensor t)
    {
        Assert.Equal(DType.UInt16, t.DType);
        return t.ToArray<ushort>();
    }

    // ---- facts ----

    [Fact]
    public void Facts_AreTorchUInt16s()
    {
        Assert.Equal(10, (int)DType.UInt16);   // appended: the values of the older dtypes never move
        Assert.Equal(2, DType.UInt16.ElementSize());
        Assert.Equal("torch.uint16", DType.UInt16.TorchName());
        Assert.True(DType.UInt16.IsInteger());
        Assert.False(DType.UInt16.IsFloatingPoint());
        Assert.Equal(DType.UInt16, Tensor.From(new ushort[,] { { 1, 2 } }).DType);
        Assert.Equal((ushort)65535, U16(65535).Item<ushort>());
        Assert.Equal(65535.0, U16(65535).Item());
        Assert.Contains("UInt16", Assert.Throws<InvalidOperationException>(() => Tensor.Zeros([1], DType.UInt16).RequiresGrad_()).Message);
    }

    // ---- promotion (c10/core/ScalarType.cpp, promoteTypes; ATen's combine_categories for 0-d tensors and numbers) ----

    [Theory]
    [InlineData(DType.UInt16, DType.UInt16)]
    [InlineData(DType.Float32, DType.Float32)]
    [InlineData(DType.Float64, DType.Float64)]
    [InlineData(DType.Float16, DType.Float16)]
    [InlineData(DType.BFloat16, DType.BFloat16)]
    public void Promote_WithItselfOrAFloat_GivesThatDType(DType other, DType expected)
    {
        Assert.Equal(expected, DTypes.Promote(DType.UInt16, other));
        Assert.Equal(expected, DTypes.Promote(other, DType.UInt16));
    }

    [Theory]
    [InlineData(DType.Int64)]
    [InlineData(DType.Int32)]
    [InlineData(DType.Int16)]
    [InlineData(DType.Int8)]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Bool)]
    public void Promote_WithAnyOtherDType_IsRefusedAsInPyTorch(DType other)
    {
        var e = Assert.Throws<ArgumentException>(() => DTypes.Promote(DType.UInt16, other));
        Assert.Equal($"Promotion for uint16, uint32, uint64 types is not supported, attempted to promote UInt16 and {other}", e.Message);
        Assert.Contains($"promote {other} and UInt16", Assert.Throws<ArgumentException>(() => DTypes.Promote(other, DType.UInt16)).Message);
    }

    [Fact]
    public void MixedTensorOperands_FollowPyTorchsResultType()
    {
        var a = U16(1, 65535);
        Assert.Contains("attempted to promote UInt16 and Int32", Assert.Throws<ArgumentException>(() => a + Tensor.From(new[] { 1, 2 })).Message);
        Assert.Contains("UInt16 and Bool", Assert.Throws<ArgumentException>(() => a * Tensor.From(new[] { true, false })).Message);
        // A 0-d integer tensor does not decide the dtype of a dimensioned one (combine_categories keeps the higher).
        Assert.Equal(new ushort[] { 2, 0 }, Values(a + Tensor.From(1L)));
        Assert.Equal(DType.Int32, (Tensor.From(new[] { 1, 2 }) + Tensor.Scalar(1, DType.UInt16)).DType);
        // A Bool tensor with a 0-d uint16 goes through promoteTypes(Bool, UInt16), which PyTorch refuses.
        Assert.Throws<ArgumentException>(() => Tensor.From(new[] { true }) + Tensor.Scalar(1, DType.UInt16));
        // Floats win, 0-d or not.
        Assert.Equal(new[] { 1.5f, 65535.5f }, (a + Tensor.From(new[] { 0.5f, 0.5f })).ToArray<float>());
        Assert.Equal(DType.Float64, (a + Tensor.Scalar(0.5, DType.Float64)).DType);
        Assert.Equal(DType.Float16, (a + Tensor.From(new[] { (Half)1 }, [1])).DType);
    }

    [Fact]
    public void PythonStyleNumbers_KeepUInt16_OrGiveTheDefaultFloat()
    {
        var a = U16(65535, 2);
        Assert.Equal(new ushort[] { 0, 3 }, Values(a + 1));
        Assert.Equal(new ushort[] { 65534, 1 }, Values(a - 1));
        Assert.Equal(DType.Float32, (a + 0.5).DType);
        Assert.Equal(new[] { 65535.5f, 2.5f }, (a + 0.5).ToArray<float>());
        Assert.Equal(DType.UInt16, DTypes.WithScalar(DType.UInt16, scalarIsFloat: false, scalarIsBool: true));
    }

    // ---- casts ----

    [Fact]
    public void FromFloat_TruncatesTowardZero_AndOutOfRangeWrapsThroughInt64()
    {
        // numpy (Fixtures/uint16.py) for every value; in range C's cast truncates, as PyTorch's does.
        // 70000.5, -1 and -0.5 are outside uint16: PyTorch leaves them unspecified; MetaGrad truncates to
        // int64 and wraps (70000 - 65536 = 4464), as x86 builds of PyTorch and numpy do below 2^31.
        var x = Tensor.From(new[] { 0f, 1.7f, 65535.0f, 65535.9f, 3.99f, 70000.5f, -1.0f, -0.5f });
        Assert.Equal(new ushort[] { 0, 1, 65535, 65535, 3, 4464, 65535, 0 }, Values(x.To(DType.UInt16)));
        Assert.Equal(new ushort[] { 4464 }, Values(Tensor.From(new[] { 70000.5 }).To(DType.UInt16)));
        Assert.Equal(new ushort[] { 0 }, Values(Tensor.From(new[] { float.NaN }).To(DType.UInt16)));
    }

    [Fact]
    public void FromIntegers_WrapsModulo65536()
    {
        Assert.Equal(new ushort[] { 0, 1, 65535, 4464, 0 }, Values(Tensor.From(new[] { 65536L, 65537L, -1L, 70000L, -65536L }).To(DType.UInt16)));
        Assert.Equal(new ushort[] { 65535, 32768 }, Values(Tensor.From(new short[] { -1, -32768 }).To(DType.UInt16)));
        Assert.Equal(new ushort[] { 1, 0 }, Values(Tensor.From(new[] { true, false }).To(DType.UInt16)));
        Assert.Equal(new ushort[] { 255 }, Values(Tensor.From(new byte[] { 255 }).To(DType.UInt16)));
    }

    [Fact]
    public void ToEveryOtherDType_MatchesNumpy()
    {
        var w = U16(65535, 32768, 32767, 300, 200);
        Assert.Equal(new short[] { -1, -32768, 32767, 300, 200 }, w.Short().ToArray<short>());
        Assert.Equal(new byte[] { 255, 0, 255, 44, 200 }, w.Byte().ToArray<byte>());
        Assert.Equal(new sbyte[] { -1, 0, -1, 44, -56 }, w.Char().ToArray<sbyte>());
        Assert.Equal(new long[] { 65535, 32768, 32767, 300, 200 }, w.Long().ToArray<long>());
        Assert.Equal(new[] { 65535, 32768, 32767, 300, 200 }, w.Int().ToArray<int>());
        Assert.Equal(new[] { 65535f, 32768f, 32767f, 300f, 200f }, w.Float().ToArray<float>());
        Assert.Equal(new[] { 65535.0, 32768, 32767, 300, 200 }, w.Double().ToArray<double>());
        // float16: 65535 is past half's largest finite (65504) by more than half a step, so infinity; 2049 rounds to even (2048).
        Assert.Equal(new ushort[] { 0x7C00, 0x6800, 0x7BFF, 0x3C00 },
            U16(65535, 2049, 65504, 1).Half().ToArray<Half>().Select(BitConverter.HalfToUInt16Bits).ToArray());
        // bfloat16 (numpy has none; by hand): 65535f is 0x477FFF00, whose low half 0xFF00 rounds up to 0x4780 = 65536.
        Assert.Equal(new ushort[] { 0x4780, 0x4380 }, U16(65535, 256).BFloat16().ToArray<BFloat16>().Select(b => b.Bits).ToArray());
        Assert.Equal(new[] { false, true, true }, U16(0, 65535, 1).Bool().ToArray<bool>());
    }

    // ---- arithmetic, computed in Int64 and wrapped back ----

    static Tensor A => U16(65535, 40000, 3, 0);
    static Tensor B => U16(1, 30000, 65535, 1);

    [Fact]
    public void Arithmetic_WrapsModulo65536()
    {
        Assert.Equal(new ushort[] { 0, 4464, 2, 1 }, Values(A + B));
        Assert.Equal(new ushort[] { 65534, 10000, 4, 65535 }, Values(A - B));
        Assert.Equal(new ushort[] { 65535, 35840, 65533, 0 }, Values(A * B));
        Assert.Equal(new ushort[] { 1, 25536, 65533, 0 }, Values(-A));
        Assert.Equal(new ushort[] { 65533, 54464, 9, 0 }, Values(A * 3));
        Assert.Equal(new ushort[] { 1, 4096, 9, 0 }, Values(A.Pow(2)));
        Assert.Equal(new ushort[] { 0, 10000, 3, 0 }, Values(A.Remainder(B)));
        Assert.Equal(new ushort[] { 65535, 40000, 3, 0 }, Values(A.Abs()));
        var inPlace = A.Clone();
        inPlace.Add_(B);
        Assert.Equal(new ushort[] { 0, 4464, 2, 1 }, Values(inPlace));
    }

    [Fact]
    public void TrueDivision_GivesFloat32()
    {
        var q = A / B;
        Assert.Equal(DType.Float32, q.DType);
        Assert.Equal(new[] { 65535f, 1.3333333730697632f, 4.577706567943096e-05f, 0f }, q.ToArray<float>());
    }

    [Fact]
    public void Comparisons_ReadValuesAboveInt16sRange()
    {
        Assert.Equal(new[] { false, false, true, true }, (A < B).ToArray<bool>());
        Assert.Equal(new[] { true, false, false, false }, (A == U16(65535, 0, 0, 1)).ToArray<bool>());
        Assert.Equal(new[] { true, true, false, false }, (A > 30000).ToArray<bool>());
        Assert.Equal(new ushort[] { 40000, 40000, 3, 1 }, Values(A.Clamp(1, 40000)));
    }

    [Fact]
    public void Reductions_SumsGiveInt64_ExtremesStayUInt16()
    {
        var sum = A.Sum();
        Assert.Equal(DType.Int64, sum.DType);   // PyTorch sums every integer dtype in int64
        Assert.Equal(105538L, sum.Item<long>());
        Assert.Equal(180000L, U16(300, 300, 2).Prod().Item<long>());
        var cumsum = A.Cumsum(0);
        Assert.Equal(DType.Int64, cumsum.DType);
        Assert.Equal(new long[] { 65535, 105535, 105538, 105538 }, cumsum.ToArray<long>());
        Assert.Equal(new ushort[] { 65535 }, Values(A.Max().Reshape(1)));
        Assert.Equal(new ushort[] { 0 }, Values(A.Min().Reshape(1)));
        Assert.Equal(0L, A.ArgMax().Item<long>());
        Assert.Equal(new ushort[] { 0, 3, 40000, 65535 }, Values(A.Sort().Values));
        Assert.Equal(new long[] { 3, 2, 1, 0 }, A.Sort().Indices.ToArray<long>());
    }

    // ---- creation and data movement: values above 32767 survive every copy ----

    [Fact]
    public void CreationAndDataMovement_KeepEveryBit()
    {
        Assert.Equal(new ushort[] { 0, 0 }, Values(Tensor.Zeros([2], DType.UInt16)));
        Assert.Equal(new ushort[] { 1, 1 }, Values(Tensor.Ones([2], DType.UInt16)));
        Assert.Equal(new ushort[] { 65535 }, Values(Tensor.Full([1], 65535, DType.UInt16)));
        Assert.Equal(new ushort[] { 65533, 65534 }, Values(Tensor.Arange(65533, 65535, 1, DType.UInt16)));
        Assert.Equal(new ushort[] { 0 }, Values(Tensor.Empty([1], DType.UInt16)));

        var x = U16(65535, 40000, 3, 32768, 1, 2).Reshape(2, 3);
        Assert.Equal(new ushort[] { 65535, 32768, 40000, 1, 3, 2 }, Values(x.T.Contiguous()));
        Assert.Equal(new ushort[] { 40000, 3 }, Values(x[0, 1..]));
        Assert.Equal(new ushort[] { 32768, 1, 2, 65535, 40000, 3 }, Values(x.IndexSelect(0, Tensor.From(new[] { 1L, 0L }))));
        Assert.Equal(new ushort[] { 3, 32768 }, Values(x.Gather(1, Tensor.From(new[] { 2L, 0L }, [2, 1])).Reshape(2)));
        Assert.Equal(new ushort[] { 65535, 40000, 32768 }, Values(x.MaskedSelect(x > 30000)));
        Assert.Equal(new ushort[] { 65535, 40000, 3, 65535, 40000, 3, 32768, 1, 2, 32768, 1, 2 }, Values(Tensor.Cat([x, x], 1)));
        Assert.Equal([2, 2, 3], Tensor.Stack([x, x]).Shape.ToArray());
        Assert.Equal(new ushort[] { 65535, 0, 3, 0, 1, 2 }, Values(Tensor.Where(x < 40000 & x != 32768 | x == 65535, x, Tensor.Zeros([2, 3], DType.UInt16))));
        Assert.Equal(new ushort[] { 2, 1, 32768, 3, 40000, 65535 }, Values(x.Flip(0, 1).Contiguous()));
        var y = x.Clone();
        y[0, 0] = Tensor.Scalar(50000, DType.UInt16);
        Assert.Equal(new ushort[] { 50000, 40000, 3, 32768, 1, 2 }, Values(y));
        Assert.Equal((ushort)65535, x[0, 0].Item<ushort>());
        Assert.True(x.Equal(x.Clone()));
    }

    [Fact]
    public void IndexTensorsOfUInt16_AreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Arange(4.0)[U16(1, 0)]);
        Assert.Contains("UInt16", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Arange(4.0).IndexSelect(0, U16(1)));
    }

    [Fact]
    public void FloatingOnlyKernels_RefuseNamingUInt16()
    {
        Assert.Contains("UInt16", Assert.Throws<ArgumentException>(() => U16(1, 2).Histc(2, 0, 2)).Message);
        Assert.Contains("UInt16", Assert.Throws<ArgumentException>(() => U16(1, 2).Logcumsumexp(0)).Message);
        Assert.Equal(new[] { 0.5f, 0.5f }, Functional.Softmax(U16(65535, 65535), 0).ToArray<float>());   // integers are taken as floats first
        Assert.Contains("UInt16", Assert.Throws<ArgumentException>(() => Functional.Conv2d(Tensor.Ones([1, 1, 2, 2], DType.UInt16), Tensor.Ones([1, 1, 1, 1], DType.UInt16))).Message);
        Assert.Equal(new[] { false, false }, U16(1, 65535).IsNaN().ToArray<bool>());   // false throughout, as for every integer dtype
        Assert.Throws<ArgumentException>(() => Tensor.Randperm(65537, DType.UInt16));
        Assert.Equal(new long[] { 0, 1, 2 }, Tensor.Randperm(3, DType.UInt16).Sort().Values.ToArray<long>());
    }

    // ---- printing, as PyTorch 2.x prints (integers right-aligned to the widest) ----

    [Fact]
    public void Printing_NamesTheDType()
    {
        Assert.Equal("tensor([    0,     1, 65535], dtype=torch.uint16)", U16(0, 1, 65535).ToString());
        Assert.Equal("tensor(40000, dtype=torch.uint16)", Tensor.Scalar(40000, DType.UInt16).ToString());
    }

    // ---- safetensors U16 ----

    // A file written by hand after the format's description: the 8-byte little-endian header length,
    // the JSON header, then the little-endian data (0, 1, 32768, 65535 as a 2×2 matrix).
    static byte[] HandWrittenFile()
    {
        var header = Encoding.ASCII.GetBytes("{\"m\":{\"dtype\":\"U16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}");
        byte[] data = [0x00, 0x00, 0x01, 0x00, 0x00, 0x80, 0xFF, 0xFF];
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    [Fact]
    public void Safetensors_ReadsU16()
    {
        using var stream = new MemoryStream(HandWrittenFile());
        var m = Safetensors.Load(stream)["m"];
        Assert.Equal([2, 2], m.Shape.ToArray());
        Assert.Equal(new ushort[] { 0, 1, 32768, 65535 }, Values(m));
    }

    [Fact]
    public void Safetensors_WritesU16_BetweenI16AndF16_AsTheReferenceOrders()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["s"] = Tensor.From(new short[] { -2 }),
            ["u"] = U16(1, 65535),
            ["h"] = Tensor.From(new[] { (Half)1 }, [1]),
        };
        using var stream = new MemoryStream();
        Safetensors.Save(stream, tensors);
        // The reference sorts by dtype, descending (… I16 < U16 < F16 …): h, then u, then s; the header
        // is padded with spaces to a multiple of 8.
        var json = "{\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},\"u\":{\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[2,6]}," +
                   "\"s\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[6,8]}}";
        json = json.PadRight((json.Length + 7) / 8 * 8);
        var expected = new byte[8 + json.Length + 8];
        BinaryPrimitives.WriteUInt64LittleEndian(expected, (ulong)json.Length);
        Encoding.ASCII.GetBytes(json).CopyTo(expected, 8);
        byte[] data = [0x00, 0x3C, 0x01, 0x00, 0xFF, 0xFF, 0xFE, 0xFF];
        data.CopyTo(expected, 8 + json.Length);
        Assert.Equal(expected, stream.ToArray());

        stream.Position = 0;
        var back = Safetensors.Load(stream);
        Assert.Equal(new ushort[] { 1, 65535 }, Values(back["u"]));
    }

    [Fact]
    public void Safetensors_RoundTripsAStridedView()
    {
        var x = U16(65535, 40000, 3, 32768, 1, 2).Reshape(2, 3).T;
        using var stream = new MemoryStream();
        Safetensors.Save(stream, new Dictionary<string, Tensor> { ["x"] = x });
        stream.Position = 0;
        var back = Safetensors.Load(stream)["x"];
        Assert.Equal([3, 2], back.Shape.ToArray());
        Assert.Equal(new ushort[] { 65535, 32768, 40000, 1, 3, 2 }, Values(back));
    }
}
