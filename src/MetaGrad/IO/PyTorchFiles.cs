using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using MetaGrad.Backends.Cpu;

namespace MetaGrad.IO;

/// <summary>
/// PyTorch's own checkpoint files: the <c>.pt</c> / <c>.pth</c> files that
/// <c>torch.save(model.state_dict(), path)</c> writes (the zip format of PyTorch 1.6 and later), read
/// and written without Python. <c>model.LoadStateDict(PyTorchFiles.Load(path))</c> works as
/// <c>model.load_state_dict(torch.load(path, weights_only=True))</c> does, and PyTorch reads what
/// <see cref="Save(string, IReadOnlyDictionary{string, Tensor})"/> writes with <c>torch.load(path, weights_only=True)</c>.
/// </summary>
/// <remarks>
/// <para>Loading never runs anything from the file. The pickle inside is read by a machine that knows
/// only a state dict's vocabulary (<c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c>,
/// <c>torch._utils._rebuild_parameter</c>, the storage classes); any other global, such as a custom
/// class or <c>os.system</c>, is refused with an <see cref="InvalidDataException"/> naming it, before
/// any tensor is made.</para>
/// <para>Tensors that shared a storage in PyTorch (a view saved beside its base) share one in MetaGrad
/// too, with PyTorch's offsets and strides, so writing into one shows in the other, as after
/// <c>torch.load</c>. Every location (<c>cpu</c>, <c>cuda:0</c>) loads onto the CPU.</para>
/// <para>Every dtype MetaGrad holds loads as itself (float16, bfloat16, uint8, int8, int16 and uint16
/// included); with <c>widen</c>, float16 and bfloat16 become float32 and uint8, int8, int16 and uint16 become
/// int32, all exactly. Complex, quantized, float8 and uint32/uint64 tensors are always refused.</para>
/// <para>uint16 tensors are written as PyTorch 2.3 and later writes them: there is no legacy storage class
/// for them, so the pickle names <c>torch._utils._rebuild_tensor_v3</c>, a <c>torch.storage.UntypedStorage</c>
/// counted in bytes, and the dtype <c>torch.uint16</c>. PyTorch before 2.3 cannot read such a file.</para>
/// </remarks>
/// <example>
/// <code>
/// var model = new Sequential(new Linear(784, 10));
/// model.LoadStateDict(PyTorchFiles.Load("mlp.pt"));   // written by torch.save(model.state_dict(), "mlp.pt")
/// PyTorchFiles.Save("mlp-tuned.pt", model.StateDict()); // torch.load("mlp-tuned.pt", weights_only=True)
/// </code>
/// </example>
public static class PyTorchFiles
{
    /// <summary>The file-format version <c>torch.save</c> writes (PyTorch 1.6 to 2.x).</summary>
    const string FormatVersion = "3\n";

    sealed record TorchDType(string Name, DType? Native, DType? Widened, int ElementSize);

    // Each storage class PyTorch writes, its dtype, and what MetaGrad makes of it.
    static readonly Dictionary<string, TorchDType> s_storageTypes = new()
    {
        ["FloatStorage"] = new("torch.float32", DType.Float32, DType.Float32, 4),
        ["DoubleStorage"] = new("torch.float64", DType.Float64, DType.Float64, 8),
        ["LongStorage"] = new("torch.int64", DType.Int64, DType.Int64, 8),
        ["IntStorage"] = new("torch.int32", DType.Int32, DType.Int32, 4),
        ["BoolStorage"] = new("torch.bool", DType.Bool, DType.Bool, 1),
        ["HalfStorage"] = new("torch.float16", DType.Float16, DType.Float32, 2),
        ["BFloat16Storage"] = new("torch.bfloat16", DType.BFloat16, DType.Float32, 2),
        ["ByteStorage"] = new("torch.uint8", DType.UInt8, DType.Int32, 1),
        ["CharStorage"] = new("torch.int8", DType.Int8, DType.Int32, 1),
        ["ShortStorage"] = new("torch.int16", DType.Int16, DType.Int32, 2),
        ["ComplexFloatStorage"] = new("torch.complex64", null, null, 8),
        ["ComplexDoubleStorage"] = new("torch.complex128", null, null, 16),
    };

    /// <summary>The storage classes a pickle may name (torch.FloatStorage ...), supported or not: an unsupported one is refused by key.</summary>
    internal static IReadOnlyCollection<string> StorageTypeNames => s_storageTypes.Keys;

