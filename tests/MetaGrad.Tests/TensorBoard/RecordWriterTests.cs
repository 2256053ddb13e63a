using MetaGrad.TensorBoard;

namespace MetaGrad.Tests.TensorBoard;

/// <summary>TFRecord framing and its CRC-32C, against the standard's test vectors and an independent reader.</summary>
public class RecordWriterTests
{
    // RFC 3720, appendix B.4: 32 bytes of zeros, of ones, ascending, descending, and an iSCSI read command PDU.
    public static TheoryData<byte[], uint> Rfc3720Vectors => new()
    {
        { new byte[32], 0x8A9136AAu },
        { Enumerable.Repeat((byte)0xFF, 32).ToArray(), 0x62A8AB43u },
        { Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), 0x46DD794Eu },
        { Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray(), 0x113FDB5Cu },
        {
            new byte[]
            {
                0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
                0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            },
            0xD9963A56u
        },
        { "123456789"u8.ToArray(), 0xE3069283u },   // the usual check value of CRC-32C
        { Array.Empty<byte>(), 0u },
    };

    [Theory]
    [MemberData(nameof(Rfc3720Vectors))]
    public void Crc32C_MatchesTheStandardsTestVectors(byte[] data, uint expected)
    {
        Assert.Equal(expected, Crc32C.Compute(data));
        Assert.Equal(expected, EventFileReader.Crc32C(data));   // the tests' own reader too
    }

    [Fact]
    public void Crc32C_AgreesWithTheBitwiseReference_AtEveryLengthAroundTheEightByteSteps()
    {
        var random = new Random(7);
        for (int length = 0; length <= 40; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(EventFileReader.Crc32C(data), Crc32C.Compute(data));
        }
    }

    [Fact]
    public void Masked_RotatesRightBy15_AndAddsTheConstant()
    {
        // 0x8A9136AA rotated right by 15 is 0x6D55_1522; plus 0xA282EAD8 is 0x0FD7_FFFA (mod 2^32).
        Assert.Equal(0x0FD7FFFAu, Crc32C.Masked(new byte[32]));
    }

    [Fact]
    public void Write_FramesEachRecord_LengthAndChecksumsAsTheReaderExpects()
    {
        var stream = new MemoryStream();
        using (var writer = new RecordWriter(stream))
        {
            writer.Write("hello"u8);
            writer.Write([]);
            writer.Write(new byte[1000]);
        }
        var bytes = stream.ToArray();
        Assert.Equal(3 * 16 + 5 + 0 + 1000, bytes.Length);
        Assert.Equal(new byte[] { 5, 0, 0, 0, 0, 0, 0, 0 }, bytes[..8]);   // the length, uint64 little-endian
        var records = EventFileReader.Records(bytes);
        Assert.Equal(["hello"u8.ToArray(), [], new byte[1000]], records);
    }

    [Fact]
    public void Reader_RefusesARecordWhoseDataChanged()
    {
        var stream = new MemoryStream();
        using (var writer = new RecordWriter(stream)) writer.Write("hello"u8);
        var bytes = stream.ToArray();
        bytes[13] ^= 1;   // a bit of the data
        Assert.Throws<InvalidDataException>(() => EventFileReader.Records(bytes));
    }
}
