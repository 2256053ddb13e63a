using MetaGrad.IO;

namespace MetaGrad.Tests.IO;

/// <summary>
/// uint16 in torch.save files. PyTorch 2.3 and later has no storage class for uint16: it pickles such a
/// tensor as <c>_rebuild_tensor_v3(UntypedStorage counted in bytes, ..., torch.uint16)</c>.
/// Fixtures/pytorch/uint16.pt was written by PyTorch 1.13's torch.save on stand-ins reduced as PyTorch
/// 2.x reduces a uint16 tensor (make_uint16_pt.py, which cites the source it follows).
/// </summary>
public class PyTorchFilesUInt16Tests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch", name);

    [Fact]
    public void Load_UInt16Tensors_KeepValuesLayoutsAndSharing()
    {
        var t = PyTorchFiles.Load(Fixture("uint16.pt"));
        Assert.Equal(["weight", "u16", "u16.T", "u16.tail"], t.Keys.ToArray());
        Assert.Equal(new[] { 0.5f, -1.25f }, t["weight"].ToArray<float>());
        var u = t["u16"];
        Assert.Equal(DType.UInt16, u.DType);
        Assert.Equal([2, 3], u.Shape.ToArray());
        Assert.Equal(new ushort[] { 0, 1, 32767, 32768, 65534, 65535 }, u.ToArray<ushort>());
        var transposed = t["u16.T"];
        Assert.Equal([1, 3], transposed.Strides.ToArray());
        Assert.Equal(new ushort[] { 0, 32768, 1, 65534, 32767, 65535 }, transposed.ToArray<ushort>());
        u[0, 1] = Tensor.Scalar(9, DType.UInt16);                // one storage, as after torch.load
        Assert.Equal((ushort)9, transposed[1, 0].Item<ushort>());
        var tail = t["u16.tail"];
        Assert.Equal(1, tail.StorageOffset);
        Assert.Equal(new ushort[] { 40000, 65535 }, tail.ToArray<ushort>());
    }

    [Fact]
    public void Save_OfTheLoadedFile_IsByteForByteWhatPyTorchWrote()
    {
        var state = PyTorchFiles.Load(Fixture("uint16.pt"));
        using var dir = new TempFolder();
        var path = dir.File("uint16.pt");   // the archive's folder is named after the file
        PyTorchFiles.Save(path, state);
        Assert.Equal(File.ReadAllBytes(Fixture("uint16.pt")), File.ReadAllBytes(path));
    }

    [Fact]
    public void Save_ThenLoad_RoundTripsUInt16()
    {
        var x = Tensor.From(new ushort[] { 65535, 40000, 3, 32768, 1, 2 }, [2, 3]);
        var stream = new MemoryStream();
        PyTorchFiles.Save(stream, new Dictionary<string, Tensor> { ["x"] = x, ["x.T"] = x.T, ["f"] = Tensor.From(new[] { 1.5f }) });
        stream.Position = 0;
        var back = PyTorchFiles.Load(stream);
        Assert.Equal(DType.UInt16, back["x"].DType);
        Assert.Equal(x.ToArray<ushort>(), back["x"].ToArray<ushort>());
        Assert.Equal(x.T.ToArray<ushort>(), back["x.T"].ToArray<ushort>());
        Assert.Same(back["x"].Storage, back["x.T"].Storage);
    }

    [Fact]
    public void Load_Widen_GivesInt32Exactly()
    {
        var t = PyTorchFiles.Load(Fixture("uint16.pt"), widen: true);
        Assert.Equal(DType.Int32, t["u16"].DType);
        Assert.Equal(new[] { 0, 1, 32767, 32768, 65534, 65535 }, t["u16"].ToArray<int>());
        Assert.Equal(new[] { 40000, 65535 }, t["u16.tail"].ToArray<int>());
    }

    static MemoryStream Crafted(TorchTensorSpec spec, int storageBytes, Func<byte[], byte[]>? edit = null)
    {
        var pickle = TorchPickleWriter.Write([("w", spec)]);
        var stream = new MemoryStream();
        var zip = new TorchZipWriter(stream, "crafted");
        zip.WriteRecord("data.pkl", edit is null ? pickle : edit(pickle));
        zip.WriteRecord("data/0", new byte[storageBytes]);
        zip.WriteRecord("version", "3\n"u8);
        zip.Finish();
        stream.Position = 0;
        return stream;
    }

    static TorchTensorSpec Untyped(long bytes, string dtype, long[] size) =>
        new(new TorchStorageRef(TorchPickleReader.UntypedStorage, "0", "cpu", bytes), 0, size, [1], RequiresGrad: false, ElementType: dtype);

    [Fact]
    public void Load_OtherV3DTypes_AreRefusedByName()
    {
        using var file = Crafted(Untyped(8, "torch.uint32", [2]), 8);
        var e = Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(file));
        Assert.Contains("tensor \"w\" is torch.uint32, which MetaGrad does not hold", e.Message);
    }

    [Fact]
    public void Load_UntypedStorageOfAnOddByteCount_IsRefused()
    {
        using var file = Crafted(Untyped(5, "torch.uint16", [2]), 5);
        var e = Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(file));
        Assert.Contains("tensor \"w\" is torch.uint16 over storage 0 of 5 bytes, not a whole number of 2-byte elements", e.Message);
    }

    [Fact]
    public void Load_V2TensorOverAnUntypedStorage_IsRefused()
    {
        // The v3 pickle with the callable renamed to _rebuild_tensor_v2 (same length): the dtype lands in
        // v2's metadata slot, and the storage it rebuilds over names no dtype.
        static byte[] ToV2(byte[] pickle)
        {
            var text = System.Text.Encoding.Latin1.GetString(pickle);
            Assert.Contains("_rebuild_tensor_v3", text);
            return System.Text.Encoding.Latin1.GetBytes(text.Replace("_rebuild_tensor_v3", "_rebuild_tensor_v2"));
        }
        using var file = Crafted(Untyped(4, "torch.uint16", [2]), 4, ToV2);
        Assert.Contains("rebuilds a tensor over a torch.storage.UntypedStorage, which names no dtype", Assert.Throws<InvalidDataException>(() => PyTorchFiles.Load(file)).Message);
    }
}
