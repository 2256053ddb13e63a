using System.CommandLine;
using MetaGrad.NN;
using MetaGrad.Optim;
using static MetaGrad.Examples.CharacterVectors;

namespace MetaGrad.Examples;

/// <summary>
/// Character vectors by skip-gram (Mikolov et al. 2013): a centre character's vector u should predict
/// each character within the window of it, scored by the output vectors v (see <see cref="Word2VecOutput"/>):
/// by a full softmax over the vocabulary (the first word2vec model) or by negative sampling, where
/// u·v should be large for the true context and small for k characters drawn from unigram^0.75.
/// Trained on the clauses of tang300; prints the nearest neighbours of a few frequent characters and
/// saves both tables as safetensors.
/// </summary>
public static class SkipGramExample
{
    /// <summary>Three epochs over the pairs of the whole corpus, batches of 512.</summary>
    public static readonly Word2VecSettings Defaults = new();

    public static Command Command() => Defaults.Command("skipgram",
        "Character vectors of Tang verse by skip-gram (negative sampling or full softmax): nearest neighbours, saved as safetensors", Train);

    /// <summary>Trains as <paramref name="settings"/> say; saves to <paramref name="outputFolder"/>/vectors.safetensors unless it is null.</summary>
    public static WordVectorResult Train(TangCorpus corpus, Word2VecSettings settings, string queries = DefaultQueries,
        string? outputFolder = null, Action<string>? log = null)
    {
        var (clauses, counts) = Clauses(corpus, corpus.Poems.Take(settings.MaxPoems ?? int.MaxValue));
        var (centres, contexts) = Pairs(clauses, settings.Window);
        int vocabulary = corpus.Vocabulary.Length, dim = settings.Dim;

        var generator = new Generator(settings.Seed);
        // word2vec's initialisation: small uniform centre vectors (the output vectors start at zero).
        var centre = Embedding.FromPretrained((Tensor.Rand([vocabulary, dim], generator: generator) - 0.5) / dim, freeze: false);
        var output = new Word2VecOutput(counts, settings, generator);
        var optimizer = new Adam(centre.Parameters().Concat(output.Vectors.Parameters()), settings.Lr);
        log?.Invoke(Invariant($"{centres.Length:N0} (centre, context) pairs, window {settings.Window}, {settings.ObjectiveText}, {counts.Count(c => c > 0):N0} characters seen, vectors of {dim}"));

        var losses = Fit(centres.Length, settings.Epochs, settings.BatchSize, optimizer, generator, batch =>
            output.Loss(centre.Forward(Tensor.From(batch.Select(i => centres[i]).ToArray())),                  // u: [B, D]
                        Tensor.From(batch.Select(i => contexts[i]).ToArray())), log);

        var neighbours = Neighbours(corpus, centre.Weight, counts, settings.MinCount, queries);
        var saved = Save(outputFolder, corpus, new Dictionary<string, Tensor> { ["centre"] = centre.Weight, ["context"] = output.Vectors.Weight });
        return new WordVectorResult(losses, neighbours, saved);
    }
}
