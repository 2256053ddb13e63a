using MetaGrad.IO;

namespace MetaGrad.Data;

/// <summary>
/// The MNIST handwritten digits (torchvision.datasets.MNIST), read from the four standard IDX files
/// in a folder, gzip-compressed or not: train-images-idx3-ubyte, train-labels-idx1-ubyte,
/// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally with .gz). Item i is
/// { image [1, H, W] Float32 in [0, 1], label 0-d Int64 }; the whole split is also
/// <see cref="Images"/> [N, 1, H, W] and <see cref="Labels"/> [N], for batching by IndexSelect.
/// </summary>
/// <remarks>
/// The repository ships 10,000 real digits (8,000 train, 2,000 test) in data/mnist-mini, found by
/// <see cref="FindMini()"/>. Files that are truncated, swapped, foreign or of mismatched counts are
/// refused with an <see cref="InvalidDataException"/> that names the file.
/// </remarks>
public partial class Mnist : Dataset<Tensor[]>
{
    /// <summary>Mean of the full MNIST training pixels (after scaling to [0, 1]), for <see cref="Normalize"/>.</summary>
    public const double Mean = 0.1307;

    /// <summary>Standard deviation of the full MNIST training pixels.</summary>
    public const double Std = 0.3081;

    /// <summary>Where <see cref="Download"/> fetches the files by default (the mirror torchvision uses).</summary>
    public const string DefaultMirror = "https://ossci-datasets.s3.amazonaws.com/mnist/";

    /// <summary>The four files, without the .gz suffix.</summary>
    public static IReadOnlyList<string> FileNames { get; } =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    const int ImagesMagic = 2051, LabelsMagic = 2049;   // unsigned bytes in 3 dims, in 1 dim
    const int ClassCount = 10;                            // MNIST and Fashion-MNIST alike

    /// <param name="folder">The folder holding the IDX files.</param>
    /// <param name="train">The training split (else the test split, t10k).</param>
    /// <param name="transform">Applied once to all images [N, 1, H, W] after scaling to [0, 1], e.g. <see cref="Normalize"/>.</param>
    public Mnist(string folder, bool train = true, Func<Tensor, Tensor>? transform = null)
    {
        Folder = folder;
        Train = train;
        string prefix = train ? "train" : "t10k";
        var imageFile = Locate(folder, $"{prefix}-images-idx3-ubyte");
        var labelFile = Locate(folder, $"{prefix}-labels-idx1-ubyte");
        var images = Idx.Read(imageFile, ImagesMagic, "images");
        var labels = Idx.Read(labelFile, LabelsMagic, "labels");
        int n = images.Dims[0], height = images.Dims[1], width = images.Dims[2];
        if (labels.Dims[0] != n)
            throw new InvalidDataException($"{labelFile}: expected {n} labels, one per image in {imageFile}, found {labels.Dims[0]}");

        var pixels = new float[images.Data.Length];
        var bytes = images.Data.Span;
        for (int i = 0; i < pixels.Length; i++) pixels[i] = bytes[i] / 255f;   // as torchvision's ToTensor
        var classes = new long[n];
        var labelBytes = labels.Data.Span;
        for (int i = 0; i < n; i++)
        {
            if (labelBytes[i] >= ClassCount)
                throw new InvalidDataException($"{labelFile}: expected labels 0 to {ClassCount - 1}, found {labelBytes[i]} at position {i}");
            classes[i] = labelBytes[i];
        }

        var all = Tensor.From(pixels, [n, 1, height, width]);
        Images = transform is null ? all : transform(all);
        if (Images.NDim == 0 || Images.Shape[0] != n)
            throw new ArgumentException($"Mnist: the transform must keep one image per row ({n}), but it returned shape [{string.Join(", ", Images.Shape)}]");
        Labels = Tensor.From(classes, [n]);
    }

    /// <summary>The folder the files were read from.</summary>
    public string Folder { get; }

    /// <summary>Whether this is the training split.</summary>
    public bool Train { get; }

    /// <summary>All images, [N, 1, H, W] (after the transform).</summary>
    public Tensor Images { get; }

    /// <summary>All labels, [N] Int64.</summary>
    public Tensor Labels { get; }

    /// <summary>The class names, indexed by label.</summary>
    public virtual IReadOnlyList<string> Classes { get; } =
        ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"];

    /// <inheritdoc/>
    public override int Count => Labels.Shape[0];