    // The dtypes PyTorch 2.x pairs with an UntypedStorage (_rebuild_tensor_v3) that MetaGrad holds; the
    // others it writes that way (uint32, uint64, the float8s...) are refused by name.
    static readonly Dictionary<string, TorchDType> s_untypedDTypes = new()
    {
        ["torch.uint16"] = new("torch.uint16", DType.UInt16, DType.Int32, 2),
    };

    static TorchDType TypeOf(TorchStorageRef storage) => s_storageTypes.TryGetValue(storage.TypeName, out var legacy) ? legacy : s_untypedDTypes[storage.TypeName];

    // A _rebuild_tensor_v3 tensor's UntypedStorage counts bytes and names no dtype: seen through its
    // tensor's dtype it becomes a storage of whole elements, named by that dtype, like the legacy ones.
    static List<(string Key, TorchTensorSpec Spec)> InElements(List<(string Key, TorchTensorSpec Spec)> entries, string name) =>
        entries.Select(e =>
        {
            var (key, spec) = e;
            if (spec.ElementType is not { } dtype) return e;
            if (!s_untypedDTypes.TryGetValue(dtype, out var torch))
                throw Invalid(name, $"tensor \"{key}\" is {dtype}, which MetaGrad does not hold");
            if (spec.Storage.Numel % torch.ElementSize != 0)
                throw Invalid(name, $"tensor \"{key}\" is {dtype} over storage {spec.Storage.Key} of {spec.Storage.Numel} bytes, not a whole number of {torch.ElementSize}-byte elements");
            var storage = spec.Storage with { TypeName = dtype, Numel = spec.Storage.Numel / torch.ElementSize };
            return (key, spec with { Storage = storage });
        }).ToList();

    // ---- loading ----

    /// <summary>Reads the state dict in a <c>torch.save</c> file: its tensors by name, in the file's order.</summary>
    /// <param name="path">The <c>.pt</c> / <c>.pth</c> file.</param>
    /// <param name="entry">
    /// For a checkpoint that is a dict of several things (<c>{"epoch": 3, "model": model.state_dict(), "optimizer": ...}</c>):
    /// the key of the state dict to read, as <c>torch.load(path)["model"]</c>. The other entries are parsed
    /// (under the same allow-list) and dropped.
    /// </param>
    /// <param name="widen">Convert float16 and bfloat16 to float32, and uint8, int8, int16 and uint16 to int32, rather than keep their dtypes.</param>
    /// <exception cref="InvalidDataException">The file is not a <c>torch.save</c> zip of a dict of tensors, is damaged, names a global outside the allow-list, or holds a dtype MetaGrad lacks.</exception>
    public static OrderedDictionary<string, Tensor> Load(string path, string? entry = null, bool widen = false)
    {
        using var file = InputFile.Open(path, "PyTorchFiles.Load");
        return Load(file, path, entry, widen);
    }

    /// <summary>Reads a <c>torch.save</c> image from a seekable stream; <paramref name="name"/> goes in error messages.</summary>
    /// <inheritdoc cref="Load(string, string?, bool)"/>
    public static OrderedDictionary<string, Tensor> Load(Stream stream, string name = "stream", string? entry = null, bool widen = false)
    {
        CheckEndianness();
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek) throw new ArgumentException($"PyTorchFiles.Load: {name} is not seekable; a zip archive is read from its end (copy it into a MemoryStream first)", nameof(stream));
        CheckSignature(stream, name);
        using var archive = Open(stream, name);
        long fileLength = stream.Length;
        var (prefix, pickle) = FindPickle(archive, name);
        CheckByteOrder(archive, prefix, fileLength, name);

        var root = TorchPickleReader.Run(ReadEntry(pickle, fileLength, name), $"{name}: data.pkl");
        var entries = InElements(StateDictEntries(root, name, entry), name);
        CheckEntries(entries, name, widen);
        var storages = new Dictionary<string, Storage>();
        foreach (var (_, spec) in entries)
            if (!storages.ContainsKey(spec.Storage.Key))
                storages[spec.Storage.Key] = ReadStorage(archive, prefix, spec.Storage, fileLength, name, widen);

