using System.Buffers.Binary;
using System.IO.Compression;

namespace MetaGrad.Data;

/// <summary>
/// Reads IDX files, the format of MNIST and Fashion-MNIST: a big-endian int32 magic number
/// (0, 0, element type, number of dims), one big-endian int32 per dim, then the elements row-major.
/// Only unsigned-byte elements (type 0x08) are read. Gzip-compressed files are recognised by their
/// first two bytes (1f 8b), whatever their name.
/// </summary>
internal static class Idx
{
    /// <summary>An IDX file of unsigned bytes: its dims and its elements.</summary>
    public sealed record UBytes(int[] Dims, ReadOnlyMemory<byte> Data);

    /// <summary>Reads <paramref name="path"/>, which must carry magic number <paramref name="magic"/>.</summary>
    public static UBytes Read(string path, int magic, string kind) => Parse(IO.InputFile.ReadAllBytes(path, "IDX"), path, magic, kind);

    /// <summary>Parses file contents; <paramref name="name"/> and <paramref name="kind"/> ("images") go in error messages.</summary>
    public static UBytes Parse(byte[] bytes, string name, int magic, string kind)
    {
        string unzipped = "";
        if (bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            bytes = Gunzip(bytes, name);
            unzipped = " after decompression";
        }
        int rank = magic & 0xff;
        int header = 4 + 4 * rank;
        if (bytes.Length < 4)
            throw new InvalidDataException($"{name}: expected an IDX file of {kind} (magic number {magic}), but it holds only {bytes.Length} bytes{unzipped}");
        int found = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (found != magic)
            throw new InvalidDataException($"{name}: expected IDX magic number {magic} ({kind}: unsigned bytes in {rank} dims), found {found} ({Describe(found)})");
        if (bytes.Length < header)
            throw new InvalidDataException($"{name}: truncated IDX header: expected {header} bytes of header for {rank} dims, found {bytes.Length} bytes{unzipped}");

        var dims = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            if (dims[d] < 0) throw new InvalidDataException($"{name}: dimension {d} of the IDX header is negative ({dims[d]})");
        }
        long values = ShapeMath.Product(dims);
        if (values > int.MaxValue)
            throw new InvalidDataException($"{name}: the IDX header's dims {string.Join("x", dims)} hold more than {int.MaxValue} {kind} bytes, more than a tensor holds; the file is {bytes.Length} bytes{unzipped}");
        long expected = header + values;
        if (bytes.Length != expected)
            throw new InvalidDataException(
                $"{name}: expected {expected} bytes{unzipped} (a {header}-byte header, then {string.Join("x", dims)} bytes of {kind}), " +
                $"found {(bytes.Length > expected && unzipped.Length > 0 ? "more" : bytes.Length)}: {(bytes.Length < expected ? "the file is truncated" : "there are extra bytes after the data")}");
        return new UBytes(dims, bytes.AsMemory(header));
    }

    // Decompresses no further than the header's dims say the file holds, plus one byte to tell that
    // there is more: a small file cannot make the reader unpack gigabytes.
    static byte[] Gunzip(byte[] compressed, string name)
    {
        try
        {
            using var gzip = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
            using var result = new MemoryStream();
            var buffer = new byte[1 << 16];
            long limit = long.MaxValue;
            for (int n; result.Length < limit && (n = gzip.Read(buffer, 0, (int)Math.Min(buffer.Length, limit - result.Length))) > 0;)
            {
                result.Write(buffer, 0, n);
                if (limit == long.MaxValue && result.Length >= 4 && result.Length >= 4 + 4 * result.GetBuffer()[3])
                {
                    var head = result.GetBuffer();
                    int rank = head[3];
                    var dims = Enumerable.Range(0, rank).Select(d => Math.Max(0, BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(4 + 4 * d)))).ToArray();
                    limit = 4 + 4 * rank + Math.Min(ShapeMath.Product(dims), int.MaxValue) + 1;
                }
            }
            return result.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{name}: starts with the gzip signature (1f 8b) but cannot be decompressed: {e.Message}", e);
        }
    }

    // Names what a wrong magic number looks like, to tell a swapped file from a foreign one.
    static string Describe(int magic) => (magic >> 16) == 0 && (magic >> 8 & 0xff) == 0x08
        ? $"an IDX file of unsigned bytes in {magic & 0xff} dims"
        : (magic >> 16) == 0 && (magic >> 8 & 0xff) is 0x09 or 0x0B or 0x0C or 0x0D or 0x0E
            ? $"an IDX file of another element type (0x{magic >> 8 & 0xff:x2})"
            : "not an IDX file";
}
