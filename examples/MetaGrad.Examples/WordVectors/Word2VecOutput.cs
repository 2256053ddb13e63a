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
    public Word2VecOutput(long[] counts, int dim, Objective objective, int negatives, Generator generator)
    {
        Vectors = Embedding.FromPretrained(Tensor.Zeros(counts.Length, dim), freeze: false);
        (_objective, _negatives, _generator) = (objective, negatives, generator);
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
