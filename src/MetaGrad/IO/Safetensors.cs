using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MetaGrad.IO;

/// <summary>
/// The tensors and the free-form string metadata of a safetensors file. It is itself the
/// dictionary of tensors by name, so <c>model.LoadStateDict(Safetensors.Load(path))</c> works as
/// <c>model.load_state_dict(safetensors.torch.load_file(path))</c> does.
/// </summary>
public sealed record SafetensorsContent(IReadOnlyDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata)
    : IReadOnlyDictionary<string, Tensor>
{
    /// <inheritdoc/>
    public Tensor this[string key] => Tensors[key];
    /// <inheritdoc/>
    public IEnumerable<string> Keys => Tensors.Keys;
    /// <inheritdoc/>
    public IEnumerable<Tensor> Values => Tensors.Values;
    /// <inheritdoc/>
    public int Count => Tensors.Count;
    /// <inheritdoc/>
    public bool ContainsKey(string key) => Tensors.ContainsKey(key);
    /// <inheritdoc/>
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Tensor value) => Tensors.TryGetValue(key, out value);
    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => Tensors.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// The safetensors format (Hugging Face's, read and written by PyTorch users through the
/// <c>safetensors</c> package): an 8-byte little-endian header length N, N bytes of JSON header
/// <c>{"__metadata__": {..}, name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..}</c>
/// padded with spaces to a multiple of 8, then the tensors' raw little-endian bytes, row-major, back
/// to back. Files are written exactly as the reference writer writes them, and read with every
/// check it makes, each failure an <see cref="InvalidDataException"/> naming the file and tensor.
/// </summary>
public static class Safetensors
{
    // The reference reader's limit; a larger "header" is almost surely not a safetensors file.
    const long MaxHeaderLength = 100_000_000;
    const string MetadataKey = "__metadata__";

