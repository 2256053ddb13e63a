using MetaGrad.TensorBoard;
using SkiaSharp;

namespace MetaGrad.Tests.TensorBoard;

/// <summary>The PNG encoder, decoded by SkiaSharp (libpng's checks: chunk CRCs, zlib, filters).</summary>
public class PngTests
{
    [Fact]
    public void Encode_Grey_DecodesToTheSameLevels()
    {
        byte[] levels = [0, 64, 128, 255, 10, 20];
        var png = Png.Encode(levels, width: 3, height: 2, channels: 1);
        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal((3, 2), (bitmap.Width, bitmap.Height));
        for (int i = 0; i < 6; i++) Assert.Equal(levels[i], bitmap.GetPixel(i % 3, i / 3).Red);
    }

    [Fact]
    public void Encode_Rgba_KeepsColourAndOpaqueAlpha()
    {
        byte[] pixels = [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 12, 34, 56, 255];
        using var bitmap = SKBitmap.Decode(Png.Encode(pixels, 2, 2, 4));
        Assert.Equal(new SKColor(255, 0, 0, 255), bitmap.GetPixel(0, 0));
        Assert.Equal(new SKColor(0, 255, 0, 255), bitmap.GetPixel(1, 0));
        Assert.Equal(new SKColor(0, 0, 255, 255), bitmap.GetPixel(0, 1));
        Assert.Equal(new SKColor(12, 34, 56, 255), bitmap.GetPixel(1, 1));
    }

    [Fact]
    public void Encode_StartsWithTheSignature_AndEndsWithTheStandardIend()
    {
        var png = Png.Encode([1, 2, 3], 1, 1, 3);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        // IEND is empty, so its CRC-32 is a constant every PNG ends with: AE 42 60 82.
        Assert.Equal(new byte[] { 0, 0, 0, 0, (byte)'I', (byte)'E', (byte)'N', (byte)'D', 0xAE, 0x42, 0x60, 0x82 }, png[^12..]);
    }

    [Fact]
    public void Encode_RefusesAMismatchedBuffer()
    {
        var e = Assert.Throws<ArgumentException>(() => Png.Encode(new byte[5], 2, 2, 1));
        Assert.Contains("needs 4 bytes, got 5", e.Message);
        Assert.Throws<ArgumentException>(() => Png.Encode(new byte[4], 2, 2, 5));
    }
}
