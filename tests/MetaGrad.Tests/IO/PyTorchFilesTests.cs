using System.IO.Compression;
using MetaGrad.IO;
using MetaGrad.NN;

namespace MetaGrad.Tests.IO;

/// <summary>
/// torch.save files, read and written. The fixtures in Fixtures/pytorch were written by PyTorch 1.13
/// (make_pt_fixtures.py); metagrad_written.pt was written by MetaGrad and read back by PyTorch
/// (check_pt_roundtrip.py). Values are the scripts' value(k, i), computed here by <see cref="Value"/>.
/// </summary>
public class PyTorchFilesTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch", name);

    /// <summary>The bytes of a fixture PyTorch wrote (ReaderFuzzTests mutates them).</summary>
    internal static byte[] PyTorchWritten(string name) => File.ReadAllBytes(Fixture(name));

    // make_pt_fixtures.py's value(k, i): element i (row-major) of tensor k.
    static int Value(int k, int i) => (i * 7 + k * 3) % 23 - 11;

    static float[] Floats(int k, int n) => Enumerable.Range(0, n).Select(i => Value(k, i) / 8f).ToArray();

    static double[] Doubles(int k, int n) => Enumerable.Range(0, n).Select(i => Value(k, i) / 8.0).ToArray();

    static long[] Longs(int k, int n) => Enumerable.Range(0, n).Select(i => (long)Value(k, i)).ToArray();

    static int[] Ints(int k, int n) => Enumerable.Range(0, n).Select(i => Value(k, i)).ToArray();

    static bool[] Bools(int k, int n) => Enumerable.Range(0, n).Select(i => ((Value(k, i) % 3) + 3) % 3 == 0).ToArray();

    static void Same(Tensor t, DType dtype, int[] shape, Array values)
    {
        Assert.Equal(dtype, t.DType);
        Assert.Equal(shape, t.Shape.ToArray());
        switch (values)
        {
            case float[] f: Assert.Equal(f, t.ToArray<float>()); break;
            case double[] d: Assert.Equal(d, t.ToArray<double>()); break;
            case long[] l: Assert.Equal(l, t.ToArray<long>()); break;
            case int[] i: Assert.Equal(i, t.ToArray<int>()); break;
            case bool[] b: Assert.Equal(b, t.ToArray<bool>()); break;
        }
    }

    static InvalidDataException Refused(string fixture, bool widen = false) =>
        Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(Fixture(fixture), widen: widen));

    // ---- reading PyTorch's files ----

    [Fact]
    public void Load_CnnStateDict_GivesMetaGradTheModelPyTorchRan()
    {
        var state = PyTorchFiles.Load(Fixture("cnn.pt"));
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked", "4.weight", "4.bias"], state.Keys);
        Same(state["0.weight"], DType.Float32, [2, 1, 3, 3], Floats(0, 18));
        Same(state["1.running_var"], DType.Float32, [2], Floats(5, 2).Select(v => Math.Abs(v) + 0.5f).ToArray());
        Same(state["1.num_batches_tracked"], DType.Int64, [], new[] { 7L });
        Same(state["4.weight"], DType.Float32, [3, 8], Floats(7, 24));

        var model = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2), new ReLU(), new Flatten(), new Linear(8, 3));
        model.LoadStateDict(state);
        model.Eval();
        var io = PyTorchFiles.Load(Fixture("cnn_io.pt"));
        var output = model.Forward(io["input"]);
        var expected = io["output"].ToArray<float>();
        var actual = output.ToArray<float>();
        Assert.Equal([2, 3], output.Shape.ToArray());
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f);
    }

    [Fact]
    public void Load_EveryDType_WithExactValues()
    {
        var t = PyTorchFiles.Load(Fixture("tensors.pt"));
        Same(t["f32"], DType.Float32, [2, 3], Floats(0, 6));
        Same(t["f64"], DType.Float64, [3], Doubles(1, 3));
        Same(t["i64"], DType.Int64, [4], Longs(2, 4));
        Same(t["i32"], DType.Int32, [2, 2], Ints(3, 4));
        Same(t["bool"], DType.Bool, [5], Bools(4, 5));
        Assert.All(t.Values, v => Assert.False(v.RequiresGrad));
    }

    [Fact]
    public void Load_ViewSavedBesideItsBase_SharesItsStorage()
    {
        var t = PyTorchFiles.Load(Fixture("tensors.pt"));
        Tensor b = t["base"], view = t["view"];
        var all = Floats(5, 12);
        Same(view, DType.Float32, [2, 2], new[] { all[4], all[6], all[8], all[10] });   // base[1:, ::2]
        Assert.Equal(4, view.StorageOffset);
        Assert.Equal([4, 2], view.Strides);
        Assert.Same(b.Storage, view.Storage);

        b.Mul_(2);   // as after torch.load: a write through the base shows in the view
        Assert.Equal(new[] { all[4] * 2, all[6] * 2, all[8] * 2, all[10] * 2 }, view.ToArray<float>());
    }

    [Fact]
    public void Load_NonContiguousScalarEmptyAndExpanded_KeepPyTorchsLayout()
    {
        var t = PyTorchFiles.Load(Fixture("tensors.pt"));
        var m = Doubles(6, 6);   // the 2x3 matrix, saved transposed
        Same(t["transposed"], DType.Float64, [3, 2], new[] { m[0], m[3], m[1], m[4], m[2], m[5] });
        Assert.Equal([1, 3], t["transposed"].Strides);
        Same(t["scalar"], DType.Float32, [], Floats(7, 1));
        Same(t["empty"], DType.Float32, [0, 3], Array.Empty<float>());
        var row = Floats(8, 3);
        Same(t["expanded"], DType.Float32, [2, 3], row.Concat(row).ToArray());
        Assert.Equal([0, 1], t["expanded"].Strides);
        Same(t["strided"], DType.Int64, [3], new[] { (long)Value(9, 0), Value(9, 100), Value(9, 200) });
        Assert.Equal(300, t["strided"].Storage.Length);
    }

    [Fact]
    public void Load_Parameter_RequiresGrad()
    {
        var w = PyTorchFiles.Load(Fixture("parameter.pt"))["weight"];
        Same(w, DType.Float32, [2, 2], Floats(10, 4));
        Assert.True(w.RequiresGrad);
        Assert.True(w.IsLeaf);
    }

    [Fact]
    public void Load_NarrowDTypes_KeepTheirDTypes_AndSaveBackByteForByte()
    {
        var t = PyTorchFiles.Load(Fixture("narrow.pt"));
        Assert.Equal(DType.Float16, t["f16"].DType);
        Assert.Equal(DType.BFloat16, t["bf16"].DType);
        Assert.Equal(DType.UInt8, t["u8"].DType);
        Assert.Equal(DType.Int8, t["i8"].DType);
        Assert.Equal(DType.Int16, t["i16"].DType);
        // The same values as widened (exact), cast back to each dtype's own type.
        var widened = PyTorchFiles.Load(Fixture("narrow.pt"), widen: true);
        foreach (var key in new[] { "f16", "bf16", "u8", "i8", "i16" })
            Assert.True(t[key].To(widened[key].DType).Equal(widened[key]), key);

        var copy = new MemoryStream();
        PyTorchFiles.Save(copy, t);
        copy.Position = 0;
        var back = PyTorchFiles.Load(copy);
        foreach (var (key, value) in t)
        {
            Assert.Equal(value.DType, back[key].DType);
            Assert.True(value.Equal(back[key]), key);
        }
    }

    [Fact]
    public void Load_Widen_ConvertsNarrowDTypesExactly()
    {
        var t = PyTorchFiles.Load(Fixture("narrow.pt"), widen: true);
        Same(t["f32"], DType.Float32, [3], Floats(11, 3));
        Same(t["f16"], DType.Float32, [2, 3], Floats(12, 6));
        Same(t["bf16"], DType.Float32, [4], Floats(13, 4));
        Same(t["u8"], DType.Int32, [3], Ints(14, 3).Select(v => v + 11).ToArray());
        Same(t["i8"], DType.Int32, [3], Ints(15, 3));
        Same(t["i16"], DType.Int32, [3], Ints(16, 3));
    }

    [Theory]
    [InlineData("custom_class.pt", "__main__.Evil")]
    [InlineData("os_system.pt", "posix.system")]
    public void Load_ForbiddenGlobal_IsRefusedNamingIt(string fixture, string global)
    {
        var e = Refused(fixture);
        Assert.Contains($"refused the global {global} at byte ", e.Message);
        Assert.Contains("MetaGrad never does", e.Message);
    }

    [Fact]
    public void Load_Checkpoint_ReadsTheStateDictUnderTheKeyAsked()
    {
        // {"epoch": 3, "model": state_dict, "optimizer": Adam's state_dict (floats, tuples, lists, None, int keys)}
        var model = PyTorchFiles.Load(Fixture("checkpoint.pt"), entry: "model");
        Assert.Equal(["weight", "bias"], model.Keys);
        Same(model["weight"], DType.Float32, [2, 2], Floats(20, 4));
        Same(model["bias"], DType.Float32, [2], Floats(21, 2));

        var whole = Refused("checkpoint.pt");
        Assert.Contains("entry \"epoch\" is an integer, not a tensor; this looks like a checkpoint: pass entry: \"model\"", whole.Message);
        Assert.Contains("the dicts in it: model, optimizer", whole.Message);

        var wrong = Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(Fixture("checkpoint.pt"), entry: "state_dict"));
        Assert.Contains("entry \"state_dict\" is not in the file, not a state dict; the file's entries are \"epoch\" (an integer), \"model\" (a dict), \"optimizer\" (a dict)", wrong.Message);
        var optimizer = Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(Fixture("checkpoint.pt"), entry: "optimizer"));
        Assert.Contains("entry \"state\" of \"optimizer\" is a dict, not a tensor", optimizer.Message);
    }

    [Fact]
    public void Load_LegacyFormat_SaysHowToResave()
    {
        var e = Refused("legacy.pt");
        Assert.Contains("legacy format", e.Message);
        Assert.Contains("torch.save(state_dict, path)", e.Message);
    }

    // ---- damaged and foreign files ----

    [Fact]
    public void Load_TruncatedFile_SaysSoAtEveryLength()
    {
        var bytes = File.ReadAllBytes(Fixture("cnn.pt"));
        for (int n = 0; n < bytes.Length; n += 7)
        {
            var e = Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(new MemoryStream(bytes[..n]), "cut.pt"));
            Assert.StartsWith("cut.pt: invalid PyTorch file: ", e.Message);
        }
    }

    [Fact]
    public void Load_AnyFlippedByte_LoadsOrGivesInvalidData()
    {
        // Every byte of a small file, damaged in turn: a clear InvalidDataException or a load, never
        // an IndexOutOfRange, a NullReference or a hang.
        var bytes = File.ReadAllBytes(Fixture("parameter.pt"));
        int refused = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[i] ^= 0x5a;
            try
            {
                PyTorchFiles.Load(new MemoryStream(damaged), "flipped.pt");
            }
            catch (InvalidDataException e)
            {
                Assert.StartsWith("flipped.pt: invalid PyTorch file: ", e.Message);
                refused++;
            }
        }
        Assert.True(refused > bytes.Length / 4, $"only {refused} of {bytes.Length} damaged files were refused");
    }

    [Fact]
    public void Load_ForeignFiles_SayWhatTheyAre()
    {
        var text = Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(new MemoryStream("hello"u8.ToArray()), "notes.txt"));
        Assert.Contains("does not start as a zip archive", text.Message);

        using var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
            using (var w = new StreamWriter(archive.CreateEntry("photos/cat.txt").Open())) w.Write("meow");
        zip.Position = 0;
        var other = Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(zip, "photos.zip"));
        Assert.Contains("holds no ARCHIVE/data.pkl record", other.Message);
        Assert.Contains("photos/cat.txt", other.Message);

        using var script = new MemoryStream();
        using (var archive = new ZipArchive(script, ZipArchiveMode.Create, leaveOpen: true))
        {
            archive.CreateEntry("net/constants.pkl");
            archive.CreateEntry("net/code/__torch__.py");
        }
        script.Position = 0;
        var jit = Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(script, "net.pt"));
        Assert.Contains("TorchScript archive (torch.jit.save)", jit.Message);

        using var dir = new TempFolder();
        Assert.Throws<FileNotFoundException>(() => PyTorchFiles.Load(dir.File("missing.pt")));
        Assert.Throws<IOException>(() => PyTorchFiles.Load(dir.Path));
    }

    [Fact]
    public void Load_DictHoldingNonTensors_IsRefusedNamingTheEntry()
    {
        // A protocol 2 pickle of {"epoch": 3} in an otherwise valid archive.
        using var stream = new MemoryStream();
        WriteArchive(stream, "ckpt", [0x80, 2, (byte)'}', (byte)'X', 5, 0, 0, 0, .. "epoch"u8, (byte)'K', 3, (byte)'s', (byte)'.']);
        stream.Position = 0;
        var e = Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(stream, "ckpt.pt"));
        Assert.Contains("entry \"epoch\" is an integer, not a tensor", e.Message);
    }

    [Fact]
    public void Load_OpcodeOutsideTheAllowList_IsRefused()
    {
        // INST (protocol 0's "build an instance of module.name") is never in a state dict.
        using var stream = new MemoryStream();
        WriteArchive(stream, "x", [0x80, 2, (byte)'(', (byte)'i', .. "os\nsystem\n"u8, (byte)'.']);
        stream.Position = 0;
        var e = Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(stream, "x.pt"));
        Assert.Contains("opcode 0x69 ('i') at byte 3 is not one that a PyTorch state dict uses", e.Message);
    }

    [Theory]
    [InlineData("little", true)]
    [InlineData("big", false)]
    public void Load_ByteOrderRecord_LittleIsReadBigIsRefused(string order, bool reads)
    {
        // PyTorch 2.1 and later add ARCHIVE/byteorder; {"w": tensor of one float 1.5} otherwise.
        using var stream = new MemoryStream();
        PyTorchFiles.Save(stream, new Dictionary<string, Tensor> { ["w"] = Tensor.From(new[] { 1.5f }, [1]) });
        stream.Position = 0;
        using var withOrder = new MemoryStream();
        using (var source = new ZipArchive(stream, ZipArchiveMode.Read))
        using (var target = new ZipArchive(withOrder, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var w = new StreamWriter(target.CreateEntry("archive/byteorder", CompressionLevel.NoCompression).Open())) w.Write(order);
            foreach (var e in source.Entries)
                using (Stream from = e.Open(), to = target.CreateEntry(e.FullName, CompressionLevel.NoCompression).Open()) from.CopyTo(to);
        }
        withOrder.Position = 0;
        if (reads) Assert.Equal(new[] { 1.5f }, PyTorchFiles.Load(withOrder)["w"].ToArray<float>());
        else Assert.Contains("stored big-endian", Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(withOrder)).Message);
    }

    /// <summary>A torch.save image of one tensor over a storage of <paramref name="numel"/> float32s, with the given records.</summary>
    static MemoryStream Crafted(string location, long numel, long[] size, long[] stride, long offset, params (string Name, byte[] Bytes)[] records)
    {
        var spec = new TorchTensorSpec(new TorchStorageRef("FloatStorage", "0", location, numel), offset, size, stride, RequiresGrad: false);
        var stream = new MemoryStream();
        var zip = new TorchZipWriter(stream, "crafted");
        zip.WriteRecord("data.pkl", TorchPickleWriter.Write([("w", spec)]));
        foreach (var (name, bytes) in records) zip.WriteRecord(name, bytes);
        zip.Finish();
        stream.Position = 0;
        return stream;
    }

    static byte[] FloatBytes(params float[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    [Fact]
    public void Load_CudaLocation_LoadsOntoTheCpu()
    {
        using var stream = Crafted("cuda:0", 2, [2], [1], 0, ("data/0", FloatBytes(1.5f, -2f)));
        var w = PyTorchFiles.Load(stream)["w"];
        Assert.Equal(Device.Cpu, w.Device);
        Assert.Equal(new[] { 1.5f, -2f }, w.ToArray<float>());
    }

    [Fact]
    public void Load_InconsistentStorage_IsRefusedNamingTheTensor()
    {
        using var missing = Crafted("cpu", 2, [2], [1], 0);
        Assert.Contains("storage 0 (torch.float32) has no record crafted/data/0", Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(missing)).Message);

        using var shortRecord = Crafted("cpu", 2, [2], [1], 0, ("data/0", FloatBytes(1f)));
        Assert.Contains("record crafted/data/0 holds 4 bytes, but storage 0 is 2 elements of torch.float32, 8 bytes", Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(shortRecord)).Message);

        using var pastTheEnd = Crafted("cpu", 4, [2, 2], [2, 1], 1, ("data/0", FloatBytes(1f, 2f, 3f, 4f)));
        var e = Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(pastTheEnd));
        Assert.Contains("tensor \"w\" (size [2, 2], stride [2, 1], offset 1, storage of 4): its last element would be element 4 of the storage, past its end", e.Message);

        // An offset past 32 bits (written as LONG1) on an empty tensor: refused, not wrapped around.
        using var farOffset = Crafted("cpu", 1, [0], [1], 3_000_000_000, ("data/0", FloatBytes(1f)));
        Assert.Contains("offset 3000000000, storage of 1): sizes, strides and the offset must be non-negative 32-bit integers", Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(farOffset)).Message);
    }

    static void WriteArchive(Stream stream, string name, byte[] pickle)
    {
        var zip = new TorchZipWriter(stream, name);
        zip.WriteRecord("data.pkl", pickle);
        zip.WriteRecord("version", "3\n"u8);
        zip.Finish();
    }

    // ---- writing ----

    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("a", 0xE8B7BE43u)]
    [InlineData("123456789", 0xCBF43926u)]                                      // the standard check value
    [InlineData("The quick brown fox jumps over the lazy dog", 0x414FA339u)]   // past several 8-byte steps
    public void Crc32_MatchesZipsCheckValues(string text, uint expected) =>
        Assert.Equal(expected, Crc32.Compute(System.Text.Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void Save_OfWhatPyTorchWrote_IsByteForByteWhatPyTorchWrote()
    {
        // Loading keeps PyTorch's storages, offsets and strides, and saving writes them as
        // torch.save does: the same pickle, the same 64-byte-aligned zip, to the byte.
        var state = PyTorchFiles.Load(Fixture("tensors.pt"));
        using var dir = new TempFolder();
        var path = dir.File("tensors.pt");   // the archive's folder is named after the file, as in PyTorch
        PyTorchFiles.Save(path, state);
        Assert.Equal(File.ReadAllBytes(Fixture("tensors.pt")), File.ReadAllBytes(path));
    }

    /// <summary>What check_pt_roundtrip.py expects in metagrad_written.pt.</summary>
    static Dictionary<string, Tensor> RoundTripDict()
    {
        var b = Tensor.From(Floats(5, 12), [3, 4]);
        return new()
        {
            ["0.weight"] = Tensor.From(Floats(0, 6), [2, 3]),
            ["0.bias"] = Tensor.From(Floats(1, 2), [2]),
            ["1.weight"] = Tensor.From(Floats(2, 2), [2]),
            ["1.bias"] = Tensor.From(Floats(3, 2), [2]),
            ["1.running_mean"] = Tensor.From(Floats(4, 2), [2]),
            ["1.running_var"] = Tensor.From(new[] { 0.5f, 2f }, [2]),
            ["1.num_batches_tracked"] = Tensor.From(5L),
            ["f64"] = Tensor.From(Doubles(6, 3), [3]),
            ["i32"] = Tensor.From(Ints(7, 4), [2, 2]),
            ["bool"] = Tensor.From(Bools(8, 5), [5]),
            ["base"] = b,
            ["view"] = b[1.., TensorIndex.Slice(step: 2)],
            ["transposed"] = Tensor.From(Doubles(9, 6), [2, 3]).T,
            ["flipped"] = Tensor.From(Longs(10, 4), [4]).Flip(0),
            ["scalar"] = Tensor.From(Value(11, 0) / 8f),
            ["empty"] = Tensor.Zeros([0, 3], DType.Int64),
            ["trainable"] = Tensor.From(Floats(12, 2), [2], requiresGrad: true),
        };
    }

    [Fact]
    public void Save_WritesTheFilePyTorchWasCheckedToRead()
    {
        using var dir = new TempFolder();
        var path = dir.File("metagrad_written.pt");
        PyTorchFiles.Save(path, RoundTripDict());
        // To regenerate after a deliberate format change: set METAGRAD_PT_FIXTURE_OUT to
        // Fixtures/pytorch/metagrad_written.pt, run this test, then check_pt_roundtrip.py.
        if (Environment.GetEnvironmentVariable("METAGRAD_PT_FIXTURE_OUT") is { Length: > 0 } regenerate) File.Copy(path, regenerate, overwrite: true);
        Assert.Equal(File.ReadAllBytes(Fixture("metagrad_written.pt")), File.ReadAllBytes(path));
    }

    [Fact]
    public void Save_ThenLoad_KeepsValuesDTypesAndSharing()
    {
        var saved = RoundTripDict();
        using var dir = new TempFolder();
        PyTorchFiles.Save(dir.File("r.pt"), saved);
        var loaded = PyTorchFiles.Load(dir.File("r.pt"));
        Assert.Equal(saved.Keys, loaded.Keys);
        foreach (var (key, t) in saved)
        {
            var back = loaded[key];
            switch (t.DType)
            {
                case DType.Float32: Same(back, t.DType, t.Shape.ToArray(), t.ToArray<float>()); break;
                case DType.Float64: Same(back, t.DType, t.Shape.ToArray(), t.ToArray<double>()); break;
                case DType.Int64: Same(back, t.DType, t.Shape.ToArray(), t.ToArray<long>()); break;
                case DType.Int32: Same(back, t.DType, t.Shape.ToArray(), t.ToArray<int>()); break;
                default: Same(back, t.DType, t.Shape.ToArray(), t.ToArray<bool>()); break;
            }
            Assert.Equal(t.RequiresGrad, back.RequiresGrad);
        }
        Assert.Same(loaded["base"].Storage, loaded["view"].Storage);
        Assert.Equal([4, 2], loaded["view"].Strides);
        Assert.Equal([1, 3], loaded["transposed"].Strides);
        Assert.Equal([1], loaded["flipped"].Strides);   // PyTorch has no negative strides: saved as a copy
    }

    /// <summary>1001 entries, every other one a view of one shared storage.</summary>
    internal static Dictionary<string, Tensor> ManyEntries()
    {
        var shared = Tensor.From(Floats(30, 4), [4]);
        var many = new Dictionary<string, Tensor>();
        for (int i = 0; i < 1001; i++)
            many[$"layer{i}.weight"] = i % 2 == 0 ? Tensor.From(new[] { (float)i }, [1]) : shared[(i % 4)..];
        return many;
    }

    [Fact]
    public void Save_ThousandAndOneEntries_RoundTrip()
    {
        // Past memo slot 255 (LONG_BINPUT / LONG_BINGET) and past one SETITEMS batch of 1000.
        var many = ManyEntries();
        using var stream = new MemoryStream();
        PyTorchFiles.Save(stream, many);
        stream.Position = 0;
        var loaded = PyTorchFiles.Load(stream);
        Assert.Equal(many.Keys, loaded.Keys);
        var shared = Floats(30, 4);
        for (int i = 0; i < 1001; i++)
            Assert.Equal(i % 2 == 0 ? [i] : shared[(i % 4)..], loaded[$"layer{i}.weight"].ToArray<float>());
        Assert.Same(loaded["layer1.weight"].Storage, loaded["layer999.weight"].Storage);
    }

    [Fact]
    public void Save_ModelStateDict_LoadsIntoAFreshModel()
    {
        var source = new Sequential(new Linear(4, 3), new BatchNorm1d(3));
        source.Forward(Tensor.From(Floats(20, 8), [2, 4]));   // moves the running statistics and the batch count
        using var dir = new TempFolder();
        PyTorchFiles.Save(dir.File("m.pt"), source.StateDict());

        var target = new Sequential(new Linear(4, 3), new BatchNorm1d(3));
        target.LoadStateDict(PyTorchFiles.Load(dir.File("m.pt")));
        foreach (var (key, t) in source.StateDict())
        {
            var other = target.StateDict()[key];
            if (t.DType == DType.Int64) Assert.Equal(t.ToArray<long>(), other.ToArray<long>());
            else Assert.Equal(t.ToArray<float>(), other.ToArray<float>());
        }
        Assert.Equal(1L, target.StateDict()["1.num_batches_tracked"].ToArray<long>()[0]);
    }

    [Fact]
    public void Save_NullTensor_IsRefusedBeforeTheFileIsTouched()
    {
        using var dir = new TempFolder();
        var path = dir.File("keep.pt");
        File.WriteAllText(path, "previous");
        var e = Assert.Throws<ArgumentException>(() => PyTorchFiles.Save(path, new Dictionary<string, Tensor> { ["a"] = Tensor.Zeros(2), ["b"] = null! }));
        Assert.Contains("tensor \"b\" is null", e.Message);
        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Save_ToStream_NamesTheArchiveAsTorchSaveToABufferDoes()
    {
        using var stream = new MemoryStream();
        PyTorchFiles.Save(stream, new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(3) });
        stream.Position = 0;
        using (var archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true))
        {
            Assert.Equal(["archive/data.pkl", "archive/data/0", "archive/version"], archive.Entries.Select(e => e.FullName));
            Assert.All(archive.Entries, e => Assert.Equal(e.Length, e.CompressedLength));   // stored, not deflated
        }
        stream.Position = 0;
        Assert.Equal(new[] { 1f, 1f, 1f }, PyTorchFiles.Load(stream)["w"].ToArray<float>());
    }
}
