using System.CommandLine;
using MetaGrad.Data;
using MetaGrad.NN;
using MetaGrad.Optim;
using static MetaGrad.Examples.CharacterVectors;

namespace MetaGrad.Examples;

/// <summary>A run of skip-gram: vector size, window, objective, optimizer, and how much of the corpus.</summary>
public sealed record SkipGramSettings
{
    public int Dim { get; init; } = 64;
    /// <summary>Context characters on each side of the centre, within one clause.</summary>
    public int Window { get; init; } = 2;
    public Objective Objective { get; init; } = Objective.Negative;
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
    public static Command Command()
    {
        var d = new SkipGramSettings();
        var options = new WordVectorOptions("skipgram", d.Epochs, d.Dim, d.Lr, "Adam");
        var objective = new Option<Objective>("--objective") { Description = "negative: negative sampling; softmax: the full softmax over the vocabulary", DefaultValueFactory = _ => d.Objective };
        var command = options.Command("skipgram", "Character vectors of Tang verse by skip-gram (negative sampling or full softmax): nearest neighbours, saved as safetensors", objective);
        command.SetAction(parse => options.Run(parse, (corpus, queries, output) => Train(corpus,
            d with { Epochs = parse.GetValue(options.Epochs), Dim = parse.GetValue(options.Dim), Lr = parse.GetValue(options.Lr), Seed = parse.GetValue(options.Seed), Objective = parse.GetValue(objective) },
            queries, output, Console.WriteLine)));
        return command;
    }

    /// <summary>Trains as <paramref name="settings"/> say; saves to <paramref name="outputFolder"/>/vectors.safetensors unless it is null.</summary>
    public static WordVectorResult Train(TangCorpus corpus, SkipGramSettings settings, string queries = DefaultQueries,
        string? outputFolder = null, Action<string>? log = null)
    {
        var (clauses, counts) = Clauses(corpus, corpus.Poems.Take(settings.MaxPoems ?? int.MaxValue));
        var (centres, contexts) = Pairs(clauses, settings.Window);
        int vocabulary = corpus.Vocabulary.Length, dim = settings.Dim;

        var generator = new Generator(settings.Seed);
        // word2vec's initialisation: small uniform centre vectors (the output vectors start at zero).
        var centre = Embedding.FromPretrained((Tensor.Rand([vocabulary, dim], generator: generator) - 0.5) / dim, freeze: false);
        var output = new Word2VecOutput(counts, dim, settings.Objective, settings.Negatives, generator);
        var optimizer = new Adam(centre.Parameters().Concat(output.Vectors.Parameters()), settings.Lr);
        var objective = settings.Objective == Objective.Softmax ? "full softmax" : $"{settings.Negatives} negatives";
        log?.Invoke(Invariant($"{centres.Length:N0} (centre, context) pairs, window {settings.Window}, {objective}, {counts.Count(c => c > 0):N0} characters seen, vectors of {dim}"));

        var losses = new List<double>();
        for (int epoch = 1; epoch <= settings.Epochs; epoch++)
        {
            int firstStep = losses.Count;
            foreach (var batch in new BatchSampler(new RandomSampler(centres.Length, generator: generator), settings.BatchSize, dropLast: false))
            {
                var u = centre.Forward(Tensor.From(batch.Select(i => centres[i]).ToArray()));                        // [B, D]
                var loss = output.Loss(u, Tensor.From(batch.Select(i => contexts[i]).ToArray()));
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
                losses.Add(loss.Item<float>());
            }
            log?.Invoke(EpochLine(epoch, settings.Epochs, losses, firstStep));
        }

        var neighbours = Neighbours(corpus, centre.Weight, counts, settings.MinCount, queries);
        var saved = Save(outputFolder, corpus, new Dictionary<string, Tensor> { ["centre"] = centre.Weight, ["context"] = output.Vectors.Weight });
        return new WordVectorResult([.. losses], neighbours, saved);
    }
}
