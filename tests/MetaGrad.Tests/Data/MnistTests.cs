using System.Buffers.Binary;
using System.IO.Compression;
using MetaGrad.Data;

namespace MetaGrad.Tests.Data;

/// <summary>Reads the real digits shipped in data/mnist-mini, and refuses broken files with a clear message.</summary>
public class MnistTests
{
    static readonly string Mini = Mnist.FindMini();

    [Fact]
    public void Mini_TrainSplit_Has8000DigitsWithTheDocumentedClassCounts()
    {
        var train = new Mnist(Mini, train: true);
        Assert.Equal(8000, train.Count);
        Check.Shape([8000, 1, 28, 28], train.Images);
        Check.Shape([8000], train.Labels);
        Assert.Equal(DType.Float32, train.Images.DType);
        Assert.Equal(DType.Int64, train.Labels.DType);
        var counts = train.Labels.ToArray<long>().GroupBy(l => l).OrderBy(g => g.Key).Select(g => g.Count());
        Assert.Equal(new[] { 805, 890, 782, 833, 769, 703, 846, 851, 739, 782 }, counts);   // data/mnist-mini/README.md
    }

    [Fact]
    public void Mini_TestSplit_Has2000Digits()
    {
        var test = new Mnist(Mini, train: false);
        Assert.Equal(2000, test.Count);
        Assert.Equal(2000, test.Labels.ToArray<long>().Count(l => l is >= 0 and <= 9));
    }

    [Fact]
    public void Pixels_AreGreyLevelsOver255_SpanningZeroToOne()
    {
        var pixels = new Mnist(Mini, train: false).Images.ToArray<float>();
        Assert.Equal(0f, pixels.Min());
        Assert.Equal(1f, pixels.Max());
        Assert.All(pixels.Take(28 * 28 * 10), p => Assert.Equal(p, MathF.Round(p * 255) / 255f));
        double mean = pixels.Average();
        Assert.InRange(mean, 0.10, 0.16);   // MNIST's mean grey level is 0.1307
    }

    [Fact]
    public void Item_IsAnImageAndALabel_ViewingTheWholeSplit()
    {
        var test = new Mnist(Mini, train: false);
        var (image, label) = (test[5][0], test[5][1]);
        Check.Shape([1, 28, 28], image);
        Check.Shape([], label);
        Assert.Equal(test.Images[5].ToArray<float>(), image.ToArray<float>());
        Assert.Equal(test.Labels.ToArray<long>()[5], label.Item<long>());
    }

    [Fact]
    public void Normalize_Transform_AppliesMeanAndStd()
    {
        var plain = new Mnist(Mini, train: false);
        var normalized = new Mnist(Mini, train: false, transform: Mnist.Normalize);
        var p = plain.Images[0].ToArray<float>();
        var n = normalized.Images[0].ToArray<float>();
        for (int i = 0; i < p.Length; i++) Assert.Equal((p[i] - 0.1307) / 0.3081, n[i], 5);
    }

    [Fact]
    public void DataLoader_BatchesMnistIntoImagesAndLabels()
    {
        var loader = new DataLoader(new Mnist(Mini, train: false), batchSize: 64, shuffle: true, generator: new Generator(0));
        Assert.Equal(32, loader.Count);   // 2000 / 64 = 31.25
        var first = loader.First();
        Check.Shape([64, 1, 28, 28], first[0]);
        Check.Shape([64], first[1]);
    }

    // ---- files written by hand, in a temporary folder ----

