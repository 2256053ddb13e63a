using System.CommandLine;
using System.Globalization;
using MetaGrad.Data;
using MetaGrad.IO;
using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Examples;

/// <summary>A run of skip-gram: vector size, window, negatives, optimizer, and how much of the corpus.</summary>
public sealed record SkipGramSettings
{
    public int Dim { get; init; } = 64;
    /// <summary>Context characters on each side of the centre, within one clause.</summary>
    public int Window { get; init; } = 2;
    /// <summary>Negative samples per (centre, context) pair.</summary>
    public int Negatives { get; init; } = 5;
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 512;
    public double Lr { get; init; } = 1e-2;
    public ulong Seed { get; init; } = 0;
    /// <summary>Only characters seen at least this often are offered as neighbours: rarer ones have noisy vectors.</summary>
    public int MinCount { get; init; } = 5;
    /// <summary>Train on the first this-many poems only (null: all), for quick runs.</summary>
    public int? MaxPoems { get; init; }
}

/// <summary>The loss of every step, each query's nearest characters by cosine similarity, and the saved file (if any).</summary>
public sealed record SkipGramResult(double[] Losses, IReadOnlyDictionary<char, string> Neighbours, string? SavedPath);

/// <summary>
/// Character vectors by skip-gram with negative sampling (Mikolov et al. 2013): a centre character's
/// vector u should have a large dot product with the context vector v of each character within the
/// window, and a small one with k characters drawn from the unigram distribution raised to 3/4:
/// loss = -log σ(u·v) - Σ log σ(-u·v_neg). Trained on the clauses of tang300; prints the nearest
/// neighbours of a few frequent characters and saves both tables as safetensors.
/// </summary>
public static class SkipGramExample
{
    public const string DefaultQueries = "山月风春";

    public static Command Command()
    {
        var d = new SkipGramSettings();
        var epochs = new Option<int>("--epochs") { Description = "Passes over the (centre, context) pairs", DefaultValueFactory = _ => d.Epochs };
        var dim = new Option<int>("--dim") { Description = "Vector size", DefaultValueFactory = _ => d.Dim };
        var lr = new Option<double>("--lr") { Description = "Adam's learning rate", DefaultValueFactory = _ => d.Lr };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the initial vectors, the shuffling and the negatives", DefaultValueFactory = _ => d.Seed };
        var queries = new Option<string>("--queries") { Description = "Characters whose nearest neighbours are printed", DefaultValueFactory = _ => DefaultQueries };
        var output = new Option<string>("--output") { Description = "Folder for vectors.safetensors", DefaultValueFactory = _ => Path.Combine("out", "skipgram") };
        var data = new Option<string?>("--data") { Description = "The tang300.txt file [default: the shipped data/tang300/tang300.txt]" };
        foreach (var option in new Option<int>[] { epochs, dim })
            option.Validators.Add(r => { if (r.GetValueOrDefault<int>() <= 0) r.AddError($"{option.Name} must be positive"); });
        lr.Validators.Add(r => { if (r.GetValueOrDefault<double>() <= 0) r.AddError("--lr must be positive"); });
        var command = new Command("skipgram", "Character vectors of Tang verse by skip-gram with negative sampling: nearest neighbours, saved as safetensors")
            { epochs, dim, lr, seed, queries, output, data };
        command.SetAction(parse =>
        {
            var settings = d with { Epochs = parse.GetValue(epochs), Dim = parse.GetValue(dim), Lr = parse.GetValue(lr), Seed = parse.GetValue(seed) };
            if (TangCorpus.LoadOrReport(parse.GetValue(data)) is not { } corpus) return 1;
            var wanted = parse.GetValue(queries)!;
            if (wanted.FirstOrDefault(c => !corpus.Ids.ContainsKey(c)) is var missing and not '\0')
            {
                Console.Error.WriteLine($"--queries: {missing} is not in the corpus");
                return 1;
            }
            var result = Train(corpus, settings, wanted, parse.GetValue(output), Console.WriteLine);
            foreach (var (query, neighbours) in result.Neighbours) Console.WriteLine($"{query}: {string.Join(' ', neighbours.ToCharArray())}");
            Console.WriteLine($"vectors saved to {result.SavedPath}");
            return 0;
        });
        return command;
    }

