using System.Buffers.Binary;
using System.Numerics;

namespace MetaGrad.TensorBoard;

/// <summary>
/// Writes TFRecord framing, the container of TensorBoard's event files: each record is its length
/// (uint64, little-endian), the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C of
/// the data. The checksums let a reader that meets a file still being written tell a whole record
/// from a torn one.
/// </summary>
public sealed class RecordWriter : IDisposable
{
    readonly Stream _stream;

    /// <summary>Frames records onto <paramref name="stream"/>, which the writer then owns.</summary>
    public RecordWriter(Stream stream) => _stream = stream;

    /// <summary>Appends one record holding <paramref name="data"/>.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        _stream.Write(header);
        _stream.Write(data);
        _stream.Write(footer);
    }

    /// <summary>Pushes what was written to the file, so a reader (TensorBoard) sees it.</summary>
    public void Flush() => _stream.Flush();

    /// <inheritdoc/>
    public void Dispose() => _stream.Dispose();
}

/// <summary>CRC-32C (Castagnoli), as TFRecord checksums its records, and TFRecord's mask of it.</summary>
public static class Crc32C
{
    /// <summary>The CRC-32C of <paramref name="data"/> (RFC 3720's: 32 zero bytes give 0x8A9136AA).</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        // BitOperations.Crc32C is the SSE 4.2 / ARMv8 instruction where there is one (a table otherwise);
        // it is the bare update step, so the standard's initial value and final inversion are ours.
        uint crc = ~0u;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>
    /// TFRecord's masked CRC: rotated right by 15 bits plus a constant, because a CRC of data that
    /// itself holds CRCs is weak.
    /// </summary>
    public static uint Masked(ReadOnlySpan<byte> data)
    {
        uint crc = Compute(data);
        return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
    }
}
