using System.CommandLine;
using MetaGrad.NN;
using MetaGrad.Optim;
using static MetaGrad.Examples.CharacterVectors;

namespace MetaGrad.Examples;

/// <summary>
/// Character vectors by continuous bag of words (Mikolov et al. 2013), skip-gram's mirror image: the
/// mean h of the input vectors of the characters within the window (word order ignored, hence
/// "bag") predicts the centre character, scored by the output vectors as in skip-gram (negative
/// sampling or the full softmax, see <see cref="Word2VecOutput"/>). The mean of a bag is one
/// EmbeddingBag call over the contexts laid end to end and cut at their offsets. One example per
/// character rather than one per pair, so an epoch is a few times cheaper than skip-gram's; the
/// paper finds CBOW better at syntax and skip-gram at semantics.
/// </summary>
public static class CbowExample
{
    /// <summary>A third as many examples as skip-gram has pairs, so more epochs of smaller batches.</summary>
    public static readonly Word2VecSettings Defaults = new() { Epochs = 5, BatchSize = 256 };

    public static Command Command() => Defaults.Command("cbow",
        "Character vectors of Tang verse by CBOW (the context's mean vector predicts the centre): nearest neighbours, saved as safetensors", Train);

    /// <summary>Trains as <paramref name="settings"/> say; saves to <paramref name="outputFolder"/>/vectors.safetensors unless it is null.</summary>
    public static WordVectorResult Train(TangCorpus corpus, Word2VecSettings settings, string queries = DefaultQueries,
        string? outputFolder = null, Action<string>? log = null)
    {
        var (clauses, counts) = Clauses(corpus, corpus.Poems.Take(settings.MaxPoems ?? int.MaxValue));
        var (centres, contexts, starts) = Windows(clauses, settings.Window);
        int vocabulary = corpus.Vocabulary.Length, dim = settings.Dim;

        var generator = new Generator(settings.Seed);
        var input = new EmbeddingBag(vocabulary, dim, mode: "mean", generator: generator);
        Init.Uniform_(input.Weight, -0.5 / dim, 0.5 / dim, generator);                        // word2vec's small uniform input vectors
        var output = new Word2VecOutput(counts, settings, generator);
        var optimizer = new Adam(input.Parameters().Concat(output.Vectors.Parameters()), settings.Lr);
        log?.Invoke(Invariant($"{centres.Length:N0} centres with their contexts, window {settings.Window}, {settings.ObjectiveText}, {counts.Count(c => c > 0):N0} characters seen, vectors of {dim}"));

        var losses = Fit(centres.Length, settings.Epochs, settings.BatchSize, optimizer, generator, batch =>
        {
            // The batch's contexts end to end, each bag's offset where it starts.
            var ids = batch.SelectMany(i => contexts[(int)starts[i]..(int)starts[i + 1]]).ToArray();
            var offsets = new long[batch.Length];
            for (int b = 1; b < batch.Length; b++) offsets[b] = offsets[b - 1] + starts[batch[b - 1] + 1] - starts[batch[b - 1]];
            var h = input.Forward(Tensor.From(ids), Tensor.From(offsets));                           // [B, D], each bag's mean
            return output.Loss(h, Tensor.From(batch.Select(i => centres[i]).ToArray()));
        }, log);

        var neighbours = Neighbours(corpus, input.Weight, counts, settings.MinCount, queries);
        var saved = Save(outputFolder, corpus, new Dictionary<string, Tensor> { ["input"] = input.Weight, ["output"] = output.Vectors.Weight });
        return new WordVectorResult(losses, neighbours, saved);
    }

    /// <summary>
    /// Every character that has a context (another character within <paramref name="window"/> in its clause),
    /// its context's ids laid end to end: example i's context is contexts[starts[i]..starts[i + 1]].
    /// </summary>
    public static (long[] Centres, long[] Contexts, long[] Starts) Windows(IEnumerable<long[]> clauses, int window)
    {
        var centres = new List<long>();
        var contexts = new List<long>();
        var starts = new List<long> { 0 };
        foreach (var clause in clauses.Where(c => c.Length > 1))
            for (int i = 0; i < clause.Length; i++)
            {
                for (int j = Math.Max(0, i - window); j <= Math.Min(clause.Length - 1, i + window); j++)
                    if (j != i) contexts.Add(clause[j]);
                centres.Add(clause[i]);
                starts.Add(contexts.Count);
            }
        return ([.. centres], [.. contexts], [.. starts]);
    }
}
