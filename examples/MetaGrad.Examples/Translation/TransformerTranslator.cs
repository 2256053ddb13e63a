using MetaGrad.NN;

namespace MetaGrad.Examples;

/// <summary>The sizes of a <see cref="TransformerTranslator"/>.</summary>
/// <param name="Width">The model width (dModel); the feed-forward networks are four times as wide.</param>
/// <param name="Heads">Attention heads in every attention.</param>
/// <param name="Layers">Encoder layers, and as many decoder layers.</param>
/// <param name="MaxPositions">The longest source or target it will read.</param>
/// <param name="LearnedPositions">Positions from a trained embedding table rather than the fixed sinusoids.</param>
public sealed record TransformerShape(int Width, int Heads, int Layers, double Dropout, int MaxPositions, bool LearnedPositions = false);

/// <summary>
/// A Transformer encoder–decoder over token ids (torch.nn.Transformer's shape, post-norm, batch
/// first): source and target embeddings plus positions, the source's padding masked and the
/// target causal, and a linear layer over the target vocabulary. The numbers and the dates
/// examples share it: teacher forcing, greedy decoding of a batch, beam search through
/// <see cref="BeamSearch"/>, and the per-head attention of the last decoder layer over the source.
/// </summary>
public sealed class TransformerTranslator : Module, ISequenceTranslator
{
    readonly Embedding SourceEmbedding, TargetEmbedding;
    readonly Transformer Transformer;
    readonly Linear Output;
    readonly Embedding? Positions;
    readonly Tensor? _sinusoids;
    readonly long _pad, _start, _end;

    /// <summary>Vocabularies of the given sizes, whose padding, start and end tokens are <paramref name="pad"/>, <paramref name="start"/> and <paramref name="end"/>.</summary>
    public TransformerTranslator(int sourceVocabulary, int targetVocabulary, int pad, int start, int end, TransformerShape shape, Generator? generator = null)
    {
        (_pad, _start, _end) = (pad, start, end);
        SourceEmbedding = new Embedding(sourceVocabulary, shape.Width, paddingIdx: pad, generator: generator);
        TargetEmbedding = new Embedding(targetVocabulary, shape.Width, paddingIdx: pad, generator: generator);
        Transformer = new Transformer(shape.Width, shape.Heads, shape.Layers, shape.Layers, 4 * shape.Width, shape.Dropout, batchFirst: true, generator: generator);
        Output = new Linear(shape.Width, targetVocabulary, generator: generator);
        if (shape.LearnedPositions) Positions = new Embedding(shape.MaxPositions, shape.Width, generator: generator);
        else _sinusoids = Functional.SinusoidalPositionalEncoding(shape.MaxPositions, shape.Width);
    }

    // ids [N, L] at positions first..first+L.
    Tensor Embed(Embedding table, Tensor ids, int first = 0)
    {
        int length = ids.Shape[1];
        return table.Forward(ids) + (Positions is null ? _sinusoids![first..(first + length)] : Positions.Forward(Tensor.Arange(first, first + length, dtype: DType.Int64)));
    }

    /// <summary>The encoder's output [N, S, E] for source ids [N, S]: computed once, read by every decoding step.</summary>
    public Tensor Encode(Tensor source) => Transformer.Encoder.Forward(Embed(SourceEmbedding, source), srcKeyPaddingMask: source == (double)_pad);

    /// <summary>Logits [N, T, V] of the token after each of target's [N, T], the decoder reading the encoded <paramref name="source"/>.</summary>
    public Tensor Decode(Tensor memory, Tensor source, Tensor target)
    {
        var causal = Transformer.GenerateSquareSubsequentMask(target.Shape[1]);
        var y = Transformer.Decoder.Forward(Embed(TargetEmbedding, target), memory, tgtMask: causal, tgtKeyPaddingMask: target == (double)_pad,
            memoryKeyPaddingMask: source == (double)_pad, tgtIsCausal: true);
        return Output.Forward(y);
    }

    /// <summary>Teacher forcing: logits [N, T, V] for every target position, each reading the true tokens before it.</summary>
    public Tensor Forward(Tensor source, Tensor target) => Decode(Encode(source), source, target);

    /// <summary>
    /// Greedy decoding of a batch [N, S]: each output up to and including its end token, and its
    /// summed log-probability. Each step feeds only the newest token through the decoder, whose
    /// caches hold the earlier positions' keys and values (and which of them are padding) and the
    /// memory's projections: the same choices as <see cref="Decode"/> on the whole prefix.
    /// </summary>
    public (long[][] Outputs, double[] LogProbabilities) Greedy(Tensor source, int maxLength)
    {
        using var _ = Autograd.NoGrad();
        Eval();
        var memory = Encode(source);
        var sourcePadding = source == (double)_pad;
        var cache = Transformer.Decoder.NewCache();
        return BeamSearch.GreedyBatch(source.Shape[0], _start, _end, maxLength, last =>
        {
            var ids = last.Unsqueeze(1);
            var y = Transformer.Decoder.ForwardCached(Embed(TargetEmbedding, ids, cache.Length), memory, cache, sourcePadding, tgtKeyPaddingMask: ids == (double)_pad);
            return Output.Forward(y)[.., ^1].LogSoftmax(-1);
        });
    }

