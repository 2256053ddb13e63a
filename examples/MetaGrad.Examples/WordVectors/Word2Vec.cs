using System.CommandLine;
using MetaGrad.NN;

namespace MetaGrad.Examples;

/// <summary>How word2vec turns a score of every character into a loss.</summary>
public enum Objective
{
    /// <summary>The target against k characters drawn from the noise distribution: cheap, the one word2vec is known by.</summary>
    Negative,
    /// <summary>The full softmax over the vocabulary: the first word2vec model, exact and V times dearer per example.</summary>
    Softmax,
}

/// <summary>A run of skip-gram or CBOW: vector size, window, objective, optimizer, and how much of the corpus.</summary>
public sealed record Word2VecSettings
{
    public int Dim { get; init; } = 64;
    /// <summary>Context characters on each side of the centre, within one clause.</summary>
    public int Window { get; init; } = 2;
    public Objective Objective { get; init; } = Objective.Negative;
    /// <summary>Negative samples per prediction.</summary>
    public int Negatives { get; init; } = 5;
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 512;
    /// <summary>Adam's learning rate.</summary>
    public double Lr { get; init; } = 1e-2;
    public ulong Seed { get; init; } = 0;
    /// <summary>Only characters seen at least this often are offered as neighbours: rarer ones have noisy vectors.</summary>
    public int MinCount { get; init; } = 5;
    /// <summary>Train on the first this-many poems only (null: all), for quick runs.</summary>
    public int? MaxPoems { get; init; }

    /// <summary>"full softmax" or "k negatives", for the log.</summary>
    public string ObjectiveText => Objective == Objective.Softmax ? "full softmax" : $"{Negatives} negatives";

    /// <summary>
    /// The command of a word2vec model: the shared options, --objective, and <paramref name="train"/>
    /// (as the model's Train: corpus, settings, queries, output folder, log) run with these defaults overridden.
    /// </summary>
    public Command Command(string name, string description,
        Func<TangCorpus, Word2VecSettings, string, string?, Action<string>?, WordVectorResult> train)
    {
        var options = new WordVectorOptions(name, Epochs, Dim, Lr, "Adam");
        var objective = new Option<Objective>("--objective") { Description = "negative: negative sampling; softmax: the full softmax over the vocabulary", DefaultValueFactory = _ => Objective };
        var command = options.Command(name, description, objective);
        command.SetAction(parse => options.Run(parse, (corpus, queries, output) => train(corpus,
            this with { Epochs = parse.GetValue(options.Epochs), Dim = parse.GetValue(options.Dim), Lr = parse.GetValue(options.Lr), Seed = parse.GetValue(options.Seed), Objective = parse.GetValue(objective) },
            queries, output, Console.WriteLine)));
        return command;
    }
}

/// <summary>
/// word2vec's output side, shared by skip-gram and CBOW: a table of output vectors v that scores a
/// target character t given a hidden vector h (skip-gram: the centre character's vector; CBOW: the
/// mean of the context's vectors). The table starts at zero, as word2vec's syn1 and syn1neg, so
/// every score starts at 0 and the first loss is fixed:
/// <code>
/// softmax:            loss = -log( exp(h·v_t) / Σ_c exp(h·v_c) )           starts at log V
/// negative sampling:  loss = -log σ(h·v_t) - Σ_{n=1..k} log σ(-h·v_n)      starts at (1 + k)·log 2
/// </code>
/// The k negatives come from the unigram distribution raised to 3/4 (Mikolov et al. 2013), which
/// gives rare characters more negatives than their share.
/// </summary>
public sealed class Word2VecOutput
{
    /// <summary>The output vectors [V, dim], zero at the start.</summary>
    public readonly Embedding Vectors;
    readonly Objective _objective;
    readonly int _negatives;
    readonly Tensor _noise;
    readonly Generator _generator;

    /// <param name="counts">How often each character occurs: the noise distribution is counts^0.75.</param>
    public Word2VecOutput(long[] counts, Word2VecSettings settings, Generator generator)
    {
        Vectors = Embedding.FromPretrained(Tensor.Zeros(counts.Length, settings.Dim), freeze: false);
        (_objective, _negatives, _generator) = (settings.Objective, settings.Negatives, generator);
        _noise = Tensor.From(counts.Select(c => (float)Math.Pow(c, 0.75)).ToArray());
    }

    /// <summary>The mean loss of predicting <paramref name="targets"/> [B] from <paramref name="hidden"/> [B, dim].</summary>
    public Tensor Loss(Tensor hidden, Tensor targets)
    {
        if (_objective == Objective.Softmax)
            return Losses.CrossEntropy(hidden.Matmul(Vectors.Weight.T), targets);                         // scores [B, V]
        int batch = hidden.Shape[0];
        var negatives = _noise.Multinomial(batch * _negatives, replacement: true, generator: _generator).Reshape(batch, _negatives);
        var positive = Functional.LogSigmoid((hidden * Vectors.Forward(targets)).Sum(1));
        var negative = Functional.LogSigmoid(-(Vectors.Forward(negatives) * hidden.Unsqueeze(1)).Sum(2)).Sum(1);   // [B, k, dim] → [B]
        return -(positive + negative).Mean();
    }
}