        // Every entry and storage has been checked: only now are tensors made.
        var result = new OrderedDictionary<string, Tensor>(entries.Count);
        foreach (var (key, spec) in entries)
        {
            var layout = new Layout(spec.Size.Select(s => (int)s).ToArray(), spec.Stride.Select(s => (int)s).ToArray(), (int)spec.Offset);
            var tensor = new Tensor(storages[spec.Storage.Key], layout);
            if (spec.RequiresGrad && tensor.DType.IsFloatingPoint()) tensor.RequiresGrad_();
            result.Add(key, tensor);
        }
        return result;
    }

    static void CheckSignature(Stream stream, string name)
    {
        long start = stream.Position;
        Span<byte> head = stackalloc byte[4];
        int n = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        stream.Position = start;
        if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
            throw Invalid(name, "this is the legacy format that torch.save wrote before PyTorch 1.6 (or with _use_new_zipfile_serialization=False), " +
                                "which MetaGrad does not read: load it in Python and save it again with a plain torch.save(state_dict, path)");
        if (n < 4 || head[0] != (byte)'P' || head[1] != (byte)'K')
            throw Invalid(name, $"the file does not start as a zip archive (found {Convert.ToHexString(head[..n])}), so it is not a torch.save file or it is damaged");
    }

    static ZipArchive Open(Stream stream, string name)
    {
        ZipArchive? archive = null;
        try
        {
            archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            _ = archive.Entries.Count;   // the central directory is read here, and may be damaged
            return archive;
        }
        catch (InvalidDataException e)
        {
            archive?.Dispose();
            throw Invalid(name, $"the zip archive is truncated or damaged ({e.Message})");
        }
    }

    // torch.save puts every record under one folder named after the file ("model/data.pkl").
    static (string Prefix, ZipArchiveEntry Pickle) FindPickle(ZipArchive archive, string name)
    {
        var pickles = archive.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.IndexOf('/') == e.FullName.Length - 9).ToList();
        if (pickles.Count == 1) return (pickles[0].FullName[..^9], pickles[0]);
        if (pickles.Count > 1)
            throw Invalid(name, $"the archive holds {pickles.Count} data.pkl records ({string.Join(", ", pickles.Select(p => p.FullName))}); torch.save writes one");
        if (archive.Entries.Any(e => e.FullName.EndsWith("/constants.pkl", StringComparison.Ordinal) || e.FullName.Contains("/code/", StringComparison.Ordinal)))
            throw Invalid(name, "this is a TorchScript archive (torch.jit.save), not a state dict: in Python, save model.state_dict() with torch.save and load that");
        throw Invalid(name, $"the zip archive holds no ARCHIVE/data.pkl record, so it is not a torch.save file (it holds {archive.Entries.Count} entries{(archive.Entries.Count > 0 ? ", the first " + archive.Entries[0].FullName : "")})");
    }

    // Written by PyTorch 2.1 and later; older files are little-endian (every machine PyTorch ran on).
    static void CheckByteOrder(ZipArchive archive, string prefix, long fileLength, string name)
    {
        var entry = archive.GetEntry($"{prefix}/byteorder");
        if (entry is null) return;
        var order = Encoding.ASCII.GetString(ReadEntry(entry, fileLength, name)).Trim();
        if (order != "little")
            throw Invalid(name, $"the tensors are stored {order}-endian; MetaGrad reads little-endian files only (load and re-save it with torch on a little-endian machine)");
    }

    static List<(string Key, TorchTensorSpec Spec)> StateDictEntries(object? root, string name, string? entry)
    {
        if (root is not PickledDict dict)
            throw Invalid(name, $"the file holds {(root is TorchTensorSpec ? "a single tensor" : "something other than a dict")}; PyTorchFiles.Load reads state dicts (torch.save(model.state_dict(), path) or a dict of tensors)");
        if (entry is not null)
        {
            var value = dict.Entries.FirstOrDefault(e => e.Key is string k && k == entry).Value;
            if (value is not PickledDict inner)
                throw Invalid(name, $"entry \"{entry}\" is {(dict.Entries.Any(e => e.Key is string k && k == entry) ? TorchPickleReader.KindOf(value) : "not in the file")}, not a state dict; the file's entries are " +
                                    string.Join(", ", dict.Entries.Select(e => $"\"{e.Key}\" ({TorchPickleReader.KindOf(e.Value)})")));
            dict = inner;
        }
        var nested = dict.Entries.Where(e => e.Key is string && e.Value is PickledDict).Select(e => (string)e.Key!).ToList();
        string hint = entry is null && nested.Count > 0
            ? $"; this looks like a checkpoint: pass entry: \"{nested[0]}\" to read the state dict under that key (the dicts in it: {string.Join(", ", nested)})"
            : "; PyTorchFiles.Load reads dicts of tensors (a state dict)";
        var entries = new List<(string, TorchTensorSpec)>(dict.Entries.Count);
        var seen = new HashSet<string>();
        foreach (var (k, v) in dict.Entries)
        {
            if (k is not string key) throw Invalid(name, $"the state dict has a key that is not a string ({k?.GetType().Name ?? "None"})");
            if (v is not TorchTensorSpec spec)
                throw Invalid(name, $"entry \"{key}\"{(entry is null ? "" : $" of \"{entry}\"")} is {TorchPickleReader.KindOf(v)}, not a tensor{hint}");
            if (!seen.Add(key)) throw Invalid(name, $"the state dict names \"{key}\" twice");
            entries.Add((key, spec));
        }
        return entries;
    }

    // Every entry's dtype is one MetaGrad holds (or widens), and its layout fits its storage.
    static void CheckEntries(List<(string Key, TorchTensorSpec Spec)> entries, string name, bool widen)
    {
        var first = new Dictionary<string, TorchStorageRef>();
        foreach (var (key, spec) in entries)
        {
            var storage = spec.Storage;
            var torch = TypeOf(storage);
            _ = torch.Native ?? (widen ? torch.Widened : null) ?? throw Invalid(name, $"tensor \"{key}\" is {torch.Name}, which MetaGrad does not hold" +
                (torch.Widened is { } w ? $"; PyTorchFiles.Load(path, widen: true) converts it to {w.TorchName()} exactly, or convert it in Python before saving" : ""));
            if (first.TryGetValue(storage.Key, out var earlier) && (earlier.TypeName != storage.TypeName || earlier.Numel != storage.Numel))
                throw Invalid(name, $"tensor \"{key}\" sees storage {storage.Key} as {storage.Numel} elements of {storage.TypeName}, but an earlier tensor saw {earlier.Numel} of {earlier.TypeName}");
            first.TryAdd(storage.Key, storage);
            CheckLayout(key, spec, name);
        }
    }

    static void CheckLayout(string key, TorchTensorSpec spec, string name)
    {
        string Where() => $"tensor \"{key}\" (size [{string.Join(", ", spec.Size)}], stride [{string.Join(", ", spec.Stride)}], offset {spec.Offset}, storage of {spec.Storage.Numel})";
        if (spec.Storage.Numel > Array.MaxLength) throw Invalid(name, $"{Where()}: the storage holds more elements than a .NET array can");
        if (spec.Size.Length != spec.Stride.Length) throw Invalid(name, $"{Where()}: size and stride differ in length");
        if (spec.Offset is < 0 or > int.MaxValue || spec.Size.Any(s => s is < 0 or > int.MaxValue) || spec.Stride.Any(s => s is < 0 or > int.MaxValue))
            throw Invalid(name, $"{Where()}: sizes, strides and the offset must be non-negative 32-bit integers");
        long numel = 1, last = spec.Offset;
        for (int d = 0; d < spec.Size.Length; d++)
        {
            numel *= spec.Size[d];
            if (numel > int.MaxValue && spec.Size.All(s => s > 0)) throw Invalid(name, $"{Where()}: more elements than a tensor can hold ({int.MaxValue})");
        }
        if (numel == 0) return;
        for (int d = 0; d < spec.Size.Length; d++) last += (spec.Size[d] - 1) * spec.Stride[d];
        if (last >= spec.Storage.Numel)
            throw Invalid(name, $"{Where()}: its last element would be element {last} of the storage, past its end");
    }

    static Storage ReadStorage(ZipArchive archive, string prefix, TorchStorageRef storage, long fileLength, string name, bool widen)
    {
        var torch = TypeOf(storage);
        var entry = archive.GetEntry($"{prefix}/data/{storage.Key}")
            ?? throw Invalid(name, $"storage {storage.Key} ({torch.Name}) has no record {prefix}/data/{storage.Key} in the archive");
        long expected = storage.Numel * torch.ElementSize;
        if (entry.Length != expected)
            throw Invalid(name, $"record {entry.FullName} holds {entry.Length} bytes, but storage {storage.Key} is {storage.Numel} elements of {torch.Name}, {expected} bytes");
        CheckClaimedSize(entry, fileLength, name);
        int n = (int)storage.Numel;
        Storage native = torch.Name switch
        {
            "torch.float32" => new CpuStorage<float>(ReadInto(new float[n], entry, name)),
            "torch.float64" => new CpuStorage<double>(ReadInto(new double[n], entry, name)),
            "torch.int64" => new CpuStorage<long>(ReadInto(new long[n], entry, name)),
            "torch.int32" => new CpuStorage<int>(ReadInto(new int[n], entry, name)),
            // Any non-zero byte is true, as in PyTorch; a .NET bool must hold exactly 0 or 1.
            "torch.bool" => new CpuStorage<bool>(ReadInto(new byte[n], entry, name).Select(b => b != 0).ToArray()),
            "torch.float16" => new CpuStorage<Half>(ReadInto(new Half[n], entry, name)),
            "torch.bfloat16" => new CpuStorage<BFloat16>(ReadInto(new BFloat16[n], entry, name)),
            "torch.uint8" => new CpuStorage<byte>(ReadInto(new byte[n], entry, name)),
            "torch.int8" => new CpuStorage<sbyte>(ReadInto(new sbyte[n], entry, name)),
            "torch.int16" => new CpuStorage<short>(ReadInto(new short[n], entry, name)),
            "torch.uint16" => new CpuStorage<ushort>(ReadInto(new ushort[n], entry, name)),
            _ => throw Invalid(name, $"storage {storage.Key} is {torch.Name}, which MetaGrad does not hold"),
        };
        if (!widen || torch.Widened is not { } wide || wide == native.DType) return native;
        // Widening is exact (half and bfloat16 into float32, small integers into int32): the
        // backend's casts do it over the whole storage, so views of it still share one.
        return new Tensor(native, Layout.Contiguous([n])).To(wide).Storage;
    }

    static T[] ReadInto<T>(T[] values, ZipArchiveEntry entry, string name) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        try
        {
            using var s = entry.Open();
            s.ReadExactly(bytes);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw Invalid(name, $"record {entry.FullName} cannot be read: the archive is truncated or damaged ({e.Message})");
        }
        if (Crc32.Compute(bytes) != entry.Crc32)
            throw Invalid(name, $"record {entry.FullName} fails its CRC check: the file is damaged");
        return values;
    }

    static byte[] ReadEntry(ZipArchiveEntry entry, long fileLength, string name)
    {
        CheckClaimedSize(entry, fileLength, name);
        return ReadInto(new byte[entry.Length], entry, name);
    }

    // torch.save stores every record uncompressed, so a record's size is bounded by the file's: a
    // damaged directory claiming gigabytes is refused before memory is allocated for them.
    static void CheckClaimedSize(ZipArchiveEntry entry, long fileLength, string name)
    {
        if (entry.CompressedLength != entry.Length)
            throw Invalid(name, $"record {entry.FullName} is compressed ({entry.CompressedLength} bytes for {entry.Length}); torch.save stores records uncompressed, so the archive was rewritten or is damaged");
        if (entry.Length > fileLength)
            throw Invalid(name, $"record {entry.FullName} claims {entry.Length} bytes in a file of {fileLength}: the archive is damaged");
    }

    // ---- saving ----

    /// <summary>
    /// Writes a dict of tensors (a state dict) as <c>torch.save(dict, path)</c> would, atomically: a
    /// failed or interrupted save leaves any previous file intact. Tensors sharing a storage share it
    /// in the file, which holds each storage whole, as PyTorch's does (<c>Clone()</c> a small slice of
    /// a large tensor to save only the slice).
    /// </summary>
    /// <exception cref="ArgumentException">A key or tensor is null.</exception>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(path);
        var plan = Plan(stateDict);   // checked before any file is touched
        var archive = Path.GetFileNameWithoutExtension(Path.GetFullPath(path));
        AtomicFile.Write(path, stream => Write(stream, plan, archive.Length > 0 ? archive : "archive"));
    }

    /// <summary>Writes a dict of tensors to a stream, as <c>torch.save(dict, buffer)</c> does (its records under <c>archive/</c>).</summary>
    public static void Save(Stream stream, IReadOnlyDictionary<string, Tensor> stateDict, string archiveName = "archive")
    {
        ArgumentNullException.ThrowIfNull(stream);
        Write(stream, Plan(stateDict), archiveName);
    }

    sealed record SavePlan(List<(string Key, TorchTensorSpec Spec)> Entries, Dictionary<string, Storage> Storages);

    static SavePlan Plan(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        CheckEndianness();
        ArgumentNullException.ThrowIfNull(stateDict);
        var keys = new Dictionary<Storage, string>(ReferenceEqualityComparer.Instance);
        var storages = new Dictionary<string, Storage>();
        var entries = new List<(string, TorchTensorSpec)>(stateDict.Count);
        foreach (var (key, value) in stateDict)
        {
            if (key is null) throw new ArgumentException("PyTorchFiles.Save: a key is null");
            var tensor = value ?? throw new ArgumentException($"PyTorchFiles.Save: tensor \"{key}\" is null");
            // PyTorch has no negative strides (MetaGrad's Flip makes them): such a tensor is saved as a copy.
            if (tensor.Strides.Any(s => s < 0))
                using (Autograd.NoGrad()) tensor = tensor.Clone();
            if (!keys.TryGetValue(tensor.Storage, out var storageKey))
            {
                storageKey = keys.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
                keys.Add(tensor.Storage, storageKey);
                storages.Add(storageKey, tensor.Storage);
            }
            // uint16 has no legacy storage class: PyTorch 2.x writes it over an UntypedStorage counted in bytes, naming the dtype.
            var (typeName, numel, elementType) = tensor.DType == DType.UInt16
                ? (TorchPickleReader.UntypedStorage, (long)tensor.Storage.Length * 2, "torch.uint16")
                : (StorageTypeName(tensor.DType), tensor.Storage.Length, null);
            var storage = new TorchStorageRef(typeName, storageKey, "cpu", numel);
            entries.Add((key, new TorchTensorSpec(storage, tensor.StorageOffset, tensor.Shape.Select(s => (long)s).ToArray(), tensor.Strides.Select(s => (long)s).ToArray(), tensor.RequiresGrad, elementType)));
        }
        return new SavePlan(entries, storages);
    }

    static void Write(Stream stream, SavePlan plan, string archiveName)
    {
        var zip = new TorchZipWriter(stream, archiveName);
        zip.WriteRecord("data.pkl", TorchPickleWriter.Write(plan.Entries));
        // Python sorts the storage keys as strings: "10" comes before "2".
        foreach (var key in plan.Storages.Keys.Order(StringComparer.Ordinal))
            zip.WriteRecord($"data/{key}", StorageBytes(plan.Storages[key]));
        zip.WriteRecord("version", Encoding.ASCII.GetBytes(FormatVersion));
        zip.Finish();
        stream.Flush();
    }

    static string StorageTypeName(DType dtype) => dtype switch
    {
        DType.Float32 => "FloatStorage",
        DType.Float64 => "DoubleStorage",
        DType.Int64 => "LongStorage",
        DType.Int32 => "IntStorage",
        DType.Bool => "BoolStorage",
        DType.Float16 => "HalfStorage",
        DType.BFloat16 => "BFloat16Storage",
        DType.UInt8 => "ByteStorage",
        DType.Int8 => "CharStorage",
        DType.Int16 => "ShortStorage",
        _ => throw new NotSupportedException($"PyTorchFiles.Save: no PyTorch storage for dtype {dtype}"),
    };

    static ReadOnlySpan<byte> StorageBytes(Storage storage) => storage switch
    {
        CpuStorage<float> s => MemoryMarshal.AsBytes(s.Data.AsSpan()),
        CpuStorage<double> s => MemoryMarshal.AsBytes(s.Data.AsSpan()),
        CpuStorage<long> s => MemoryMarshal.AsBytes(s.Data.AsSpan()),
        CpuStorage<int> s => MemoryMarshal.AsBytes(s.Data.AsSpan()),
        CpuStorage<bool> s => MemoryMarshal.AsBytes(s.Data.AsSpan()),
        CpuStorage<Half> s => MemoryMarshal.AsBytes(s.Data.AsSpan()),
        CpuStorage<BFloat16> s => MemoryMarshal.AsBytes(s.Data.AsSpan()),
        CpuStorage<byte> s => s.Data.AsSpan(),
        CpuStorage<sbyte> s => MemoryMarshal.AsBytes(s.Data.AsSpan()),
        CpuStorage<short> s => MemoryMarshal.AsBytes(s.Data.AsSpan()),
        CpuStorage<ushort> s => MemoryMarshal.AsBytes(s.Data.AsSpan()),
        _ => throw new NotSupportedException($"PyTorchFiles.Save: storage on {storage.Device} cannot be written yet"),
    };

    static void CheckEndianness()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("PyTorchFiles: reading and writing assume a little-endian machine");
    }

    static InvalidDataException Invalid(string file, string problem) => new($"{file}: invalid PyTorch file: {problem}");
}
