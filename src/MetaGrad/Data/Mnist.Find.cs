namespace MetaGrad.Data;

public partial class Mnist
{
    /// <summary>The environment variable naming a folder that holds the four MNIST files.</summary>
    public const string FolderVariable = "METAGRAD_MNIST";

    /// <summary>
    /// The environment variable naming a folder of datasets, one subfolder each: MNIST in
    /// <c>mnist</c>, Fashion-MNIST in <c>fashion-mnist</c>.
    /// </summary>
    public const string DataVariable = "METAGRAD_DATA";

    /// <summary>
    /// The folder to read MNIST from, for programs that run outside the MetaGrad repository (from a
    /// NuGet package): <paramref name="folder"/> when given, else the folder in
    /// <c>METAGRAD_MNIST</c>, else <c>$METAGRAD_DATA/mnist</c>, else the repository's data/mnist-mini
    /// (<see cref="FindMini()"/>). Nothing is downloaded: when no place holds the files, the
    /// exception says where MetaGrad looked, which files it expects and where to get them.
    /// </summary>
    /// <param name="folder">A folder holding the four files, each plain or gzipped.</param>
    /// <exception cref="DirectoryNotFoundException">No place holds the files, or the one named lacks some.</exception>
    /// <example><c>var train = new Mnist(Mnist.Find(), train: true);</c>, run as <c>METAGRAD_MNIST=~/data/mnist dotnet run</c>.</example>
    public static string Find(string? folder = null) =>
        Find(folder, Environment.GetEnvironmentVariable, AppContext.BaseDirectory, Environment.CurrentDirectory);

    internal static string Find(string? folder, Func<string, string?> environment, params string[] miniStarts) =>
        FindDataset(Places, folder, environment, miniStarts);

    /// <summary>Where a dataset in MNIST's four files is looked for, and what a user is told about it (Title: the class's name).</summary>
    private protected sealed record DatasetPlaces(string Title, string Variable, string Subfolder, string Mirror, string DownloadCall, bool HasMini);

    static readonly DatasetPlaces Places = new("Mnist", FolderVariable, "mnist", DefaultMirror, "Mnist.Download(folder)", HasMini: true);

    /// <summary>Finds the folder of a dataset; <paramref name="environment"/> and <paramref name="miniStarts"/> are seams for tests.</summary>
    private protected static string FindDataset(DatasetPlaces data, string? folder, Func<string, string?> environment, params string[] miniStarts)
    {
        if (folder is not null) return Checked(data, folder, $"the folder given to {data.Title}.Find");
        if (environment(data.Variable) is { Length: > 0 } named) return Checked(data, named, $"{data.Variable} names {named}, and it");
        if (environment(DataVariable) is { Length: > 0 } root)
            return Checked(data, Path.Combine(root, data.Subfolder), $"{DataVariable} is {root}, so {data.Title} is read from its {data.Subfolder} subfolder, and that");
        if (data.HasMini)
        {
            try
            {
                return FindMini(miniStarts);
            }
            catch (DirectoryNotFoundException) { }
        }
        throw new DirectoryNotFoundException(
            $"{data.Title}.Find: no folder holds the {data.Title} files. Looked for: a folder passed to {data.Title}.Find(folder); " +
            $"the environment variable {data.Variable} (not set); {DataVariable}/{data.Subfolder} ({DataVariable} not set)" +
            (data.HasMini ? $"; data/mnist-mini, shipped in the MetaGrad repository, in {string.Join(" and ", miniStarts)} and every folder above (none)" : "") +
            $". {Expected(data)} Nothing is downloaded unless you ask: {data.DownloadCall} fetches them once into a folder you choose.");
    }

    static string Expected(DatasetPlaces data) =>
        $"A {data.Title} folder holds the four IDX files {string.Join(", ", FileNames)} (each may be gzipped, with .gz added), " +
        $"as published at {data.Mirror}; set {data.Variable}=/path/to/that/folder or pass the folder.";

    static string Checked(DatasetPlaces data, string folder, string how)
    {
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"{data.Title}.Find: {how} does not exist ({full}). {Expected(data)}");
        var missing = FileNames.Where(n => !File.Exists(Path.Combine(full, n)) && !File.Exists(Path.Combine(full, n + ".gz"))).ToList();
        if (missing.Count > 0)
            throw new DirectoryNotFoundException($"{data.Title}.Find: {how} lacks {string.Join(", ", missing.Select(m => $"{m}[.gz]"))} ({full}). {Expected(data)}");
        return full;
    }
}

public sealed partial class FashionMnist
{
    /// <summary>The environment variable naming a folder that holds the four Fashion-MNIST files.</summary>
    public new const string FolderVariable = "METAGRAD_FASHION_MNIST";

    static readonly DatasetPlaces Places = new("FashionMnist", FolderVariable, "fashion-mnist", DefaultMirror, "FashionMnist.Download(folder)", HasMini: false);

    /// <summary>
    /// The folder to read Fashion-MNIST from: <paramref name="folder"/> when given, else the folder in
    /// <c>METAGRAD_FASHION_MNIST</c>, else <c>$METAGRAD_DATA/fashion-mnist</c>. Nothing is downloaded;
    /// the exception says where MetaGrad looked and which files it expects.
    /// </summary>
    /// <inheritdoc cref="Mnist.Find(string?)"/>
    public new static string Find(string? folder = null) =>
        FindDataset(Places, folder, Environment.GetEnvironmentVariable);

    internal static string Find(string? folder, Func<string, string?> environment) => FindDataset(Places, folder, environment);
}
