using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace MetaGrad.TensorBoard;

/// <summary>
/// A minimal PNG encoder (8 bits a channel, grey, grey with alpha, RGB or RGBA, no interlacing),
/// enough for TensorBoard's images without a graphics library: the signature, an IHDR chunk, the
/// rows zlib-compressed in one IDAT chunk, and IEND.
/// </summary>
public static class Png
{
    static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// Encodes <paramref name="pixels"/>, row after row of <paramref name="width"/> pixels of
    /// <paramref name="channels"/> bytes each (1 grey, 2 grey and alpha, 3 RGB, 4 RGBA).
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"Png.Encode: the image must be at least 1x1, got {width}x{height}");
        if (channels is < 1 or > 4)
            throw new ArgumentException($"Png.Encode: channels must be 1 (grey), 2 (grey and alpha), 3 (RGB) or 4 (RGBA), got {channels}");
        if (pixels.Length != (long)width * height * channels)
            throw new ArgumentException($"Png.Encode: {width}x{height}x{channels} needs {(long)width * height * channels} bytes, got {pixels.Length}");

        var output = new MemoryStream();
        output.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;                                                   // bits per channel
        header[9] = channels switch { 1 => 0, 2 => 4, 3 => 2, _ => 6 };  // PNG's colour types
        // header[10..13]: deflate, adaptive filtering, no interlace: all zero.
        WriteChunk(output, "IHDR", header);

        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            int stride = width * channels;
            for (int row = 0; row < height; row++)
            {
                zlib.WriteByte(0);   // filter "none": small images gain little from the others
                zlib.Write(pixels.Slice(row * stride, stride));
            }
        }
        WriteChunk(output, "IDAT", compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    /// <summary>The width, height and channel count in the header of the PNG file <paramref name="png"/>.</summary>
    public static (int Width, int Height, int Channels) ReadHeader(ReadOnlySpan<byte> png)
    {
        // The signature, then IHDR first: length 13, "IHDR", width, height, bit depth, colour type.
        if (png.Length < 33 || !png[..8].SequenceEqual(Signature) || !png.Slice(12, 4).SequenceEqual("IHDR"u8))
            throw new ArgumentException($"Png.ReadHeader: not a PNG file ({png.Length} bytes without the PNG signature and header)");
        int width = BinaryPrimitives.ReadInt32BigEndian(png[16..]), height = BinaryPrimitives.ReadInt32BigEndian(png[20..]);
        int channels = png[25] switch
        {
            0 or 3 => 1,   // grey, or a palette: one sample a pixel
            4 => 2,
            2 => 3,
            6 => 4,
            var type => throw new ArgumentException($"Png.ReadHeader: unknown PNG colour type {type}"),
        };
        return (width, height, channels);
    }

    // A chunk: its length (big-endian), its type, its data, and the CRC-32 of type and data.
    static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        byte[] typeBytes = Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        uint crc = Crc32.Update(Crc32.Update(~0u, typeBytes), data);
        BinaryPrimitives.WriteUInt32BigEndian(word, ~crc);
        output.Write(word);
    }

    /// <summary>CRC-32 with the polynomial of zlib and PNG (0xEDB88320 reflected), one table lookup a byte.</summary>
    internal static class Crc32
    {
        static readonly uint[] Table = MakeTable();

        static uint[] MakeTable()
        {
            var table = new uint[256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                table[n] = c;
            }
            return table;
        }

        /// <summary>Runs the register <paramref name="crc"/> over <paramref name="data"/> (start at ~0, invert at the end).</summary>
        public static uint Update(uint crc, ReadOnlySpan<byte> data)
        {
            foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc;
        }
    }
}
