using System.CommandLine;
using MetaGrad.NN;
using MetaGrad.Optim;
using static MetaGrad.Examples.CharacterVectors;

namespace MetaGrad.Examples;

/// <summary>A run of GloVe: vector size, window, weighting, optimizer, and how much of the corpus.</summary>
public sealed record GloveSettings
{
    public int Dim { get; init; } = 64;
    /// <summary>Context characters on each side, within one clause; a pair d apart adds 1/d to their count.</summary>
    public int Window { get; init; } = 4;
    /// <summary>The count from which a pair has full weight. The paper's 100 suits billions of words; tang300's counts are small.</summary>
    public double XMax { get; init; } = 10;
    public int Epochs { get; init; } = 15;   // the neighbours hardly change after this; the loss creeps on as the tables memorise X
    public int BatchSize { get; init; } = 512;
    /// <summary>Adagrad's learning rate: the paper's 0.05.</summary>
    public double Lr { get; init; } = 0.05;
    public ulong Seed { get; init; } = 0;
    /// <summary>Only characters seen at least this often are offered as neighbours: rarer ones have noisy vectors.</summary>
    public int MinCount { get; init; } = 5;
    /// <summary>Train on the first this-many poems only (null: all), for quick runs.</summary>
    public int? MaxPoems { get; init; }
}

/// <summary>
/// Character vectors by GloVe (Pennington, Socher and Manning 2014): rather than predicting contexts
/// one window at a time, fit the whole co-occurrence matrix X at once. Each nonzero entry asks
/// <code>
/// w_i·w̃_j + b_i + b̃_j ≈ log X_ij,   loss = mean over the entries of f(X_ij)·(w_i·w̃_j + b_i + b̃_j - log X_ij)²
/// f(x) = min(1, (x / x_max)^0.75)
/// </code>
/// so that ratios of co-occurrence become differences of vectors. f damps the many rare, noisy
/// pairs and caps the frequent ones; zero entries (log 0) are never visited. X counts a pair d
/// characters apart as 1/d, as the paper's window does. Trained, as the paper, by Adagrad over the
/// nonzero entries in shuffled minibatches; the vector of a character is w + w̃, the paper's
/// choice (the two tables see the same data from either side, and their sum is a little better
/// than either).
/// </summary>
public static class GloveExample
{
    public static Command Command()
    {
        var d = new GloveSettings();
        var options = new WordVectorOptions("glove", d.Epochs, d.Dim, d.Lr, "Adagrad");
        var xMax = new Option<double>("--x-max") { Description = "Count from which a pair has full weight in the loss", DefaultValueFactory = _ => d.XMax };
        OptionRules.Positive(xMax);
        var command = options.Command("glove", "Character vectors of Tang verse by GloVe (weighted least squares on log co-occurrence counts): nearest neighbours, saved as safetensors", xMax);
        command.SetAction(parse => options.Run(parse, (corpus, queries, output) => Train(corpus,
            d with { Epochs = parse.GetValue(options.Epochs), Dim = parse.GetValue(options.Dim), Lr = parse.GetValue(options.Lr), Seed = parse.GetValue(options.Seed), XMax = parse.GetValue(xMax) },
            queries, output, Console.WriteLine)));
        return command;
    }

    /// <summary>Trains as <paramref name="settings"/> say; saves to <paramref name="outputFolder"/>/vectors.safetensors unless it is null.</summary>
    public static WordVectorResult Train(TangCorpus corpus, GloveSettings settings, string queries = DefaultQueries,
        string? outputFolder = null, Action<string>? log = null)
    {
        var (clauses, counts) = Clauses(corpus, corpus.Poems.Take(settings.MaxPoems ?? int.MaxValue));
        var entries = Cooccurrences(clauses, settings.Window).ToArray();
        var rows = entries.Select(e => e.Key.Row).ToArray();
        var columns = entries.Select(e => e.Key.Column).ToArray();
        var logX = Tensor.From(entries.Select(e => (float)Math.Log(e.Value)).ToArray());
        var f = Tensor.From(entries.Select(e => (float)Weighting(e.Value, settings.XMax)).ToArray());
        int vocabulary = corpus.Vocabulary.Length, dim = settings.Dim;

        var generator = new Generator(settings.Seed);
        // The paper starts every table small and uniform; here, as in skip-gram, only w does and w̃ and the
        // biases start at zero: symmetry is still broken, and every prediction starts at 0, so the first
        // loss is mean f(X)·(log X)².
        var w = new Parameter((Tensor.Rand([vocabulary, dim], generator: generator) - 0.5) / dim);
        var wTilde = new Parameter(Tensor.Zeros(vocabulary, dim));
        var b = new Parameter(Tensor.Zeros(vocabulary));
        var bTilde = new Parameter(Tensor.Zeros(vocabulary));
        var optimizer = new Adagrad([w, wTilde, b, bTilde], settings.Lr);
        log?.Invoke(Invariant($"{entries.Length:N0} nonzero co-occurrence counts, window {settings.Window} weighted 1/distance, x_max {settings.XMax}, {counts.Count(c => c > 0):N0} characters seen, vectors of {dim}"));

        var losses = Fit(entries.Length, settings.Epochs, settings.BatchSize, optimizer, generator, batch =>
        {
            var i = Tensor.From(batch.Select(k => rows[k]).ToArray());
            var j = Tensor.From(batch.Select(k => columns[k]).ToArray());
            var at = Tensor.From(batch.Select(k => (long)k).ToArray());
            var prediction = (w.IndexSelect(0, i) * wTilde.IndexSelect(0, j)).Sum(1) + b.IndexSelect(0, i) + bTilde.IndexSelect(0, j);
            var error = prediction - logX.IndexSelect(0, at);
            return (f.IndexSelect(0, at) * error * error).Mean();
        }, log);

        var vectors = (w + wTilde).Detach();
        var neighbours = Neighbours(corpus, vectors, counts, settings.MinCount, queries);
        var saved = Save(outputFolder, corpus, new Dictionary<string, Tensor> { ["vectors"] = vectors });
        return new WordVectorResult(losses, neighbours, saved);
    }

    /// <summary>
    /// X: for every two characters of a clause d ≤ <paramref name="window"/> apart, 1/d added to X[a, b]
    /// and to X[b, a] (the window looks both ways, so X is symmetric). Only the nonzero entries, in the
    /// order first met.
    /// </summary>
    public static Dictionary<(long Row, long Column), double> Cooccurrences(IEnumerable<long[]> clauses, int window)
    {
        var x = new Dictionary<(long, long), double>();
        foreach (var clause in clauses)
            for (int i = 0; i < clause.Length; i++)
                for (int j = i + 1; j <= Math.Min(clause.Length - 1, i + window); j++)
                {
                    double weight = 1.0 / (j - i);
                    x[(clause[i], clause[j])] = x.GetValueOrDefault((clause[i], clause[j])) + weight;
                    x[(clause[j], clause[i])] = x.GetValueOrDefault((clause[j], clause[i])) + weight;
                }
        return x;
    }

    /// <summary>GloVe's f(x) = min(1, (x / x_max)^α): rare pairs count for little, none for more than 1.</summary>
    public static double Weighting(double x, double xMax, double alpha = 0.75) => x < xMax ? Math.Pow(x / xMax, alpha) : 1;
}
