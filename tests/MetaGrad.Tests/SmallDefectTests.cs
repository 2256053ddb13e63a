using MetaGrad.Data;
using MetaGrad.IO;
using MetaGrad.NN;

namespace MetaGrad.Tests;

/// <summary>Messages a new user met that named the wrong thing or nothing useful.</summary>
public class SmallDefectTests
{
    [Fact]
    public void LoadingAFolder_SaysItIsAFolder()
    {
        // Once "Access to the path ... is denied".
        using var dir = new TempFolder();
        var ex = Assert.Throws<IOException>(() => Safetensors.Load(dir.Path));
        Assert.Contains("Safetensors.Load", ex.Message);
        Assert.Contains("is a folder", ex.Message);
        Assert.Contains("is a folder", Assert.Throws<IOException>(() => Checkpoint.Load(dir.Path)).Message);
        Assert.Contains("is a folder", Assert.Throws<IOException>(() => Idx.Read(dir.Path, 2051, "images")).Message);
        var missing = Assert.Throws<FileNotFoundException>(() => Safetensors.Load(dir.File("none.safetensors")));
        Assert.Contains("none.safetensors", missing.Message);
    }

    [Fact]
    public void AnEmbeddingIdOutOfRange_IsReportedByEmbedding()
    {
        var embedding = new Embedding(10, 3, generator: new Generator(0));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => embedding.Forward(Tensor.From(new long[,] { { 1, 12 }, { 3, 4 } })));
        Assert.Contains("Embedding: index 12 is out of range for 10 embeddings", ex.Message);
        Assert.DoesNotContain("IndexSelect", ex.Message);
        Assert.Contains("index -1", Assert.Throws<ArgumentOutOfRangeException>(() => embedding.Forward(Tensor.From(new long[] { -1 }))).Message);
        Assert.Equal([2, 3], embedding.Forward(Tensor.From(new long[] { 0, 9 })).Shape.ToArray());
    }

    [Fact]
    public void ANegativeIndex_IsPrintedAsWritten()
    {
        var x = Tensor.Ones(3);
        Assert.Contains("index -4 is out of bounds for dimension 0 with size 3", Assert.Throws<ArgumentOutOfRangeException>(() => x[-4]).Message);
        Assert.Contains("index ^4 is out of bounds", Assert.Throws<ArgumentOutOfRangeException>(() => x[^4]).Message);
        Assert.Contains("index 3 is out of bounds", Assert.Throws<ArgumentOutOfRangeException>(() => x[3]).Message);
    }

    [Fact]
    public void FindMini_OutsideTheRepository_SaysWhereItLookedAndWhatToDo()
    {
        using var dir = new TempFolder();
        var ex = Assert.Throws<DirectoryNotFoundException>(() => Mnist.FindMini(dir.Path));
        Assert.Contains(dir.Path, ex.Message);
        Assert.Contains("every folder above", ex.Message);
        Assert.Contains("new Mnist(folder)", ex.Message);
        Assert.Contains("Mnist.Download(folder)", ex.Message);
    }
}
