namespace MetaGrad.Examples;

/// <summary>
/// The verses of data/tang300 as character ids: each poem's verse lines (its title and author dropped),
/// every line ending in a newline, so a newline also marks where a poem may begin.
/// </summary>
public sealed class TangCorpus
{
    /// <summary>The line break that ends every verse line and opens every poem.</summary>
    public const char LineBreak = '\n';

    public TangCorpus(IReadOnlyList<string> poems)
    {
        Poems = poems;
        // The vocabulary spans every poem, held-out ones included, so evaluation meets no unknown character.
        Vocabulary = [.. poems.SelectMany(p => p).Append(LineBreak).Distinct().Order()];
        Ids = Vocabulary.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
    }

    /// <summary>Each poem's verses, one line each, every line ending in <see cref="LineBreak"/>.</summary>
    public IReadOnlyList<string> Poems { get; }

    /// <summary>The distinct characters, in code-point order; a character's id is its position.</summary>
    public char[] Vocabulary { get; }

    public Dictionary<char, int> Ids { get; }

    /// <summary>The poems, in order, as one stream of ids.</summary>
    public long[] Encode(IEnumerable<string> poems) => [.. poems.SelectMany(p => p).Select(c => (long)Ids[c])];

    /// <summary>Reads the tang300 format: a title line 《…》, an author line 作者：…, the verses; poems separated by a line holding only %.</summary>
    public static TangCorpus Load(string path)
    {
        var poems = new List<string>();
        var verses = new List<string>();
        foreach (var raw in File.ReadLines(path).Append("%"))
        {
            var line = raw.Trim();
            if (line == "%")
            {
                if (verses.Count > 0) poems.Add(string.Concat(verses.Select(v => v + LineBreak)));
                verses.Clear();
            }
            else if (line.Length > 0 && !line.StartsWith('《') && !line.StartsWith("作者："))
                verses.Add(line);
        }
        if (poems.Count == 0) throw new InvalidDataException($"{path}: no poems found");
        return new TangCorpus(poems);
    }

    /// <summary>
    /// Loads the given file, or the shipped one when null, for a command line: a missing or foreign
    /// file is reported on standard error and gives null, so the command can exit with 1.
    /// </summary>
    public static TangCorpus? LoadOrReport(string? path)
    {
        try
        {
            return Load(path ?? FindShipped());
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            Console.Error.WriteLine(e.Message);
            return null;
        }
    }

    /// <summary>data/tang300/tang300.txt in the nearest folder above the program or the working directory.</summary>
    public static string FindShipped()
    {
        var starts = new[] { AppContext.BaseDirectory, Environment.CurrentDirectory };
        foreach (var start in starts)
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "data", "tang300", "tang300.txt");
                if (File.Exists(candidate)) return candidate;
            }
        throw new FileNotFoundException($"no data/tang300/tang300.txt above {starts[0]} or {starts[1]}");
    }
}