    /// <summary>
    /// Beam search for one source [1, S]: the live hypotheses are the rows of one batch through the
    /// decoder's caches, each step feeding every live hypothesis's newest token, and the caches keep
    /// the rows of the hypotheses that survive it (<see cref="TransformerDecoderCache.Reorder"/>).
    /// The finished hypotheses, best first.
    /// </summary>
    public IReadOnlyList<Hypothesis> Beam(Tensor source, int width, int maxLength)
    {
        using var _ = Autograd.NoGrad();
        Eval();
        var memory = Encode(source);
        int s = source.Shape[1], e = memory.Shape[2];
        var sourcePadding = source == (double)_pad;
        (float[][], TransformerDecoderCache) Step(TransformerDecoderCache cache, long[] last)
        {
            int n = last.Length;
            var ids = Tensor.From(last, [n, 1]);
            var y = Transformer.Decoder.ForwardCached(Embed(TargetEmbedding, ids, cache.Length), memory.Expand(n, s, e), cache,
                sourcePadding.Expand(n, s), tgtKeyPaddingMask: ids == (double)_pad);
            var logProbabilities = Output.Forward(y)[.., ^1].LogSoftmax(-1).ToArray<float>();
            int vocabulary = logProbabilities.Length / n;
            return ([.. Enumerable.Range(0, n).Select(i => logProbabilities.AsSpan(i * vocabulary, vocabulary).ToArray())], cache);
        }
        return BeamSearch.Search(Transformer.Decoder.NewCache(), _start, _end, width, maxLength, Step, (cache, parents) =>
        {
            cache.Reorder(Tensor.From(parents.Select(p => (long)p).ToArray(), [parents.Length]));
            return cache;
        });
    }

    /// <summary>
    /// Where each head of the last decoder layer looks in the source, [N, H, T, S], while the decoder
    /// reads <paramref name="target"/> [N, T] (start token first): row t is the attention that
    /// chooses the token after target[t]. Padding columns are 0; each row sums to 1.
    /// </summary>
    public Tensor CrossAttentionWeights(Tensor source, Tensor target)
    {
        using var _ = Autograd.NoGrad();
        Eval();
        var memory = Encode(source);
        var sourcePadding = source == (double)_pad;
        var targetPadding = target == (double)_pad;
        var causal = Transformer.GenerateSquareSubsequentMask(target.Shape[1]);
        var layers = Transformer.Decoder.Layers;
        var x = Embed(TargetEmbedding, target);
        for (int i = 0; i < layers.Count - 1; i++)
            x = layers[i].Forward(x, memory, causal, tgtKeyPaddingMask: targetPadding, memoryKeyPaddingMask: sourcePadding, tgtIsCausal: true);
        // The layer's Forward asks its attention for no weights, so its first half is run here by hand:
        // post-norm (as built above), the cross-attention's query is norm1(x + self-attention(x)).
        var last = layers[^1];
        var attended = last.SelfAttn.Forward(x, x, x, targetPadding, needWeights: false, attnMask: causal, isCausal: true).Output;
        var query = last.Norm1.Forward(x + attended);
        return last.MultiheadAttn.Forward(query, memory, memory, sourcePadding, needWeights: true, averageAttnWeights: false).Weights!;
    }

    Tensor ISequenceTranslator.Forward(Tensor source, int[] lengths, Tensor target) => Forward(source, target[.., ..^1]);

    GreedyTranslation ISequenceTranslator.Greedy(Tensor source, int[] lengths, int maxLength)
    {
        var (outputs, logProbabilities) = Greedy(source, maxLength);
        // The attention the text grid and the GRU's picture show: the last layer's, averaged over heads.
        int longest = outputs.Max(o => o.Length);
        var framed = new long[outputs.Length * longest];
        for (int i = 0; i < outputs.Length; i++)
        {
            framed[i * longest] = _start;
            outputs[i].AsSpan(0, Math.Min(outputs[i].Length, longest - 1)).CopyTo(framed.AsSpan(i * longest + 1));
        }
        var weights = CrossAttentionWeights(source, Tensor.From(framed, [outputs.Length, longest])).Mean([1]);
        return new GreedyTranslation(outputs, logProbabilities, weights);
    }

    IReadOnlyList<Hypothesis> ISequenceTranslator.Beam(Tensor source, int length, int beamWidth, int maxLength) => Beam(source, beamWidth, maxLength);
}
