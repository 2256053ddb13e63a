using System.Globalization;
using MetaGrad.Data;
using MetaGrad.IO;
using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Examples;

/// <summary>What a word-vector run gives: the loss of every step, each query's nearest characters by cosine similarity, and the saved file (if any).</summary>
public sealed record WordVectorResult(double[] Losses, IReadOnlyDictionary<char, string> Neighbours, string? SavedPath);

/// <summary>
/// What the word-vector examples (skip-gram, CBOW, GloVe) share: the corpus cut into clauses, the
/// (centre, context) pairs within them, the minibatch training loop, the nearest neighbours of a
/// character, and saving the vectors. A clause is a run of Chinese characters: punctuation and line
/// breaks end one, and no window looks across them, since a clause of five or seven characters is
/// the verse's unit of sense.
/// </summary>
public static class CharacterVectors
{
    /// <summary>Characters whose neighbours the commands print unless told otherwise: mountain, moon, wind, spring.</summary>
    public const string DefaultQueries = "山月风春";

    /// <summary>The clauses of <paramref name="poems"/> as ids, and how often each character of the vocabulary occurs in them.</summary>
    public static (List<long[]> Clauses, long[] Counts) Clauses(TangCorpus corpus, IEnumerable<string> poems)
    {
        var clauses = new List<long[]>();
        var counts = new long[corpus.Vocabulary.Length];
        var clause = new List<long>();
        foreach (var c in poems.SelectMany(p => p).Append(TangCorpus.LineBreak))
        {
            if (char.GetUnicodeCategory(c) == UnicodeCategory.OtherLetter)
            {
                clause.Add(corpus.Ids[c]);
                counts[corpus.Ids[c]]++;
            }
            else if (clause.Count > 0)
            {
                clauses.Add([.. clause]);
                clause.Clear();
            }
        }
        return (clauses, counts);
    }

    /// <summary>Each character of every clause with every other within <paramref name="window"/> of it: skip-gram's training pairs.</summary>
    public static (long[] Centres, long[] Contexts) Pairs(IEnumerable<long[]> clauses, int window)
    {
        var centres = new List<long>();
        var contexts = new List<long>();
        foreach (var clause in clauses)
            for (int i = 0; i < clause.Length; i++)
                for (int j = Math.Max(0, i - window); j <= Math.Min(clause.Length - 1, i + window); j++)
                    if (j != i) { centres.Add(clause[i]); contexts.Add(clause[j]); }
        return ([.. centres], [.. contexts]);
    }

    /// <summary>For each query, the <paramref name="top"/> characters (seen at least <paramref name="minCount"/> times) of highest cosine similarity.</summary>
    public static Dictionary<char, string> Neighbours(TangCorpus corpus, Tensor vectors, long[] counts, int minCount, string queries, int top = 8)
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

    /// <summary>
    /// Writes <paramref name="tables"/> (each [vocabulary, dim]) to <paramref name="folder"/>/vectors.safetensors,
    /// the vocabulary in the metadata so that row i can be read back as a character; null when the folder is null.
    /// </summary>
    public static string? Save(string? folder, TangCorpus corpus, IReadOnlyDictionary<string, Tensor> tables)
    {
        if (folder is null) return null;
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "vectors.safetensors");
        Safetensors.Save(path, tables.ToDictionary(p => p.Key, p => p.Value.Detach()),
            new Dictionary<string, string> { ["vocabulary"] = new string(corpus.Vocabulary) });
        return path;
    }

    /// <summary>
    /// The training loop of all three: each epoch visits the <paramref name="examples"/> in a fresh random
    /// order, <paramref name="batchSize"/> at a time, one optimizer step on each batch's <paramref name="loss"/>;
    /// logs each epoch's mean loss and returns the loss of every step.
    /// </summary>
    public static double[] Fit(int examples, int epochs, int batchSize, Optimizer optimizer, Generator generator,
        Func<int[], Tensor> loss, Action<string>? log)
    {
        var losses = new List<double>();
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            int firstStep = losses.Count;
            foreach (var batch in new BatchSampler(new RandomSampler(examples, generator: generator), batchSize, dropLast: false))
            {
                var value = loss(batch);
                optimizer.ZeroGrad();
                value.Backward();
                optimizer.Step();
                losses.Add(value.Item<float>());
            }
            log?.Invoke(Invariant($"epoch {epoch}/{epochs}  mean loss {losses.Skip(firstStep).Average():F3}"));
        }
        return [.. losses];
    }

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
