using MetaGrad.NN;

namespace MetaGrad.Examples;

/// <summary>A greedy translation of a batch: each output's ids (its end token included, when it ended), each output's summed log-probability, and the attention weights [N, T, S].</summary>
public sealed record GreedyTranslation(long[][] Outputs, double[] LogProbabilities, Tensor Weights);

/// <summary>
/// What the dates example asks of a translator, so that the GRU with attention and the Transformer
/// train and decode through one loop: batches of source ids [N, S] padded with
/// <see cref="CharVocabulary.Pad"/>, with each source's length (the GRU packs by it; the
/// Transformer reads the padding from the ids), and targets framed by start and end.
/// </summary>
public interface ISequenceTranslator
{
    /// <summary>Teacher forcing: logits [N, T, V] for the framed targets [N, T + 1], each step reading the true previous token.</summary>
    Tensor Forward(Tensor source, int[] lengths, Tensor target);

    /// <summary>Greedy decoding of a batch, up to <paramref name="maxLength"/> tokens.</summary>
    GreedyTranslation Greedy(Tensor source, int[] lengths, int maxLength);

    /// <summary>Beam search for one source [1, S]: the finished hypotheses, best first.</summary>
    IReadOnlyList<Hypothesis> Beam(Tensor source, int length, int beamWidth, int maxLength);

    /// <summary>The trainable parameters (the model is a <see cref="Module"/>).</summary>
    IEnumerable<Parameter> Parameters(bool recurse = true);

    /// <summary>Training mode on or off (dropout).</summary>
    Module Train(bool mode = true);
}