    static byte[] IdxBytes(int magic, int[] dims, byte[] values)
    {
        var bytes = new byte[4 + 4 * dims.Length + values.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        values.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(bytes);
        return output.ToArray();
    }

    /// <summary>A valid test split of n 4x3 images (pixel = position) and labels i % 10, optionally gzipped.</summary>
    static void WriteSplit(TempFolder dir, int n, bool gzip, int? labelCount = null)
    {
        var pixels = Enumerable.Range(0, n * 12).Select(i => (byte)i).ToArray();
        var labels = Enumerable.Range(0, labelCount ?? n).Select(i => (byte)(i % 10)).ToArray();
        var images = IdxBytes(2051, [n, 4, 3], pixels);
        var labelFile = IdxBytes(2049, [labels.Length], labels);
        string ext = gzip ? ".gz" : "";
        File.WriteAllBytes(dir.File("t10k-images-idx3-ubyte" + ext), gzip ? Gzip(images) : images);
        File.WriteAllBytes(dir.File("t10k-labels-idx1-ubyte" + ext), gzip ? Gzip(labelFile) : labelFile);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsPlainAndGzippedFiles_WithTheDimsTheHeaderGives(bool gzip)
    {
        using var dir = new TempFolder();
        WriteSplit(dir, 5, gzip);
        var ds = new Mnist(dir.Path, train: false);
        Check.Shape([5, 1, 4, 3], ds.Images);
        Assert.Equal(14 / 255f, ds.Images.ToArray<float>()[14]);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, ds.Labels.ToArray<long>());
    }

    [Fact]
    public void GzipIsRecognisedByItsMagicBytes_NotByTheFileName()
    {
        using var dir = new TempFolder();
        WriteSplit(dir, 3, gzip: true);
        File.Move(dir.File("t10k-images-idx3-ubyte.gz"), dir.File("t10k-images-idx3-ubyte"));
        Assert.Equal(3, new Mnist(dir.Path, train: false).Count);
    }

    [Fact]
    public void TruncatedImages_AreRefused_NamingTheFileAndTheSizes()
    {
        using var dir = new TempFolder();
        WriteSplit(dir, 5, gzip: false);
        var path = dir.File("t10k-images-idx3-ubyte");
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^7]);
        var ex = Assert.Throws<InvalidDataException>(() => new Mnist(dir.Path, train: false));
        Assert.Contains(path, ex.Message);
        Assert.Contains("expected 76 bytes", ex.Message);   // 16-byte header + 5x4x3 pixels
        Assert.Contains("found 69", ex.Message);
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void TruncatedGzip_IsRefused_NamingTheFile()
    {
        using var dir = new TempFolder();
        WriteSplit(dir, 50, gzip: true);
        var path = dir.File("t10k-images-idx3-ubyte.gz");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<InvalidDataException>(() => new Mnist(dir.Path, train: false));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void ForeignFile_IsRefused_WithTheMagicNumberExpectedAndFound()
    {
        using var dir = new TempFolder();
        WriteSplit(dir, 5, gzip: false);
        var path = dir.File("t10k-images-idx3-ubyte");
        File.WriteAllText(path, "<html>Not Found</html>");
        var ex = Assert.Throws<InvalidDataException>(() => new Mnist(dir.Path, train: false));
        Assert.Contains(path, ex.Message);
        Assert.Contains("expected IDX magic number 2051", ex.Message);
        Assert.Contains("not an IDX file", ex.Message);
    }

    [Fact]
    public void SwappedFiles_AreRefused_SayingWhatWasFound()
    {
        using var dir = new TempFolder();
        WriteSplit(dir, 5, gzip: false);
        File.Copy(dir.File("t10k-labels-idx1-ubyte"), dir.File("t10k-images-idx3-ubyte"), overwrite: true);
        var ex = Assert.Throws<InvalidDataException>(() => new Mnist(dir.Path, train: false));
        Assert.Contains("expected IDX magic number 2051", ex.Message);
        Assert.Contains("found 2049 (an IDX file of unsigned bytes in 1 dims)", ex.Message);
    }

    [Fact]
    public void MismatchedCounts_AreRefused_NamingBothFiles()
    {
        using var dir = new TempFolder();
        WriteSplit(dir, 5, gzip: true, labelCount: 4);
        var ex = Assert.Throws<InvalidDataException>(() => new Mnist(dir.Path, train: false));
        Assert.Contains("t10k-labels-idx1-ubyte.gz: expected 5 labels", ex.Message);
        Assert.Contains("t10k-images-idx3-ubyte.gz", ex.Message);
        Assert.Contains("found 4", ex.Message);
    }

    [Fact]
    public void LabelOutsideTheTenClasses_IsRefused()
    {
        using var dir = new TempFolder();
        WriteSplit(dir, 3, gzip: false);
        File.WriteAllBytes(dir.File("t10k-labels-idx1-ubyte"), IdxBytes(2049, [3], [1, 200, 3]));
        var ex = Assert.Throws<InvalidDataException>(() => new Mnist(dir.Path, train: false));
        Assert.Contains("found 200 at position 1", ex.Message);
    }

    [Fact]
    public void MissingFiles_AreReported_WithBothNamesTried()
    {
        using var dir = new TempFolder();
        var ex = Assert.Throws<FileNotFoundException>(() => new Mnist(dir.Path));
        Assert.Contains("train-images-idx3-ubyte nor train-images-idx3-ubyte.gz", ex.Message);
        Assert.Contains("Download", ex.Message);
    }
}
