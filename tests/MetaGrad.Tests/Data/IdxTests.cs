using System.Buffers.Binary;
using MetaGrad.Data;

namespace MetaGrad.Tests.Data;

/// <summary>The IDX reader refuses headers whose dims do not fit the bytes that follow.</summary>
public class IdxTests
{
    const int ImagesMagic = 2051;

    static byte[] Header(params int[] dims)
    {
        var bytes = new byte[4 + 4 * dims.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x0800 | dims.Length);
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        return bytes;
    }

    [Fact]
    public void Parse_DimsWhoseProductOverflowsALong_AreRefused()
    {
        // 5 × 2147418113 × 1718039348 wraps a 64-bit product to a small number: the file once loaded as 5 images.
        var bytes = Header(5, 2147418113, 1718039348);
        var ex = Assert.Throws<InvalidDataException>(() => Idx.Parse(bytes, "evil", ImagesMagic, "images"));
        Assert.Contains("evil", ex.Message);
        Assert.Contains("5x2147418113x1718039348", ex.Message);
    }

    [Fact]
    public void Parse_DimsOfMoreElementsThanATensorHolds_AreRefused()
    {
        // 16 × 2^30 × 2^30 = 2^64 wraps to zero; the 16-byte file once loaded as 16 images.
        var bytes = Header(16, 1 << 30, 1 << 30);
        var ex = Assert.Throws<InvalidDataException>(() => Idx.Parse(bytes, "evil", ImagesMagic, "images"));
        Assert.Contains("16x1073741824x1073741824", ex.Message);
    }

    [Fact]
    public void Parse_AFileOfTheSizeItsHeaderClaims_Loads()
    {
        var bytes = Header(2, 1, 3).Concat(new byte[] { 1, 2, 3, 4, 5, 6 }).ToArray();
        var idx = Idx.Parse(bytes, "ok", ImagesMagic, "images");
        Assert.Equal([2, 1, 3], idx.Dims);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, idx.Data.ToArray());
    }

    [Fact]
    public void Parse_AZeroDimWithHugeOthers_IsAnEmptyFile()
    {
        var idx = Idx.Parse(Header(0, 1 << 30, 1 << 30), "empty", ImagesMagic, "images");
        Assert.Equal([0, 1 << 30, 1 << 30], idx.Dims);
        Assert.Equal(0, idx.Data.Length);
    }

    [Fact]
    public void Parse_AGzipBomb_IsNotUnpackedPastWhatItsHeaderClaims()
    {
        // A 64 KB file that unpacks to 64 MB after a header claiming 2 images of 2x2.
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(Header(2, 2, 2));
            gzip.Write(new byte[64 << 20]);
        }
        var bytes = compressed.ToArray();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<InvalidDataException>(() => Idx.Parse(bytes, "bomb", ImagesMagic, "images"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("extra bytes after the data", ex.Message);
        Assert.True(allocated < 4 << 20, $"allocated {allocated:N0} bytes to refuse a {bytes.Length:N0}-byte file");
    }
}
