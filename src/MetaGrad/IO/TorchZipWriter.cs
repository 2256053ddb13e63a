using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace MetaGrad.IO;

/// <summary>
/// Writes the zip container of a <c>torch.save</c> file as PyTorch's own writer (caffe2's
/// PyTorchStreamWriter over miniz) lays it out, byte for byte: every record stored uncompressed
/// under <c>ARCHIVE/</c>, its data starting on a 64-byte boundary (padding goes in an extra field
/// tagged "FB" so that PyTorch can map tensors straight from the file), CRC and sizes in a data
/// descriptor after the data, then the central directory and the ZIP64 end records miniz always adds.
/// </summary>
internal sealed class TorchZipWriter
{
    const int Alignment = 64;                      // PyTorch's kFieldAlignment
    const int LocalHeaderSize = 30;
    const ushort Utf8 = 0x0800;                    // bit 11: UTF-8 names
    const ushort Descriptor = 0x0008;              // bit 3: CRC and sizes follow the data

    readonly Stream _stream;
    readonly string _archive;
    readonly List<(byte[] Name, ushort Flags, uint Crc, long Size, long Offset)> _records = [];
    long _cursor;

    public TorchZipWriter(Stream stream, string archiveName) => (_stream, _archive) = (stream, archiveName);

    /// <summary>Adds <c>ARCHIVE/name</c> holding <paramref name="data"/>.</summary>
    public void WriteRecord(string name, ReadOnlySpan<byte> data)
    {
        var fullName = Encoding.UTF8.GetBytes($"{_archive}/{name}");
        long offset = _cursor;
        if (offset + data.Length + 1024 >= uint.MaxValue)
            throw new NotSupportedException($"PyTorchFiles.Save: the file would pass 4 GiB at record {name}; that needs ZIP64 entries, which MetaGrad does not write");

        // miniz writes an empty record's (zero) CRC and sizes in its header, with no descriptor.
        ushort flags = data.IsEmpty ? Utf8 : (ushort)(Utf8 | Descriptor);
        long start = offset + LocalHeaderSize + fullName.Length + 4;
        int padding = (int)((Alignment - start % Alignment) % Alignment);
        Span<byte> header = stackalloc byte[LocalHeaderSize];
        header.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(header[26..], (ushort)fullName.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(header[28..], (ushort)(4 + padding));
        Write(header);
        Write(fullName);
        Span<byte> extra = stackalloc byte[4 + padding];
        extra.Fill((byte)'Z');
        extra[0] = (byte)'F';
        extra[1] = (byte)'B';
        BinaryPrimitives.WriteUInt16LittleEndian(extra[2..], (ushort)padding);
        Write(extra);
        Write(data);

        uint crc = Crc32.Compute(data);
        if (!data.IsEmpty)
        {
            Span<byte> descriptor = stackalloc byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(descriptor, 0x08074b50);
            BinaryPrimitives.WriteUInt32LittleEndian(descriptor[4..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(descriptor[8..], (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(descriptor[12..], (uint)data.Length);
            Write(descriptor);
        }
        _records.Add((fullName, flags, crc, data.Length, offset));
    }

    /// <summary>Writes the central directory and the end records; the archive is complete after this.</summary>
    public void Finish()
    {
        long directoryStart = _cursor;
        Span<byte> entry = stackalloc byte[46];
        foreach (var (name, flags, crc, size, offset) in _records)
        {
            entry.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(entry, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[8..], flags);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[20..], (uint)size);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[24..], (uint)size);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[28..], (ushort)name.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[42..], (uint)offset);
            Write(entry);
            Write(name);
        }
        long directorySize = _cursor - directoryStart, zip64End = _cursor;

        Span<byte> end64 = stackalloc byte[56];
        end64.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(end64, 0x06064b50);
        BinaryPrimitives.WriteUInt64LittleEndian(end64[4..], 44);            // the size of what follows
        BinaryPrimitives.WriteUInt16LittleEndian(end64[12..], 0x031e);       // made by: Unix, zip 3.0 (miniz's value)
        BinaryPrimitives.WriteUInt16LittleEndian(end64[14..], 0x002d);       // needs zip 4.5 (ZIP64)
        BinaryPrimitives.WriteUInt64LittleEndian(end64[24..], (ulong)_records.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(end64[32..], (ulong)_records.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(end64[40..], (ulong)directorySize);
        BinaryPrimitives.WriteUInt64LittleEndian(end64[48..], (ulong)directoryStart);
        Write(end64);

        Span<byte> locator = stackalloc byte[20];
        locator.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(locator, 0x07064b50);
        BinaryPrimitives.WriteUInt64LittleEndian(locator[8..], (ulong)zip64End);
        BinaryPrimitives.WriteUInt32LittleEndian(locator[16..], 1);
        Write(locator);

        Span<byte> end = stackalloc byte[22];
        end.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        ushort count = (ushort)Math.Min(_records.Count, ushort.MaxValue);
        BinaryPrimitives.WriteUInt16LittleEndian(end[8..], count);
        BinaryPrimitives.WriteUInt16LittleEndian(end[10..], count);
        BinaryPrimitives.WriteUInt32LittleEndian(end[12..], (uint)directorySize);
        BinaryPrimitives.WriteUInt32LittleEndian(end[16..], (uint)directoryStart);
        Write(end);
    }

    void Write(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        _cursor += bytes.Length;
    }
}

/// <summary>
/// CRC-32 as zip uses it (reflected polynomial 0xEDB88320), eight bytes a step ("slicing by 8":
/// table k gives a byte's effect k bytes further on), which reads and writes large state dicts
/// about four times faster than a byte a step.
/// </summary>
internal static class Crc32
{
    // Table k (entries 256k to 256k+255) is table 0 applied k more times.
    static readonly uint[] s_table = Table();

    static uint[] Table()
    {
        var t = new uint[8 * 256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        for (int i = 256; i < t.Length; i++) t[i] = (t[i - 256] >> 8) ^ t[t[i - 256] & 0xFF];
        return t;
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        // Indices are below 2048 by construction, so the loop reads the table without bounds checks.
        ref uint t = ref MemoryMarshal.GetArrayDataReference(s_table);
        uint crc = 0xFFFFFFFF;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            uint lo = crc ^ BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i, 4));
            uint hi = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i + 4, 4));
            crc = Unsafe.Add(ref t, 7 * 256 + (int)(lo & 0xFF)) ^ Unsafe.Add(ref t, 6 * 256 + (int)((lo >> 8) & 0xFF))
                ^ Unsafe.Add(ref t, 5 * 256 + (int)((lo >> 16) & 0xFF)) ^ Unsafe.Add(ref t, 4 * 256 + (int)(lo >> 24))
                ^ Unsafe.Add(ref t, 3 * 256 + (int)(hi & 0xFF)) ^ Unsafe.Add(ref t, 2 * 256 + (int)((hi >> 8) & 0xFF))
                ^ Unsafe.Add(ref t, 256 + (int)((hi >> 16) & 0xFF)) ^ Unsafe.Add(ref t, (int)(hi >> 24));
        }
        for (; i < data.Length; i++) crc = Unsafe.Add(ref t, (int)((crc ^ data[i]) & 0xFF)) ^ (crc >> 8);
        return ~crc;
    }
}