    /// <summary>Trains as <paramref name="settings"/> say; saves to <paramref name="outputFolder"/>/vectors.safetensors unless it is null.</summary>
    public static SkipGramResult Train(TangCorpus corpus, SkipGramSettings settings, string queries = DefaultQueries,
        string? outputFolder = null, Action<string>? log = null)
    {
        var poems = corpus.Poems.Take(settings.MaxPoems ?? int.MaxValue).ToList();
        var (centres, contexts, counts) = Pairs(corpus, poems, settings.Window);
        int vocabulary = corpus.Vocabulary.Length, dim = settings.Dim, k = settings.Negatives;
        // Mikolov's noise distribution: unigram^0.75 gives rare characters more negatives than their share.
        var noise = Tensor.From(counts.Select(c => (float)Math.Pow(c, 0.75)).ToArray());

        var generator = new Generator(settings.Seed);
        // word2vec's initialisation: small uniform centre vectors, zero context vectors (so every score starts at 0).
        var centre = Embedding.FromPretrained((Tensor.Rand([vocabulary, dim], generator: generator) - 0.5) / dim, freeze: false);
        var context = Embedding.FromPretrained(Tensor.Zeros(vocabulary, dim), freeze: false);
        var optimizer = new Adam(centre.Parameters().Concat(context.Parameters()), settings.Lr);
        log?.Invoke(Invariant($"{centres.Length:N0} (centre, context) pairs, window {settings.Window}, {k} negatives, {counts.Count(c => c > 0):N0} characters seen, vectors of {dim}"));

        var losses = new List<double>();
        for (int epoch = 1; epoch <= settings.Epochs; epoch++)
        {
            int firstStep = losses.Count;
            foreach (var batch in new BatchSampler(new RandomSampler(centres.Length, generator: generator), settings.BatchSize, dropLast: false))
            {
                var u = centre.Forward(Tensor.From(batch.Select(i => centres[i]).ToArray()));                        // [B, D]
                var v = context.Forward(Tensor.From(batch.Select(i => contexts[i]).ToArray()));                      // [B, D]
                var negatives = noise.Multinomial(batch.Length * k, replacement: true, generator: generator).Reshape(batch.Length, k);
                var vNeg = context.Forward(negatives);                                                                // [B, k, D]
                var positive = Functional.LogSigmoid((u * v).Sum(1));
                var negative = Functional.LogSigmoid(-(vNeg * u.Unsqueeze(1)).Sum(2)).Sum(1);
                var loss = -(positive + negative).Mean();
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
                losses.Add(loss.Item<float>());
            }
            log?.Invoke(Invariant($"epoch {epoch}/{settings.Epochs}  mean loss {losses.Skip(firstStep).Average():F3}"));
        }

        var neighbours = Neighbours(corpus, centre.Weight, counts, settings.MinCount, queries, 8);
        string? saved = null;
        if (outputFolder is not null)
        {
            Directory.CreateDirectory(outputFolder);
            saved = Path.Combine(outputFolder, "vectors.safetensors");
            Safetensors.Save(saved, new Dictionary<string, Tensor> { ["centre"] = centre.Weight.Detach(), ["context"] = context.Weight.Detach() },
                new Dictionary<string, string> { ["vocabulary"] = new string(corpus.Vocabulary) });
        }
        return new SkipGramResult([.. losses], neighbours, saved);
    }

    /// <summary>
    /// Each Chinese character with every other within <paramref name="window"/> of it in the same clause
    /// (punctuation and line breaks end a clause), and how often each character occurs.
    /// </summary>
    static (long[] Centres, long[] Contexts, long[] Counts) Pairs(TangCorpus corpus, IEnumerable<string> poems, int window)
    {
        var centres = new List<long>();
        var contexts = new List<long>();
        var counts = new long[corpus.Vocabulary.Length];
        var clause = new List<long>();
        void Flush()
        {
            for (int i = 0; i < clause.Count; i++)
                for (int j = Math.Max(0, i - window); j <= Math.Min(clause.Count - 1, i + window); j++)
                    if (j != i) { centres.Add(clause[i]); contexts.Add(clause[j]); }
            clause.Clear();
        }
        foreach (var c in poems.SelectMany(p => p))
        {
            if (char.GetUnicodeCategory(c) != UnicodeCategory.OtherLetter) { Flush(); continue; }
            clause.Add(corpus.Ids[c]);
            counts[corpus.Ids[c]]++;
        }
        Flush();
        return ([.. centres], [.. contexts], counts);
    }

    /// <summary>For each query, the <paramref name="top"/> characters (seen at least <paramref name="minCount"/> times) of highest cosine similarity.</summary>
    static Dictionary<char, string> Neighbours(TangCorpus corpus, Tensor vectors, long[] counts, int minCount, string queries, int top)
    {
        using var _ = Autograd.NoGrad();
        var unit = Functional.Normalize(vectors);                                                  // rows of length 1: dot product = cosine
        var eligible = Tensor.From(counts.Select(c => c >= minCount ? 1f : 0f).ToArray()) > 0f;
        var result = new Dictionary<char, string>();
        foreach (var query in queries.Distinct())
        {
            var similarity = unit.Matmul(unit[corpus.Ids[query]]);                                  // [V]
            similarity = Tensor.Where(eligible, similarity, Tensor.From(-2f));                      // below any cosine
            var (_, indices) = similarity.TopK(top + 1);
            result[query] = new string([.. indices.ToArray<long>().Select(i => corpus.Vocabulary[i]).Where(c => c != query).Take(top)]);
        }
        return result;
    }

    static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