    /// <inheritdoc/>
    public override Tensor[] this[int index]
    {
        get
        {
            CheckIndex(index);
            return [Images[index], Labels[index]];
        }
    }

    /// <summary>(x - 0.1307) / 0.3081, the usual normalisation of MNIST pixels; pass it as the transform.</summary>
    public static Tensor Normalize(Tensor images) => (images - Mean) / Std;

    static string Locate(string folder, string name)
    {
        var plain = Path.Combine(folder, name);
        if (File.Exists(plain)) return plain;
        if (File.Exists(plain + ".gz")) return plain + ".gz";
        throw new FileNotFoundException($"Mnist: found neither {name} nor {name}.gz in {Path.GetFullPath(folder)}; Mnist.Download(folder) fetches the files", plain);
    }

    /// <summary>
    /// The folder data/mnist-mini shipped with MetaGrad, searched for upwards from the program's
    /// folder and then from the current directory.
    /// </summary>
    public static string FindMini() => FindMini(AppContext.BaseDirectory, Environment.CurrentDirectory);

    internal static string FindMini(params string[] starts)
    {
        foreach (var start in starts)
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "data", "mnist-mini");
                if (File.Exists(Path.Combine(candidate, "train-images-idx3-ubyte.gz"))) return candidate;
            }
        throw new DirectoryNotFoundException(
            $"Mnist.FindMini: looked for data/mnist-mini (with train-images-idx3-ubyte.gz) in {string.Join(", ", starts)} and every folder above, and found none. " +
            "The folder ships in the MetaGrad repository: run from inside a clone, copy data/mnist-mini beside your program, " +
            "or pass a folder of the four MNIST files to new Mnist(folder) (Mnist.Download(folder) fetches them)");
    }

    /// <summary>
    /// Downloads the four gzip files into <paramref name="folder"/> (made if missing), skipping files
    /// already there. Each file is checked as IDX before it is written, and written atomically.
    /// </summary>
    /// <param name="folder">Where the files go.</param>
    /// <param name="baseUrl">A folder URL holding the .gz files; <see cref="DefaultMirror"/> unless given.</param>
    public static void Download(string folder, string baseUrl = DefaultMirror) => DownloadFiles(folder, baseUrl);

    private protected static void DownloadFiles(string folder, string baseUrl)
    {
        Directory.CreateDirectory(folder);
        using var http = new HttpClient();
        foreach (var name in FileNames)
        {
            var target = Path.Combine(folder, name + ".gz");
            if (File.Exists(target) || File.Exists(Path.Combine(folder, name))) continue;
            var url = baseUrl.TrimEnd('/') + "/" + name + ".gz";
            byte[] bytes;
            try
            {
                bytes = http.GetByteArrayAsync(url).GetAwaiter().GetResult();
            }
            catch (HttpRequestException e)
            {
                throw new HttpRequestException($"Mnist.Download: fetching {url} failed: {e.Message}", e, e.StatusCode);
            }
            // A mirror can answer with an error page: check the contents before they replace anything.
            bool images = name.Contains("images");
            Idx.Parse(bytes, url, images ? ImagesMagic : LabelsMagic, images ? "images" : "labels");
            AtomicFile.Write(target, s => s.Write(bytes));
        }
    }
}

/// <summary>
/// Fashion-MNIST (torchvision.datasets.FashionMNIST): 28x28 grey images of ten kinds of clothing,
/// in the same four IDX files as MNIST, so it reads, validates and batches the same way.
/// </summary>
public sealed partial class FashionMnist(string folder, bool train = true, Func<Tensor, Tensor>? transform = null) : Mnist(folder, train, transform)
{
    /// <summary>Mean of the Fashion-MNIST training pixels in [0, 1].</summary>
    public new const double Mean = 0.2860;

    /// <summary>Standard deviation of the Fashion-MNIST training pixels.</summary>
    public new const double Std = 0.3530;

    /// <summary>Where <see cref="Download"/> fetches the files by default (the dataset authors' bucket).</summary>
    public new const string DefaultMirror = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Classes { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>(x - 0.2860) / 0.3530, the usual normalisation of Fashion-MNIST pixels.</summary>
    public new static Tensor Normalize(Tensor images) => (images - Mean) / Std;

    /// <inheritdoc cref="Mnist.Download"/>
    public new static void Download(string folder, string baseUrl = DefaultMirror) => DownloadFiles(folder, baseUrl);
}
