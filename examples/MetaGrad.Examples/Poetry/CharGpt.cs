using MetaGrad.NN;

namespace MetaGrad.Examples;

/// <summary>
/// A decoder-only character Transformer (GPT's shape): token and learned position embeddings,
/// pre-norm Transformer layers with a causal mask (each position sees itself and what came
/// before), a final LayerNorm and a linear head over the characters. (Tying the head to the token
/// embedding, as GPT-2 does, was tried: held-out perplexity 524 at best against 462 untied.)
/// </summary>
internal sealed class CharGpt : Module, ICharModel
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

    /// <summary>Verses sampled a character at a time, the model re-reading the last context's worth of characters each time.</summary>
    public string[] Verses(TangCorpus corpus, int chars, int lines, double temperature, int? topK, Generator generator)
    {
        using var _ = Autograd.NoGrad();
        var text = new List<long>();
        return VerseWriter.Write(corpus, chars, lines, temperature, topK, generator, id =>
        {
            text.Add(id);
            var window = text.Skip(Math.Max(0, text.Count - _context)).ToArray();
            var logits = Forward(Tensor.From(window, [1, window.Length]));
            return logits[^1..];
        });
    }
}
