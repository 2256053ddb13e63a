using System.Buffers.Binary;
using MetaGrad.TensorBoard.Proto;

namespace MetaGrad.Tests.TensorBoard;

/// <summary>
/// Reads TFRecord event files back for the tests, independently of the writer: its own bit-by-bit
/// CRC-32C (no table, no instruction), every checksum checked, each record parsed as an Event.
/// </summary>
internal static class EventFileReader
{
    /// <summary>CRC-32C, one bit at a time over the reflected Castagnoli polynomial 0x82F63B78.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        return ~crc;
    }

    static uint Masked(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xA282EAD8;
    }

    /// <summary>The records' payloads, in order; throws on a torn record or a checksum that does not match.</summary>
    public static List<byte[]> Records(byte[] file)
    {
        var records = new List<byte[]>();
        int at = 0;
        while (at < file.Length)
        {
            if (file.Length - at < 12) throw new InvalidDataException($"a torn header at byte {at}");
            var header = file.AsSpan(at, 8);
            if (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)) != Masked(header))
                throw new InvalidDataException($"the length's checksum does not match at byte {at}");
            long length = (long)BinaryPrimitives.ReadUInt64LittleEndian(header);
            if (file.Length - at - 12 < length + 4) throw new InvalidDataException($"a torn record at byte {at}");
            var data = file.AsSpan(at + 12, (int)length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 12 + (int)length)) != Masked(data))
                throw new InvalidDataException($"the data's checksum does not match at byte {at}");
            records.Add(data.ToArray());
            at += 12 + (int)length + 4;
        }
        return records;
    }

    /// <summary>The events of the one event file in <paramref name="dir"/>.</summary>
    public static List<Event> Events(string dir)
    {
        var files = Directory.GetFiles(dir, "events.out.tfevents.*");
        Assert.Single(files);
        return ReadEvents(files[0]);
    }

    public static List<Event> ReadEvents(string path)
    {
        // Shared with a writer that still holds the file open, as TensorBoard reads a live run.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return [.. Records(bytes.ToArray()).Select(r => Event.Parser.ParseFrom(r))];
    }
}
