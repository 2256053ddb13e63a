using System.Buffers.Binary;
using System.Text;
using MetaGrad.IO;

namespace MetaGrad.Tests.IO;

public class SafetensorsTests
{
    static SafetensorsContent RoundTrip(Dictionary<string, Tensor> tensors, Dictionary<string, string>? metadata = null)
    {
        using var dir = new TempFolder();
        var path = dir.File("t.safetensors");
        Safetensors.Save(path, tensors, metadata);
        return Safetensors.Load(path);
    }

    static void SameBits(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.True(actual.IsContiguous);
        switch (expected.DType)
        {
            case DType.Float32: Assert.Equal(expected.ToArray<float>().Select(BitConverter.SingleToInt32Bits), actual.ToArray<float>().Select(BitConverter.SingleToInt32Bits)); break;
            case DType.Float64: Assert.Equal(expected.ToArray<double>().Select(BitConverter.DoubleToInt64Bits), actual.ToArray<double>().Select(BitConverter.DoubleToInt64Bits)); break;
            case DType.Int64: Assert.Equal(expected.ToArray<long>(), actual.ToArray<long>()); break;
            case DType.Int32: Assert.Equal(expected.ToArray<int>(), actual.ToArray<int>()); break;
            case DType.Bool: Assert.Equal(expected.ToArray<bool>(), actual.ToArray<bool>()); break;
            case DType.Float16: Assert.Equal(expected.ToArray<Half>().Select(BitConverter.HalfToUInt16Bits), actual.ToArray<Half>().Select(BitConverter.HalfToUInt16Bits)); break;
            case DType.BFloat16: Assert.Equal(expected.ToArray<BFloat16>().Select(b => b.Bits), actual.ToArray<BFloat16>().Select(b => b.Bits)); break;
            case DType.UInt8: Assert.Equal(expected.ToArray<byte>(), actual.ToArray<byte>()); break;
            case DType.Int8: Assert.Equal(expected.ToArray<sbyte>(), actual.ToArray<sbyte>()); break;
            case DType.Int16: Assert.Equal(expected.ToArray<short>(), actual.ToArray<short>()); break;
            case DType.UInt16: Assert.Equal(expected.ToArray<ushort>(), actual.ToArray<ushort>()); break;
            default: throw new ArgumentOutOfRangeException(nameof(expected), $"no comparison for {expected.DType}");
        }
    }

