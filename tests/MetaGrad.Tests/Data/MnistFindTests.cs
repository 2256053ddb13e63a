using System.Buffers.Binary;
using MetaGrad.Data;

namespace MetaGrad.Tests.Data;

/// <summary>
/// Where a program outside the repository (using the NuGet package) finds MNIST: a folder passed in,
/// METAGRAD_MNIST, METAGRAD_DATA/mnist, the shipped mnist-mini; and what it is told when none holds the files.
/// </summary>
public class MnistFindTests
{
    static readonly Func<string, string?> NoVariables = _ => null;

    static Func<string, string?> Variables(params (string Name, string Value)[] set) =>
        name => set.FirstOrDefault(v => v.Name == name).Value;

    static byte[] Idx(int magic, int[] dims, byte[] values)
    {
        var bytes = new byte[4 + 4 * dims.Length + values.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        values.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    /// <summary>Both splits: <paramref name="n"/> 2x2 images whose pixels are 10 * label, labels i % 10.</summary>
    static string WriteFour(string folder, int n = 3, bool onlyTrain = false)
    {
        Directory.CreateDirectory(folder);
        var labels = Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
        var pixels = labels.SelectMany(l => Enumerable.Repeat((byte)(10 * l), 4)).ToArray();
        foreach (var split in onlyTrain ? ["train"] : new[] { "train", "t10k" })
        {
            File.WriteAllBytes(Path.Combine(folder, $"{split}-images-idx3-ubyte"), Idx(2051, [n, 2, 2], pixels));
            File.WriteAllBytes(Path.Combine(folder, $"{split}-labels-idx1-ubyte"), Idx(2049, [n], labels));
        }
        return Path.GetFullPath(folder);
    }

    [Fact]
    public void Find_FolderGiven_IsTheOneRead()
    {
        using var dir = new TempFolder();
        var folder = WriteFour(dir.File("digits"), n: 3);
        Assert.Equal(folder, Mnist.Find(folder, Variables((Mnist.FolderVariable, "/elsewhere"))));   // the argument wins

        var test = new Mnist(Mnist.Find(folder, NoVariables), train: false);
        Assert.Equal(new long[] { 0, 1, 2 }, test.Labels.ToArray<long>());
        Assert.Equal(20f / 255f, test.Images[2].ToArray<float>()[0]);
    }

    [Fact]
    public void Find_FolderVariable_IsUsedWhenNoFolderIsGiven_AndWinsOverTheDataVariable()
    {
        using var dir = new TempFolder();
        var named = WriteFour(dir.File("named"));
        WriteFour(dir.File("root/mnist"));
        Assert.Equal(named, Mnist.Find(null, Variables((Mnist.FolderVariable, named), (Mnist.DataVariable, dir.File("root")))));
    }

    [Fact]
    public void Find_DataVariable_LooksInItsMnistSubfolder()
    {
        using var dir = new TempFolder();
        var folder = WriteFour(dir.File("datasets/mnist"));
        Assert.Equal(folder, Mnist.Find(null, Variables((Mnist.DataVariable, dir.File("datasets")))));
    }

    [Fact]
    public void Find_NothingSet_FallsBackToTheShippedMini()
    {
        var found = Mnist.Find(null, NoVariables, AppContext.BaseDirectory);
        Assert.Equal(Mnist.FindMini(AppContext.BaseDirectory), found);
        Assert.EndsWith(Path.Combine("data", "mnist-mini"), found);
    }

    [Fact]
    public void Find_FolderLackingFiles_NamesTheMissingOnesAndWhereToGetThem()
    {
        using var dir = new TempFolder();
        var folder = WriteFour(dir.File("half"), onlyTrain: true);
        var e = Assert.Throws<DirectoryNotFoundException>(() => Mnist.Find(folder, NoVariables));
        Assert.Contains("the folder given to Mnist.Find lacks t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]", e.Message);
        Assert.Contains(folder, e.Message);
        Assert.Contains("train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte", e.Message);
        Assert.Contains(Mnist.DefaultMirror, e.Message);
    }

    [Fact]
    public void Find_VariableNamingAMissingFolder_IsAnError_NotASilentFallback()
    {
        using var dir = new TempFolder();
        var missing = dir.File("nowhere");
        var e = Assert.Throws<DirectoryNotFoundException>(() => Mnist.Find(null, Variables((Mnist.FolderVariable, missing)), AppContext.BaseDirectory));
        Assert.Contains($"METAGRAD_MNIST names {missing}, and it does not exist", e.Message);

        var root = Assert.Throws<DirectoryNotFoundException>(() => Mnist.Find(null, Variables((Mnist.DataVariable, dir.Path)), AppContext.BaseDirectory));
        Assert.Contains($"METAGRAD_DATA is {dir.Path}, so Mnist is read from its mnist subfolder, and that does not exist", root.Message);
    }

    [Fact]
    public void Find_NowhereToLook_SaysEveryPlaceTheNamesAndThatNothingIsDownloaded()
    {
        using var dir = new TempFolder();
        var e = Assert.Throws<DirectoryNotFoundException>(() => Mnist.Find(null, NoVariables, dir.Path));
        Assert.Contains("the environment variable METAGRAD_MNIST (not set)", e.Message);
        Assert.Contains("METAGRAD_DATA/mnist (METAGRAD_DATA not set)", e.Message);
        Assert.Contains($"data/mnist-mini, shipped in the MetaGrad repository, in {dir.Path} and every folder above (none)", e.Message);
        Assert.Contains("t10k-labels-idx1-ubyte", e.Message);
        Assert.Contains("Nothing is downloaded unless you ask: Mnist.Download(folder)", e.Message);
    }

    [Fact]
    public void FashionMnist_Find_UsesItsOwnVariableAndSubfolder_AndHasNoMini()
    {
        using var dir = new TempFolder();
        var named = WriteFour(dir.File("fashion"));
        Assert.Equal(named, FashionMnist.Find(null, Variables((FashionMnist.FolderVariable, named), (Mnist.FolderVariable, "/not/this"))));
        var sub = WriteFour(dir.File("datasets/fashion-mnist"));
        Assert.Equal(sub, FashionMnist.Find(null, Variables((Mnist.DataVariable, dir.File("datasets")))));

        var e = Assert.Throws<DirectoryNotFoundException>(() => FashionMnist.Find(null, NoVariables));
        Assert.Contains("METAGRAD_FASHION_MNIST (not set)", e.Message);
        Assert.DoesNotContain("mnist-mini", e.Message);
        Assert.Contains(FashionMnist.DefaultMirror, e.Message);
    }
}

/// <summary>The real environment variable, set in this process: alone, after the parallel tests.</summary>
[Collection(ProcessWideState.Name)]
public class MnistFindEnvironmentTests
{
    [Fact]
    public void Find_ReadsMetagradMnistFromTheEnvironment()
    {
        using var dir = new TempFolder();
        foreach (var name in Mnist.FileNames) File.WriteAllBytes(dir.File(name + ".gz"), []);
        var before = Environment.GetEnvironmentVariable(Mnist.FolderVariable);
        try
        {
            Environment.SetEnvironmentVariable(Mnist.FolderVariable, dir.Path);
            Assert.Equal(Path.GetFullPath(dir.Path), Mnist.Find());
        }
        finally
        {
            Environment.SetEnvironmentVariable(Mnist.FolderVariable, before);
        }
    }
}
