using MetaGrad.NN;

namespace MetaGrad.Examples;

/// <summary>
/// A decoder-only character Transformer (GPT's shape): token and learned position embeddings,
/// pre-norm Transformer layers with a causal mask (each position sees itself and what came
/// before), a final LayerNorm and a linear head over the characters. (Tying the head to the token
/// embedding, as GPT-2 does, was tried: held-out perplexity 524 at best against 462 untied.)
/// </summary>
public sealed class CharGpt : Module, ICharModel
{
    readonly Embedding TokenEmbedding, PositionEmbedding;
    readonly ModuleList<TransformerEncoderLayer> Blocks;
    readonly LayerNorm Norm;
    readonly Linear Head;
    readonly int _context;
    readonly double _dropout;
    readonly Generator _generator;
    readonly Tensor _causal;

    public CharGpt(int vocabulary, int width, int layers, int heads, int context, double dropout, Generator generator)
    {
        (_context, _dropout, _generator) = (context, dropout, generator);
        TokenEmbedding = new Embedding(vocabulary, width, generator: generator);
        PositionEmbedding = new Embedding(context, width, generator: generator);
        Blocks = new ModuleList<TransformerEncoderLayer>([.. Enumerable.Range(0, layers).Select(_ =>
            new TransformerEncoderLayer(width, heads, dimFeedforward: 4 * width, dropout: dropout, activation: "gelu", batchFirst: true, normFirst: true, generator: generator))]);
        Norm = new LayerNorm(width);
        Head = new Linear(width, vocabulary, generator: generator);
        _causal = Transformer.GenerateSquareSubsequentMask(context);
    }

    IEnumerable<Tensor> ICharModel.Parameters() => Parameters();

    /// <summary>Logits [N·L, V] for ids [N, L] (L ≤ the context).</summary>
    public Tensor Forward(Tensor ids, bool training = false)
    {
        if (training) Train(); else Eval();
        int length = ids.Shape[1];
        var x = TokenEmbedding.Forward(ids) + PositionEmbedding.Forward(Tensor.Arange(length, dtype: DType.Int64));
        x = Functional.Dropout(x, _dropout, training, _generator);
        var mask = _causal[..length, ..length];
        foreach (var block in Blocks) x = block.Forward(x, mask, isCausal: true);
        return Head.Forward(Norm.Forward(x)).Reshape(-1, Head.Weight.Shape[0]);
    }

    /// <summary>
    /// Verses sampled a character at a time with a key/value cache per layer: each step runs the new
    /// character only. When the context is full, the caches are rebuilt from its second half.
    /// </summary>
    public string[] Verses(TangCorpus corpus, int chars, int lines, double temperature, int? topK, Generator generator)
    {
        using var _ = Autograd.NoGrad();
        Eval();
        var caches = NewCaches();
        var text = new List<long>();
        return VerseWriter.Write(corpus, chars, lines, temperature, topK, generator, id =>
        {
            text.Add(id);
            if (caches[0].Length < _context) return CachedStep(caches, id);
            foreach (var cache in caches) cache.Clear();
            Tensor logits = null!;
            foreach (var recent in text.Skip(text.Count - _context / 2)) logits = CachedStep(caches, recent);
            return logits;
        });
    }

    /// <summary>The next-character logits [1, V] after each of <paramref name="ids"/>, fed one at a time through the caches.</summary>
    public Tensor[] CachedLogits(long[] ids)
    {
        using var _ = Autograd.NoGrad();
        Eval();
        var caches = NewCaches();
        return [.. ids.Select(id => CachedStep(caches, id))];
    }

    KeyValueCache[] NewCaches() => [.. Enumerable.Range(0, Blocks.Count).Select(_ => new KeyValueCache())];

    // One new character at the next position, through every layer's cache.
    Tensor CachedStep(KeyValueCache[] caches, long id)
    {
        long position = caches[0].Length;
        var x = TokenEmbedding.Forward(Tensor.From(new[] { id }, [1, 1])) + PositionEmbedding.Forward(Tensor.From(new[] { position }, [1]));
        for (int i = 0; i < caches.Length; i++) x = Blocks[i].ForwardCached(x, caches[i]);
        return Head.Forward(Norm.Forward(x)).Reshape(1, -1);
    }
}