    /// <summary>
    /// Writes the tensors (non-contiguous ones in row-major order) and optional metadata to
    /// <paramref name="path"/> atomically: a failed or interrupted save leaves any previous file intact.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (header, order) = Prepare(tensors, metadata);   // checked before any file is touched
        AtomicFile.Write(path, stream => Write(stream, header, order));
    }

    /// <summary>Writes the tensors and metadata to a stream, as <see cref="Save(string, IReadOnlyDictionary{string, Tensor}, IReadOnlyDictionary{string, string}?)"/> writes a file.</summary>
    public static void Save(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (header, order) = Prepare(tensors, metadata);
        Write(stream, header, order);
    }

    /// <summary>The bytes of the file that Save would write.</summary>
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var buffer = new MemoryStream();
        Save(buffer, tensors, metadata);
        return buffer.ToArray();
    }

    /// <summary>Reads every tensor (in file order) and the metadata (empty when the file has none).</summary>
    public static SafetensorsContent Load(string path)
    {
        using var file = InputFile.Open(path, "Safetensors.Load");
        return Load(file, path);
    }

    /// <summary>Reads a safetensors image from a seekable stream; <paramref name="name"/> goes in error messages.</summary>
    public static SafetensorsContent Load(Stream stream, string name = "stream")
    {
        CheckEndianness();
        long size = stream.Length - stream.Position, start = stream.Position;
        if (size < 8) throw Invalid(name, $"the file holds {size} bytes, fewer than the 8 that give the header length");
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderLength)
            throw Invalid(name, $"the header length is {n} bytes, more than the {MaxHeaderLength}-byte limit: this is not a safetensors file");
        if (8 + (long)n > size)
            throw Invalid(name, $"the header length is {n} bytes but only {size - 8} bytes follow it: the file is truncated or not a safetensors file");
        var header = new byte[n];
        stream.ReadExactly(header);
        long dataLength = size - 8 - (long)n;

        var (entries, metadata) = ParseHeader(header, name, dataLength);
        var tensors = new Dictionary<string, Tensor>(entries.Count);
        foreach (var e in entries)
        {
            stream.Position = start + 8 + (long)n + e.Begin;
            tensors.Add(e.Name, ReadTensor(stream, e.DType, e.Shape));
        }
        return new SafetensorsContent(tensors, metadata);
    }

    // ---- writing ----

    sealed record Entry(string Name, DType DType, int[] Shape, long Begin, long End);

    static (byte[] Header, List<(Entry Entry, Tensor Tensor)> Order) Prepare(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        CheckEndianness();
        foreach (var (name, tensor) in tensors)
        {
            if (name == MetadataKey) throw new ArgumentException($"Safetensors.Save: \"{MetadataKey}\" is reserved for the metadata and cannot name a tensor");
            if (tensor is null) throw new ArgumentException($"Safetensors.Save: tensor \"{name}\" is null");
        }
        // As the reference writer: larger elements first (so every tensor stays aligned), then by name
        // compared as UTF-8 bytes.
        var sorted = tensors
            .Select(p => (Name: p.Key, Utf8: Encoding.UTF8.GetBytes(p.Key), Tensor: p.Value))
            .OrderByDescending(p => WriteOrder(p.Tensor.DType))
            .ThenBy(p => p.Utf8, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)))
            .ToList();
        var order = new List<(Entry, Tensor)>(sorted.Count);
        long offset = 0;
        foreach (var (name, _, tensor) in sorted)
        {
            long bytes = (long)tensor.Numel * tensor.DType.ElementSize();
            order.Add((new Entry(name, tensor.DType, tensor.Shape.ToArray(), offset, offset + bytes), tensor));
            offset += bytes;
        }

        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is not null)
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                    w.WriteString(key, value ?? throw new ArgumentException($"Safetensors.Save: metadata value \"{key}\" is null"));
                w.WriteEndObject();
            }
            foreach (var (e, _) in order)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", Code(e.DType));
                w.WriteStartArray("shape");
                foreach (var s in e.Shape) w.WriteNumberValue(s);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(e.Begin);
                w.WriteNumberValue(e.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int padding = (int)((8 - json.Length % 8) % 8);   // spaces, so the data starts 8-byte aligned
        for (int i = 0; i < padding; i++) json.WriteByte((byte)' ');
        return (json.ToArray(), order);
    }

    static void Write(Stream stream, byte[] header, List<(Entry Entry, Tensor Tensor)> order)
    {
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var (_, t) in order)
        {
            // ToArray gives a row-major copy whatever the strides: the file always holds contiguous data.
            switch (t.DType)
            {
                case DType.Float32: stream.Write(MemoryMarshal.AsBytes<float>(t.ToArray<float>())); break;
                case DType.Float64: stream.Write(MemoryMarshal.AsBytes<double>(t.ToArray<double>())); break;
                case DType.Int64: stream.Write(MemoryMarshal.AsBytes<long>(t.ToArray<long>())); break;
                case DType.Int32: stream.Write(MemoryMarshal.AsBytes<int>(t.ToArray<int>())); break;
                case DType.Bool: stream.Write(t.ToArray<bool>().Select(b => b ? (byte)1 : (byte)0).ToArray()); break;
                case DType.Float16: stream.Write(MemoryMarshal.AsBytes<Half>(t.ToArray<Half>())); break;
                case DType.BFloat16: stream.Write(MemoryMarshal.AsBytes<BFloat16>(t.ToArray<BFloat16>())); break;
                case DType.UInt8: stream.Write(t.ToArray<byte>()); break;
                case DType.Int8: stream.Write(MemoryMarshal.AsBytes<sbyte>(t.ToArray<sbyte>())); break;
                case DType.Int16: stream.Write(MemoryMarshal.AsBytes<short>(t.ToArray<short>())); break;
                case DType.UInt16: stream.Write(MemoryMarshal.AsBytes<ushort>(t.ToArray<ushort>())); break;
                default: throw new ArgumentOutOfRangeException(nameof(t), $"Safetensors.Save: unknown dtype {t.DType}");
            }
        }
        stream.Flush();
    }

    // The reference's dtype order (it sorts by it, descending): BOOL < U8 < I8 < I16 < U16 < F16 < BF16 < I32 < F32 < F64 < I64.
    static int WriteOrder(DType d) => d switch
    {
        DType.Bool => 0,
        DType.UInt8 => 1,
        DType.Int8 => 2,
        DType.Int16 => 3,
        DType.UInt16 => 4,
        DType.Float16 => 5,
        DType.BFloat16 => 6,
        DType.Int32 => 7,
        DType.Float32 => 8,
        DType.Float64 => 9,
        DType.Int64 => 10,
        _ => throw new ArgumentOutOfRangeException(nameof(d), $"Safetensors.Save: unknown dtype {d}"),
    };

    static string Code(DType d) => d switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Int64 => "I64",
        DType.Int32 => "I32",
        DType.Bool => "BOOL",
        DType.Float16 => "F16",
        DType.BFloat16 => "BF16",
        DType.UInt8 => "U8",
        DType.Int8 => "I8",
        DType.Int16 => "I16",
        DType.UInt16 => "U16",
        _ => throw new ArgumentOutOfRangeException(nameof(d), $"Safetensors.Save: unknown dtype {d}"),
    };

    // ---- reading ----

    static readonly string[] Unsupported = ["U32", "U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"];

    static DType ParseDType(string code, string file, string tensor) => code switch
    {
        "F32" => DType.Float32,
        "F64" => DType.Float64,
        "I64" => DType.Int64,
        "I32" => DType.Int32,
        "BOOL" => DType.Bool,
        "F16" => DType.Float16,
        "BF16" => DType.BFloat16,
        "U8" => DType.UInt8,
        "I8" => DType.Int8,
        "I16" => DType.Int16,
        "U16" => DType.UInt16,
        _ when Unsupported.Contains(code) => throw Invalid(file, tensor, $"dtype {code} is valid safetensors but MetaGrad holds only F32, F64, F16, BF16, I64, I32, I16, U16, I8, U8 and BOOL tensors"),
        _ => throw Invalid(file, tensor, $"unknown dtype \"{code}\" (expected F32, F64, F16, BF16, I64, I32, I16, U16, I8, U8 or BOOL)"),
    };

    static (List<Entry> Entries, Dictionary<string, string> Metadata) ParseHeader(byte[] header, string file, long dataLength)
    {
        // JsonDocument accepts invalid UTF-8 inside strings and throws InvalidOperationException only when one is read.
        if (!System.Text.Unicode.Utf8.IsValid(header)) throw Invalid(file, "the header is not valid UTF-8");
        try
        {
            return ParseJsonHeader(header, file, dataLength);
        }
        catch (InvalidOperationException e)   // an escaped lone surrogate (\ud800) read as a string
        {
            throw Invalid(file, $"the header holds a string that is not valid Unicode ({e.Message})");
        }
    }

    static (List<Entry> Entries, Dictionary<string, string> Metadata) ParseJsonHeader(byte[] header, string file, long dataLength)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw Invalid(file, $"the header is not valid JSON ({e.Message})");
        }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw Invalid(file, $"the header must be a JSON object, found {doc.RootElement.ValueKind}");

        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>();
        var seen = new HashSet<string>();
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            if (!seen.Add(property.Name)) throw Invalid(file, $"the header names \"{property.Name}\" twice");
            if (property.Name == MetadataKey)
            {
                if (property.Value.ValueKind != JsonValueKind.Object)
                    throw Invalid(file, $"\"{MetadataKey}\" must be an object of strings, found {property.Value.ValueKind}");
                foreach (var m in property.Value.EnumerateObject())
                    metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String
                        ? m.Value.GetString()!
                        : throw Invalid(file, $"metadata entry \"{m.Name}\" must be a string, found {m.Value.ValueKind}");
                continue;
            }
            entries.Add(ParseEntry(property.Name, property.Value, file, dataLength));
        }

        // The tensors, in offset order, must tile the data exactly: no gap, no overlap, nothing after.
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            if (e.Begin < expected)
                throw Invalid(file, e.Name, $"data_offsets [{e.Begin}, {e.End}] overlap tensor \"{entries[i - 1].Name}\", which ends at {expected}");
            if (e.Begin > expected)
                throw Invalid(file, e.Name, $"data_offsets [{e.Begin}, {e.End}] leave a gap of {e.Begin - expected} bytes after {(i == 0 ? "the start of the data" : $"tensor \"{entries[i - 1].Name}\"")}");
            expected = e.End;
        }
        if (expected != dataLength)
            throw Invalid(file, $"the tensors' data ends at byte {expected} but the file holds {dataLength} bytes of data: {dataLength - expected} bytes are unaccounted for");
        return (entries, metadata);
    }

    static Entry ParseEntry(string name, JsonElement info, string file, long dataLength)
    {
        if (info.ValueKind != JsonValueKind.Object) throw Invalid(file, name, $"expected an object with dtype, shape and data_offsets, found {info.ValueKind}");
        if (!info.TryGetProperty("dtype", out var dtypeJson) || dtypeJson.ValueKind != JsonValueKind.String)
            throw Invalid(file, name, "missing a string \"dtype\"");
        var dtype = ParseDType(dtypeJson.GetString()!, file, name);

        if (!info.TryGetProperty("shape", out var shapeJson) || shapeJson.ValueKind != JsonValueKind.Array)
            throw Invalid(file, name, "missing a \"shape\" array");
        var shape = new int[shapeJson.GetArrayLength()];
        long numel = 1;
        int d = 0;
        foreach (var s in shapeJson.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt32(out shape[d]) || shape[d] < 0)
                throw Invalid(file, name, $"shape entry {d} ({s.GetRawText()}) is not a non-negative 32-bit integer");
            numel *= shape[d++];
            if (numel > int.MaxValue) throw Invalid(file, name, $"shape [{string.Join(", ", shapeJson.EnumerateArray().Select(x => x.GetRawText()))}] holds more elements than a tensor can ({int.MaxValue})");
        }

        if (!info.TryGetProperty("data_offsets", out var offsetsJson) || offsetsJson.ValueKind != JsonValueKind.Array || offsetsJson.GetArrayLength() != 2
            || !TryGetOffset(offsetsJson[0], out long begin) || !TryGetOffset(offsetsJson[1], out long end) || end < begin)
            throw Invalid(file, name, $"\"data_offsets\" must be [begin, end] with 0 <= begin <= end, found {(offsetsJson.ValueKind == JsonValueKind.Undefined ? "nothing" : offsetsJson.GetRawText())}");
        if (end > dataLength)
            throw Invalid(file, name, $"data_offsets [{begin}, {end}] run past the end of the data, which holds {dataLength} bytes: the file is truncated or the offsets are wrong");
        long bytes = numel * dtype.ElementSize();
        if (end - begin != bytes)
            throw Invalid(file, name, $"shape [{string.Join(", ", shape)}] of {Code(dtype)} needs {bytes} bytes, but data_offsets [{begin}, {end}] hold {end - begin}");
        return new Entry(name, dtype, shape, begin, end);
    }

    static bool TryGetOffset(JsonElement e, out long value)
    {
        value = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out value) && value >= 0;
    }

    static Tensor ReadTensor(Stream stream, DType dtype, int[] shape)
    {
        int numel = shape.Aggregate(1, (a, b) => a * b);
        switch (dtype)
        {
            case DType.Float32: return Tensor.From(Read<float>(stream, numel), shape);
            case DType.Float64: return Tensor.From(Read<double>(stream, numel), shape);
            case DType.Int64: return Tensor.From(Read<long>(stream, numel), shape);
            case DType.Int32: return Tensor.From(Read<int>(stream, numel), shape);
            case DType.Float16: return Tensor.From(Read<Half>(stream, numel), shape);
            case DType.BFloat16: return Tensor.From(Read<BFloat16>(stream, numel), shape);
            case DType.UInt8: return Tensor.From(Read<byte>(stream, numel), shape);
            case DType.Int8: return Tensor.From(Read<sbyte>(stream, numel), shape);
            case DType.Int16: return Tensor.From(Read<short>(stream, numel), shape);
            case DType.UInt16: return Tensor.From(Read<ushort>(stream, numel), shape);
            case DType.Bool:
                // Any non-zero byte is true, as in PyTorch; a .NET bool must hold exactly 0 or 1.
                var raw = Read<byte>(stream, numel);
                return Tensor.From(raw.Select(b => b != 0).ToArray(), shape);
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), $"Safetensors.Load: unknown dtype {dtype}");
        }
    }

    static T[] Read<T>(Stream stream, int count) where T : unmanaged
    {
        var values = new T[count];
        stream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    static void CheckEndianness()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Safetensors: reading and writing assume a little-endian machine");
    }

    static InvalidDataException Invalid(string file, string problem) => new($"{file}: invalid safetensors file: {problem}");

    static InvalidDataException Invalid(string file, string tensor, string problem) => new($"{file}: invalid safetensors file: tensor \"{tensor}\": {problem}");
}
