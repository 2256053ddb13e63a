using System.CommandLine;

namespace MetaGrad.Examples;

/// <summary>
/// The options every word-vector command takes (epochs, vector size, learning rate, seed, queries,
/// output folder, data file) and what each does once parsed: load the corpus, check the queries,
/// train, print each query's neighbours and where the vectors went.
/// </summary>
public sealed class WordVectorOptions
{
    public readonly Option<int> Epochs, Dim;
    public readonly Option<double> Lr;
    public readonly Option<ulong> Seed;
    readonly Option<string> _queries, _output;
    readonly Option<string?> _data;

    /// <param name="name">The command's name, also the default output folder out/&lt;name&gt;.</param>
    /// <param name="epochs">Default passes over the training data.</param>
    /// <param name="dim">Default vector size.</param>
    /// <param name="lr">Default learning rate.</param>
    /// <param name="optimizer">The optimizer's name, for the learning rate's help.</param>
    public WordVectorOptions(string name, int epochs, int dim, double lr, string optimizer)
    {
        Epochs = new Option<int>("--epochs") { Description = "Passes over the training data", DefaultValueFactory = _ => epochs };
        Dim = new Option<int>("--dim") { Description = "Vector size", DefaultValueFactory = _ => dim };
        Lr = new Option<double>("--lr") { Description = $"{optimizer}'s learning rate", DefaultValueFactory = _ => lr };
        Seed = new Option<ulong>("--seed") { Description = "Seed of the initial vectors, the shuffling and any sampling", DefaultValueFactory = _ => 0 };
        _queries = new Option<string>("--queries") { Description = "Characters whose nearest neighbours are printed", DefaultValueFactory = _ => CharacterVectors.DefaultQueries };
        _output = new Option<string>("--output") { Description = "Folder for vectors.safetensors", DefaultValueFactory = _ => Path.Combine("out", name) };
        _data = new Option<string?>("--data") { Description = "The tang300.txt file [default: the shipped data/tang300/tang300.txt]" };
        OptionRules.Positive(Epochs, Dim);
        OptionRules.Positive(Lr);
    }

    /// <summary>A command with these options and the command's own <paramref name="extra"/> ones.</summary>
    public Command Command(string name, string description, params Option[] extra)
    {
        var command = new Command(name, description) { Epochs, Dim, Lr, Seed, _queries, _output, _data };
        foreach (var option in extra) command.Options.Add(option);
        return command;
    }

    /// <summary>
    /// Loads the corpus and checks the queries (1 on a failure, reported on standard error), then runs
    /// <paramref name="train"/> (given the corpus, the queries and the output folder) and prints its neighbours.
    /// </summary>
    public int Run(ParseResult parse, Func<TangCorpus, string, string, WordVectorResult> train)
    {
        if (TangCorpus.LoadOrReport(parse.GetValue(_data)) is not { } corpus) return 1;
        var queries = parse.GetValue(_queries)!;
        if (queries.FirstOrDefault(c => !corpus.Ids.ContainsKey(c)) is var missing and not '\0')
        {
            Console.Error.WriteLine($"--queries: {missing} is not in the corpus");
            return 1;
        }
        var result = train(corpus, queries, parse.GetValue(_output)!);
        foreach (var (query, neighbours) in result.Neighbours) Console.WriteLine($"{query}: {string.Join(' ', neighbours.ToCharArray())}");
        Console.WriteLine($"vectors saved to {result.SavedPath}");
        return 0;
    }
}