    public static TheoryData<string, Tensor> EveryDTypeAndShape()
    {
        var data = new TheoryData<string, Tensor>
        {
            { "f32", Tensor.From(new[] { 1.5f, -0f, float.NaN, float.PositiveInfinity, float.Epsilon, -3e38f }, [2, 3]) },
            { "f64", Tensor.From(new[] { Math.PI, -0.0, double.NaN, double.NegativeInfinity, double.Epsilon, 1e308 }, [3, 1, 2]) },
            { "i64", Tensor.From(new[] { long.MinValue, -1L, 0L, long.MaxValue }) },
            { "i32", Tensor.From(new[] { int.MinValue, -7, 0, int.MaxValue }, [2, 2]) },
            { "bool", Tensor.From(new[] { true, false, false, true, true }) },
            { "f16", Tensor.From(new[] { (Half)1.5f, BitConverter.UInt16BitsToHalf(0x8000), Half.NaN, Half.PositiveInfinity, Half.Epsilon, Half.MaxValue }, [2, 3]) },
            { "bf16", Tensor.From(new[] { BFloat16.FromBits(0x3FC0), BFloat16.FromBits(0x8000), BFloat16.FromBits(0x7FC1), BFloat16.FromBits(0xFF80), BFloat16.FromBits(0x0001) }) },
            { "u8", Tensor.From(new byte[] { 0, 1, 127, 128, 255 }) },
            { "i8", Tensor.From(new sbyte[] { sbyte.MinValue, -1, 0, sbyte.MaxValue }, [2, 2]) },
            { "i16", Tensor.From(new short[] { short.MinValue, -1, 0, short.MaxValue }) },
            { "u16", Tensor.From(new ushort[] { 0, 1, 32767, 32768, ushort.MaxValue }) },
        };
        foreach (var dtype in Enum.GetValues<DType>())
        {
            data.Add($"scalar {dtype}", Tensor.Full([], 1, dtype));
            data.Add($"empty {dtype}", Tensor.Zeros([0], dtype));
            data.Add($"empty 3-d {dtype}", Tensor.Zeros([2, 0, 3], dtype));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryDTypeAndShape))]
    public void RoundTrip_KeepsDTypeShapeAndExactBits(string name, Tensor t)
    {
        var loaded = RoundTrip(new() { [name] = t }).Tensors;
        Assert.Equal([name], loaded.Keys);
        SameBits(t, loaded[name]);
    }

    [Fact]
    public void RoundTrip_ManyTensorsOfMixedDTypes_WithMetadata()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["fc1.weight"] = Tensor.Randn([4, 3], generator: new Generator(1)),
            ["fc1.bias"] = Tensor.Zeros(4),
            ["steps"] = Tensor.From(7L),
            ["mask"] = Tensor.From(new[] { true, false, true }),
            ["ids"] = Tensor.From(new[] { 3, 1, 2 }),
            ["scale"] = Tensor.From(0.5),
        };
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\" <b>" };
        var (loaded, meta) = RoundTrip(tensors, metadata);
        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach (var (k, t) in tensors) SameBits(t, loaded[k]);
        Assert.Equal(metadata, meta);
    }

    [Fact]
    public void NonContiguousTensors_AreWrittenRowMajor()
    {
        var t = Tensor.Arange(6.0).Reshape(2, 3).T;   // strides (1, 3)
        Assert.False(t.IsContiguous);
        var loaded = RoundTrip(new() { ["t"] = t }).Tensors["t"];
        Check.Shape([3, 2], loaded);
        Check.Values([0f, 3f, 1f, 4f, 2f, 5f], loaded);
    }

    [Fact]
    public void Load_WithoutMetadata_GivesAnEmptyDictionary() =>
        Assert.Empty(RoundTrip(new() { ["x"] = Tensor.Ones(1) }).Metadata);

    // ---- the bytes on disk, built by hand from the format's description ----

    static byte[] FileBytes(string json, params byte[][] data)
    {
        var header = Encoding.UTF8.GetBytes(json);
        int padded = (header.Length + 7) / 8 * 8;
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        return [.. length, .. header, .. Enumerable.Repeat((byte)' ', padded - header.Length), .. data.SelectMany(d => d)];
    }

    [Fact]
    public void Load_AHeaderThatIsNotUnicode_IsInvalidData()
    {
        // Found by the fuzzer: both ended in an InvalidOperationException from the JSON reader.
        var file = FileBytes("{\"__metadata__\":{\"k\":\"XX\"}}");
        file[8 + 18] = 0xC3;   // a lead byte followed by a quote: not UTF-8
        Assert.Contains("not valid UTF-8", Assert.Throws<InvalidDataException>(() => Safetensors.Load(new MemoryStream(file))).Message);
        var surrogate = FileBytes("{\"__metadata__\":{\"k\":\"\\ud800\"}}");
        Assert.Contains("not valid Unicode", Assert.Throws<InvalidDataException>(() => Safetensors.Load(new MemoryStream(surrogate))).Message);
    }

    [Fact]
    public void Serialize_MatchesTheFormatByteForByte()
    {
        // Larger elements first, then by name (as the reference writer does), compact JSON, metadata
        // first, header padded with spaces to 8 bytes, then little-endian data back to back.
        var tensors = new Dictionary<string, Tensor>
        {
            ["b"] = Tensor.From(new[] { true, false }),
            ["a"] = Tensor.From(new[] { 1f, -2f }),
            ["c"] = Tensor.From(258L),
            ["d"] = Tensor.From(new[] { 1, 2 }),
        };
        var expected = FileBytes(
            "{\"__metadata__\":{\"epoch\":\"3\",\"format\":\"pt\"}," +
            "\"c\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}," +
            "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}," +
            "\"d\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[16,24]}," +
            "\"b\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[24,26]}}",
            [2, 1, 0, 0, 0, 0, 0, 0],
            [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0],
            [1, 0, 0, 0, 2, 0, 0, 0],
            [1, 0]);
        var actual = Safetensors.Serialize(tensors, new Dictionary<string, string> { ["format"] = "pt", ["epoch"] = "3" });
        Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(actual));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Serialize_NeedsNoPaddingWhenTheHeaderFillsWholeWords()
    {
        // 64 bytes of JSON: the data follows at once.
        var json = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
        Assert.Equal(64, json.Length);
        var data = new[] { 0f, 1, 2, 3, 4, 5 }.SelectMany(BitConverter.GetBytes).ToArray();
        var actual = Safetensors.Serialize(new Dictionary<string, Tensor> { ["attn.0"] = Tensor.From(new[] { 0f, 1, 2, 3, 4, 5 }, [1, 2, 3]) });
        Assert.Equal(FileBytes(json, data), actual);
        Assert.Equal(64, actual[0]);
        Assert.Equal(FileBytes("{}"), Safetensors.Serialize(new Dictionary<string, Tensor>()));
        Assert.Equal(16, FileBytes("{}").Length);
    }

    [Fact]
    public void Load_ReadsAFileWrittenByHand_InAnyOffsetOrder()
    {
        using var dir = new TempFolder();
        var path = dir.File("hand.safetensors");
        // Tensors listed against offset order, with a gap-free data section.
        File.WriteAllBytes(path, FileBytes(
            "{\"y\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[4,8]},\"x\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}",
            BitConverter.GetBytes(2.5f), BitConverter.GetBytes(-9)));
        var (tensors, metadata) = Safetensors.Load(path);
        Assert.Equal(["x", "y"], tensors.Keys);   // in file (offset) order
        Assert.Equal(2.5f, tensors["x"].Item<float>());
        Assert.Equal(new[] { -9 }, tensors["y"].ToArray<int>());
        Assert.Empty(metadata);
    }

    // ---- corrupt files ----

    static InvalidDataException LoadFails(byte[] bytes, params string[] expectedInMessage)
    {
        using var dir = new TempFolder();
        var path = dir.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        Assert.Contains(path, ex.Message);
        foreach (var s in expectedInMessage) Assert.Contains(s, ex.Message);
        return ex;
    }

    static readonly byte[] Valid = Safetensors.Serialize(new Dictionary<string, Tensor>
    {
        ["weight"] = Tensor.Ones(2, 3),
        ["bias"] = Tensor.Zeros(3),
    });

    [Fact]
    public void TooShortForTheHeaderLength_IsRefused() => LoadFails([1, 0, 0], "3 bytes");

    [Fact]
    public void TruncatedHeader_IsRefused() => LoadFails(Valid[..40], "header length is", "truncated");

    [Fact]
    public void HugeHeaderLength_IsRefused()
    {
        var bytes = (byte[])Valid.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        LoadFails(bytes, "limit", "not a safetensors file");
    }

    [Fact]
    public void TruncatedData_IsRefused_NamingTheTensor() =>
        LoadFails(Valid[..^4], "tensor \"weight\"", "run past the end of the data");   // weight comes after bias

    [Fact]
    public void TrailingBytes_AreRefused() => LoadFails([.. Valid, 0, 0], "2 bytes are unaccounted for");

    [Fact]
    public void HeaderThatIsNotJson_IsRefused() => LoadFails(FileBytes("{\"a\": [1, 2"), "not valid JSON");

    [Fact]
    public void UnknownDType_IsRefused() =>
        LoadFails(FileBytes("{\"w\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "tensor \"w\"", "unknown dtype \"F33\"");

    [Fact]
    public void UnsupportedDType_IsRefused_SayingSo() =>
        LoadFails(FileBytes("{\"w\":{\"dtype\":\"U32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "tensor \"w\"", "dtype U32 is valid safetensors but MetaGrad holds only");

    [Fact]
    public void OffsetsOutOfRange_AreRefused() =>
        LoadFails(FileBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4]), "tensor \"w\"", "data_offsets [0, 8] run past the end of the data, which holds 4 bytes");

    [Fact]
    public void SizeMismatch_IsRefused() =>
        LoadFails(FileBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]), "tensor \"w\"", "shape [3] of F32 needs 12 bytes, but data_offsets [0, 8] hold 8");

    [Fact]
    public void OverlappingTensors_AreRefused() =>
        LoadFails(FileBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]),
            "tensor \"b\"", "overlap tensor \"a\"");

    [Fact]
    public void GapBetweenTensors_IsRefused() =>
        LoadFails(FileBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", new byte[12]),
            "tensor \"b\"", "gap of 4 bytes after tensor \"a\"");

    [Fact]
    public void MalformedEntries_AreRefused()
    {
        LoadFails(FileBytes("[1, 2]"), "must be a JSON object");
        LoadFails(FileBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}"), "tensor \"w\"", "shape entry 0 (-1)");
        LoadFails(FileBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", new byte[4]), "tensor \"w\"", "data_offsets");
        LoadFails(FileBytes("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", new byte[4]), "tensor \"w\"", "shape");
        LoadFails(FileBytes("{\"__metadata__\":{\"epoch\":3}}"), "metadata entry \"epoch\" must be a string");
        LoadFails(FileBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8]}}", new byte[8]), "names \"w\" twice");
    }

    // ---- atomic writes ----

    [Fact]
    public void FailedWrite_LeavesThePreviousFileIntact_AndNoTemporaryFile()
    {
        using var dir = new TempFolder();
        var path = dir.File("model.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(3) });
        var before = File.ReadAllBytes(path);

        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);          // half a file reaches the disk...
            throw new IOException("disk full");     // ...then the write fails
        }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));

        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Ones(1) }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Save_ReplacesAnExistingFile()
    {
        using var dir = new TempFolder();
        var path = dir.File("model.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(3) });
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["v"] = Tensor.Zeros(2) });
        Assert.Equal(["v"], Safetensors.Load(path).Tensors.Keys);
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Save_IntoAMissingFolder_SaysWhichFolder()
    {
        using var dir = new TempFolder();
        var ex = Assert.Throws<DirectoryNotFoundException>(() => Safetensors.Save(Path.Combine(dir.Path, "nope", "m.safetensors"), new Dictionary<string, Tensor>()));
        Assert.Contains(Path.Combine(dir.Path, "nope"), ex.Message);
    }
}
