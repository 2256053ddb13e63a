using MetaGrad.NN;
using MetaGrad.NN.Utils;

namespace MetaGrad.Examples;

/// <summary>
/// A batch of sources as the decoder reads them: encoder outputs (the attention's keys and values),
/// the same projected for the attention's scores (once, not at every step), the padding mask, the
/// decoder's first state.
/// </summary>
public sealed record EncodedSource(Tensor Keys, Tensor ProjectedKeys, Tensor Mask, Tensor Hidden)
{
    /// <summary>The rows of <paramref name="rows"/>, in that order (a source repeated once per hypothesis of a beam).</summary>
    public EncodedSource Rows(Tensor rows) =>
        new(Keys.IndexSelect(0, rows), ProjectedKeys.IndexSelect(0, rows), Mask.IndexSelect(0, rows), Hidden.IndexSelect(0, rows));
}

/// <summary>
/// An attentional encoder-decoder at the character level (Bahdanau, Cho and Bengio 2015): a
/// bidirectional GRU reads the embedded source (packed, so the backward direction starts at each
/// source's own last character, not in its padding); its last states, through a tanh layer, start a
/// GRU cell that writes the target one character at a time. Before each step the decoder's state
/// attends over the encoder outputs (additive attention; padding masked out), and the cell reads
/// the previous character's embedding with that context; the output layer scores the next
/// character from the new state, the context and the previous character.
/// </summary>
public sealed class DateTranslator : Module, ISequenceTranslator
{
    readonly Embedding _sourceEmbedding;
    readonly GRU _encoder;
    readonly Linear _bridge;
    readonly Embedding _targetEmbedding;
    readonly BahdanauAttention _attention;
    readonly GRUCell _decoder;
    readonly Linear _output;

    public int TargetVocabulary { get; }

    public DateTranslator(int sourceVocabulary, int targetVocabulary, int embedding, int encoderHidden, int decoderHidden, int attentionHidden,
        Generator? generator = null)
    {
        TargetVocabulary = targetVocabulary;
        _sourceEmbedding = new Embedding(sourceVocabulary, embedding, paddingIdx: CharVocabulary.Pad, generator: generator);
        _encoder = new GRU(embedding, encoderHidden, batchFirst: true, bidirectional: true, generator: generator);
        _bridge = new Linear(2 * encoderHidden, decoderHidden, generator: generator);
        _targetEmbedding = new Embedding(targetVocabulary, embedding, generator: generator);
        _attention = new BahdanauAttention(decoderHidden, 2 * encoderHidden, attentionHidden, generator: generator);
        _decoder = new GRUCell(embedding + 2 * encoderHidden, decoderHidden, generator: generator);
        _output = new Linear(decoderHidden + 2 * encoderHidden + embedding, targetVocabulary, generator: generator);
    }

    /// <summary>Encodes source ids [N, S] (padded with <see cref="CharVocabulary.Pad"/>) whose true lengths are <paramref name="lengths"/>.</summary>
    public EncodedSource Encode(Tensor source, int[] lengths)
    {
        var packed = Rnn.PackPaddedSequence(_sourceEmbedding.Forward(source), lengths, batchFirst: true, enforceSorted: false);
        var (output, h) = _encoder.Forward(packed);
        var (keys, _) = Rnn.PadPackedSequence(output, batchFirst: true, totalLength: source.Shape[1]);      // [N, S, 2H]
        // h is [2, N, H]: the forward direction after the last character, the backward one after the first.
        var hidden = _bridge.Forward(Tensor.Cat([h.Select(0, 0), h.Select(0, 1)], 1)).Tanh();
        return new EncodedSource(keys, _attention.ProjectKeys(keys), source != CharVocabulary.Pad, hidden);
    }

    /// <summary>One decoder step for a batch: logits [N, V] of the next token after <paramref name="previous"/> [N], the new state [N, Hd], and the attention weights [N, S].</summary>
    public (Tensor Logits, Tensor Hidden, Tensor Weights) Step(EncodedSource source, Tensor hidden, Tensor previous)
    {
        var embedded = _targetEmbedding.Forward(previous);                                              // [N, E]
        var (context, weights) = _attention.Forward(hidden, source.Keys, source.Mask, source.ProjectedKeys);  // [N, 2H], [N, S]
        var next = _decoder.Forward(Tensor.Cat([embedded, context], 1), hidden);
        return (_output.Forward(Tensor.Cat([next, context, embedded], 1)), next, weights);
    }

    /// <summary>
    /// Teacher forcing: logits [N, T, V] for the targets [N, T + 1] framed by start and end, each
    /// step reading the true previous character (not the model's own guess).
    /// </summary>
    public Tensor Forward(Tensor source, int[] lengths, Tensor target)
    {
        var encoded = Encode(source, lengths);
        var hidden = encoded.Hidden;
        var logits = new Tensor[target.Shape[1] - 1];
        for (int t = 0; t < logits.Length; t++)
            (logits[t], hidden, _) = Step(encoded, hidden, target.Select(1, t));
        return Tensor.Stack(logits, 1);
    }

    /// <summary>Greedy decoding of a whole batch at once, up to <paramref name="maxLength"/> tokens (a row that has ended keeps stepping but is ignored).</summary>
    public GreedyTranslation Greedy(Tensor source, int[] lengths, int maxLength)
    {
        using var _ = Autograd.NoGrad();
        var encoded = Encode(source, lengths);
        var hidden = encoded.Hidden;
        var weights = new List<Tensor>();
        var (outputs, scores) = BeamSearch.GreedyBatch(source.Shape[0], CharVocabulary.Start, CharVocabulary.End, maxLength, previous =>
        {
            (var logits, hidden, var w) = Step(encoded, hidden, previous);
            weights.Add(w);
            return logits.LogSoftmax(1);
        });
        return new GreedyTranslation(outputs, scores, Tensor.Stack([.. weights], 1));
    }

    /// <summary>
    /// Beam search for one source [1, S]: the hypotheses of the beam are the rows of one batch, so a
    /// step costs one decoder call whatever the width. Returns the finished hypotheses, best first.
    /// </summary>
    public IReadOnlyList<Hypothesis> Beam(Tensor source, int length, int beamWidth, int maxLength)
    {
        using var _ = Autograd.NoGrad();
        var encoded = Encode(source, [length]);
        var rowsOf = new Dictionary<int, EncodedSource> { [1] = encoded };
        EncodedSource Repeated(int rows)
        {
            if (!rowsOf.TryGetValue(rows, out var e))
                rowsOf[rows] = e = encoded.Rows(Tensor.Zeros([rows], DType.Int64));
            return e;
        }
        return BeamSearch.Search(encoded.Hidden, CharVocabulary.Start, CharVocabulary.End, beamWidth, maxLength,
            (hidden, last) =>
            {
                var (logits, next, _) = Step(Repeated(last.Length), hidden, Tensor.From(last, [last.Length]));
                var logProbabilities = logits.LogSoftmax(1).ToArray<float>();
                return ([.. Enumerable.Range(0, last.Length).Select(i => logProbabilities[(i * TargetVocabulary)..((i + 1) * TargetVocabulary)])], next);
            },
            (hidden, rows) => hidden.IndexSelect(0, Tensor.From(rows.Select(r => (long)r).ToArray(), [rows.Length])));
    }
}
