namespace MetaGrad.NN;

/// <summary>What a Transformer layer is made of, kept so that a stack can make identical copies of it.</summary>
internal sealed record TransformerLayerConfig(int DModel, int NHead, int DimFeedforward, double Dropout, Func<Tensor, Tensor> Activation, string ActivationName,
    double LayerNormEps, bool BatchFirst, bool NormFirst, bool Bias, DType DType)
{
    public static Func<Tensor, Tensor> ActivationOf(string name) => name switch
    {
        "relu" => Functional.Relu,
        "gelu" => x => Functional.Gelu(x),
        _ => throw new ArgumentException($"Transformer: activation should be relu or gelu (or a function), not \"{name}\""),
    };
}

/// <summary>
/// What the encoder and decoder layers share: their configuration, attention (which keeps no
/// weights: the layer's attention modules are its own fields, in PyTorch's order), the
/// feed-forward block and dropout.
/// </summary>
public abstract class TransformerLayer : Module
{
    internal readonly TransformerLayerConfig Config;
    private protected readonly Generator? LayerGenerator;

    private protected TransformerLayer(TransformerLayerConfig config, Generator? generator) => (Config, LayerGenerator) = (config, generator);

    private protected MultiheadAttention NewAttention() =>
        new(Config.DModel, Config.NHead, Config.Dropout, Config.Bias, batchFirst: Config.BatchFirst, dtype: Config.DType, generator: LayerGenerator);

    private protected Linear NewLinear(int inFeatures, int outFeatures) => new(inFeatures, outFeatures, Config.Bias, Config.DType, LayerGenerator);

    private protected LayerNorm NewNorm() => new([Config.DModel], Config.LayerNormEps, bias: Config.Bias, dtype: Config.DType);

    // x attending to keys and values kv (x itself for self-attention), then dropout.
    private protected Tensor Attend(MultiheadAttention attention, Tensor x, Tensor kv, Tensor? mask, Tensor? padding, bool isCausal) =>
        Drop(attention.Call(x, kv, kv, padding, needWeights: false, attnMask: mask, isCausal: isCausal).Output);

    private protected Tensor FeedForward(Linear linear1, Linear linear2, Tensor x) => Drop(linear2.Call(Drop(Config.Activation(linear1.Call(x)))));

    private protected Tensor Drop(Tensor x) => Functional.Dropout(x, Config.Dropout, Training, LayerGenerator);

    // A new layer of the same configuration and the same parameter values (PyTorch's deep copy).
    private protected T Copied<T>(Func<TransformerLayerConfig, Generator?, T> make) where T : TransformerLayer
    {
        var copy = make(Config, LayerGenerator);
        copy.LoadStateDict(StateDict());
        return copy;
    }
}

/// <summary>
/// Self-attention then a feed-forward network, each with a residual connection and LayerNorm
/// (after by default, before with normFirst), as torch.nn.TransformerEncoderLayer, with its
/// parameter names (self_attn, linear1, linear2, norm1, norm2).
/// </summary>
public sealed class TransformerEncoderLayer : TransformerLayer
{
    readonly MultiheadAttention SelfAttn;
    readonly Linear Linear1, Linear2;
    readonly LayerNorm Norm1, Norm2;

    /// <summary>A layer of model width dModel and nhead heads; activation "relu" or "gelu".</summary>
    public TransformerEncoderLayer(int dModel, int nhead, int dimFeedforward = 2048, double dropout = 0.1, string activation = "relu",
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, bool bias = true, DType? dtype = null, Generator? generator = null)
        : this(new TransformerLayerConfig(dModel, nhead, dimFeedforward, dropout, TransformerLayerConfig.ActivationOf(activation), activation, layerNormEps,
            batchFirst, normFirst, bias, dtype ?? Tensor.DefaultDType), generator) { }

    /// <summary>A layer with the feed-forward activation given as a function.</summary>
    public TransformerEncoderLayer(int dModel, int nhead, Func<Tensor, Tensor> activation, int dimFeedforward = 2048, double dropout = 0.1,
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, bool bias = true, DType? dtype = null, Generator? generator = null)
        : this(new TransformerLayerConfig(dModel, nhead, dimFeedforward, dropout, activation, "custom", layerNormEps, batchFirst, normFirst, bias, dtype ?? Tensor.DefaultDType), generator) { }

    internal TransformerEncoderLayer(TransformerLayerConfig c, Generator? generator) : base(c, generator)
    {
        SelfAttn = NewAttention();
        Linear1 = NewLinear(c.DModel, c.DimFeedforward);
        Linear2 = NewLinear(c.DimFeedforward, c.DModel);
        Norm1 = NewNorm();
        Norm2 = NewNorm();
    }

    /// <summary>Forward inside the layer's hooks (PyTorch's <c>layer(src, ...)</c>); hooks see src.</summary>
    public Tensor Call(Tensor src, Tensor? srcMask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false) =>
        HasHooks ? CallWithHooks(src, x => Forward(x, srcMask, srcKeyPaddingMask, isCausal)) : Forward(src, srcMask, srcKeyPaddingMask, isCausal);

    /// <summary>
    /// The layer applied to src; srcMask and srcKeyPaddingMask as <see cref="MultiheadAttention.Forward"/>'s
    /// attnMask and keyPaddingMask.
    /// </summary>
    public Tensor Forward(Tensor src, Tensor? srcMask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false)
    {
        var x = src;
        if (Config.NormFirst)
        {
            var h = Norm1.Call(x);
            x = x + Attend(SelfAttn, h, h, srcMask, srcKeyPaddingMask, isCausal);
            return x + FeedForward(Linear1, Linear2, Norm2.Call(x));
        }
        x = Norm1.Call(x + Attend(SelfAttn, x, x, srcMask, srcKeyPaddingMask, isCausal));
        return Norm2.Call(x + FeedForward(Linear1, Linear2, x));
    }

    /// <summary>
    /// The layer on new positions only, their self-attention reading the earlier positions' keys and
    /// values from <paramref name="cache"/> (and adding theirs): with a causal model, the same outputs
    /// as <see cref="Forward"/> on the whole sequence gives at these positions. For generation, in eval mode.
    /// <paramref name="srcKeyPaddingMask"/> [N, L] flags the new positions that are padding (kept in the cache).
    /// </summary>
    public Tensor ForwardCached(Tensor src, KeyValueCache cache, Tensor? srcKeyPaddingMask = null)
    {
        var x = src;
        if (Config.NormFirst)
        {
            var h = Norm1.Call(x);
            x = x + SelfAttn.ForwardCached(h, h, h, cache, srcKeyPaddingMask);
            return x + FeedForward(Linear1, Linear2, Norm2.Call(x));
        }
        x = Norm1.Call(x + SelfAttn.ForwardCached(x, x, x, cache, srcKeyPaddingMask));
        return Norm2.Call(x + FeedForward(Linear1, Linear2, x));
    }

    internal TransformerEncoderLayer Copy() => Copied((c, g) => new TransformerEncoderLayer(c, g));
}

/// <summary>
/// Self-attention over the target, attention over the encoder's memory, then a feed-forward
/// network, each with a residual connection and LayerNorm (torch.nn.TransformerDecoderLayer:
/// self_attn, multihead_attn, linear1, linear2, norm1, norm2, norm3).
/// </summary>
public sealed class TransformerDecoderLayer : TransformerLayer
{
    // Public, as PyTorch's attributes are, so that a model can be taken apart where the layer's
    // Forward gives too little: the cross-attention's weights, which Forward drops, come from
    // calling multihead_attn with needWeights on the output of the self-attention block.

    /// <summary>The target's self-attention (self_attn).</summary>
    public readonly MultiheadAttention SelfAttn;
    /// <summary>The attention over the encoder's memory (multihead_attn).</summary>
    public readonly MultiheadAttention MultiheadAttn;
    /// <summary>The feed-forward network, dModel → dimFeedforward → dModel (linear1, linear2).</summary>
    public readonly Linear Linear1, Linear2;
    /// <summary>The norms after (or, with normFirst, before) the self-attention, the cross-attention and the feed-forward network (norm1, norm2, norm3).</summary>
    public readonly LayerNorm Norm1, Norm2, Norm3;

    /// <summary>A layer of model width dModel and nhead heads; activation "relu" or "gelu".</summary>
    public TransformerDecoderLayer(int dModel, int nhead, int dimFeedforward = 2048, double dropout = 0.1, string activation = "relu",
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, bool bias = true, DType? dtype = null, Generator? generator = null)
        : this(new TransformerLayerConfig(dModel, nhead, dimFeedforward, dropout, TransformerLayerConfig.ActivationOf(activation), activation, layerNormEps,
            batchFirst, normFirst, bias, dtype ?? Tensor.DefaultDType), generator) { }

    internal TransformerDecoderLayer(TransformerLayerConfig c, Generator? generator) : base(c, generator)
    {
        SelfAttn = NewAttention();
        MultiheadAttn = NewAttention();
        Linear1 = NewLinear(c.DModel, c.DimFeedforward);
        Linear2 = NewLinear(c.DimFeedforward, c.DModel);
        Norm1 = NewNorm();
        Norm2 = NewNorm();
        Norm3 = NewNorm();
    }

    /// <summary>Forward inside the module's hooks (PyTorch's <c>module(tgt, memory, ...)</c>); hooks see (tgt, memory).</summary>
    public Tensor Call(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false) =>
        HasHooks
            ? CallWithHooks((tgt, memory), p => Forward(p.Item1, p.Item2, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal))
            : Forward(tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal);

    /// <summary>The layer applied to tgt, attending to memory (the encoder's output).</summary>
    public Tensor Forward(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false)
    {
        var x = tgt;
        if (Config.NormFirst)
        {
            var h = Norm1.Call(x);
            x = x + Attend(SelfAttn, h, h, tgtMask, tgtKeyPaddingMask, tgtIsCausal);
            x = x + Attend(MultiheadAttn, Norm2.Call(x), memory, memoryMask, memoryKeyPaddingMask, memoryIsCausal);
            return x + FeedForward(Linear1, Linear2, Norm3.Call(x));
        }
        x = Norm1.Call(x + Attend(SelfAttn, x, x, tgtMask, tgtKeyPaddingMask, tgtIsCausal));
        x = Norm2.Call(x + Attend(MultiheadAttn, x, memory, memoryMask, memoryKeyPaddingMask, memoryIsCausal));
        return Norm3.Call(x + FeedForward(Linear1, Linear2, x));
    }

    /// <summary>
    /// The layer on new target positions only, for generation in eval mode: their self-attention
    /// reads the earlier positions' keys and values from <paramref name="selfCache"/> (and adds
    /// theirs), and the attention over <paramref name="memory"/> projects it into
    /// <paramref name="memoryCache"/> on the first step and reads it from there after. With a causal
    /// target mask, the same outputs as <see cref="Forward"/> on the whole target at these positions.
    /// <paramref name="tgtKeyPaddingMask"/> [N, L] flags the new target positions that are padding
    /// (kept in <paramref name="selfCache"/> for the later positions).
    /// </summary>
    public Tensor ForwardCached(Tensor tgt, Tensor memory, KeyValueCache selfCache, KeyValueCache memoryCache, Tensor? memoryKeyPaddingMask = null,
        Tensor? tgtKeyPaddingMask = null)
    {
        var x = tgt;
        if (Config.NormFirst)
        {
            var h = Norm1.Call(x);
            x = x + SelfAttn.ForwardCached(h, h, h, selfCache, tgtKeyPaddingMask);
            x = x + MultiheadAttn.ForwardMemoryCached(Norm2.Call(x), memory, memoryCache, memoryKeyPaddingMask);
            return x + FeedForward(Linear1, Linear2, Norm3.Call(x));
        }
        x = Norm1.Call(x + SelfAttn.ForwardCached(x, x, x, selfCache, tgtKeyPaddingMask));
        x = Norm2.Call(x + MultiheadAttn.ForwardMemoryCached(x, memory, memoryCache, memoryKeyPaddingMask));
        return Norm3.Call(x + FeedForward(Linear1, Linear2, x));
    }

    internal TransformerDecoderLayer Copy() => Copied((c, g) => new TransformerDecoderLayer(c, g));
}

/// <summary>
/// A stack of numLayers copies of an encoder layer (identical at first, as PyTorch's deep copies),
/// then an optional final norm (torch.nn.TransformerEncoder: layers.0, layers.1, ..., norm).
/// </summary>
public sealed class TransformerEncoder : Module
{
    readonly ModuleList<TransformerEncoderLayer> Layers;
    readonly LayerNorm? Norm;

    /// <summary>numLayers copies of <paramref name="encoderLayer"/>, then <paramref name="norm"/> when given.</summary>
    public TransformerEncoder(TransformerEncoderLayer encoderLayer, int numLayers, LayerNorm? norm = null)
    {
        if (numLayers <= 0) throw new ArgumentException($"TransformerEncoder: num_layers must be positive, got {numLayers}");
        Layers = new ModuleList<TransformerEncoderLayer>([.. Enumerable.Range(0, numLayers).Select(_ => encoderLayer.Copy())]);
        Norm = norm;
    }

    /// <summary>Forward inside the stack's hooks (PyTorch's <c>encoder(src, ...)</c>); hooks see src.</summary>
    public Tensor Call(Tensor src, Tensor? mask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false) =>
        HasHooks ? CallWithHooks(src, x => Forward(x, mask, srcKeyPaddingMask, isCausal)) : Forward(src, mask, srcKeyPaddingMask, isCausal);

    /// <summary>src through every layer, then the norm.</summary>
    public Tensor Forward(Tensor src, Tensor? mask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false)
    {
        var x = src;
        foreach (var layer in Layers) x = layer.Call(x, mask, srcKeyPaddingMask, isCausal);
        return Norm?.Call(x) ?? x;
    }
}

/// <summary>A stack of numLayers copies of a decoder layer and an optional final norm (torch.nn.TransformerDecoder).</summary>
public sealed class TransformerDecoder : Module
{
    /// <summary>The layers, in order (layers).</summary>
    public readonly ModuleList<TransformerDecoderLayer> Layers;
    /// <summary>The final norm (norm), or null.</summary>
    public readonly LayerNorm? Norm;

    /// <summary>numLayers copies of <paramref name="decoderLayer"/>, then <paramref name="norm"/> when given.</summary>
    public TransformerDecoder(TransformerDecoderLayer decoderLayer, int numLayers, LayerNorm? norm = null)
    {
        if (numLayers <= 0) throw new ArgumentException($"TransformerDecoder: num_layers must be positive, got {numLayers}");
        Layers = new ModuleList<TransformerDecoderLayer>([.. Enumerable.Range(0, numLayers).Select(_ => decoderLayer.Copy())]);
        Norm = norm;
    }

    /// <summary>Forward inside the module's hooks (PyTorch's <c>module(tgt, memory, ...)</c>); hooks see (tgt, memory).</summary>
    public Tensor Call(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false) =>
        HasHooks
            ? CallWithHooks((tgt, memory), p => Forward(p.Item1, p.Item2, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal))
            : Forward(tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal);

    /// <summary>A cache for <see cref="ForwardCached"/>: a self-attention and a memory cache for each layer.</summary>
    public TransformerDecoderCache NewCache() => new(Layers.Count);

    /// <summary>
    /// New target positions through every layer's caches (<see cref="TransformerDecoderLayer.ForwardCached"/>),
    /// then the norm: generation one step at a time, the memory projected once per layer.
    /// <paramref name="tgtKeyPaddingMask"/> [N, L] flags the new target positions that are padding.
    /// </summary>
    public Tensor ForwardCached(Tensor tgt, Tensor memory, TransformerDecoderCache cache, Tensor? memoryKeyPaddingMask = null, Tensor? tgtKeyPaddingMask = null)
    {
        if (cache.Layers != Layers.Count)
            throw new ArgumentException($"TransformerDecoder.ForwardCached: the cache was made for {cache.Layers} layers, this decoder has {Layers.Count}");
        var x = tgt;
        for (int i = 0; i < Layers.Count; i++) x = Layers[i].ForwardCached(x, memory, cache.Self[i], cache.Memory[i], memoryKeyPaddingMask, tgtKeyPaddingMask);
        return Norm?.Call(x) ?? x;
    }

    /// <summary>tgt through every layer, each attending to memory, then the norm.</summary>
    public Tensor Forward(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false)
    {
        var x = tgt;
        foreach (var layer in Layers) x = layer.Call(x, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal);
        return Norm?.Call(x) ?? x;
    }
}

/// <summary>
/// The encoder–decoder Transformer of "Attention Is All You Need" (torch.nn.Transformer): an
/// encoder and a decoder stack, each ending in a LayerNorm.
/// </summary>
public sealed class Transformer : Module
{
    /// <summary>The encoder stack (encoder): run on its own, it gives the memory once for many decoding steps.</summary>
    public readonly TransformerEncoder Encoder;
    /// <summary>The decoder stack (decoder).</summary>
    public readonly TransformerDecoder Decoder;

    /// <summary>PyTorch's defaults: dModel 512, 8 heads, 6 + 6 layers, feed-forward 2048, dropout 0.1.</summary>
    public Transformer(int dModel = 512, int nhead = 8, int numEncoderLayers = 6, int numDecoderLayers = 6, int dimFeedforward = 2048, double dropout = 0.1,
        string activation = "relu", double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, bool bias = true,
        DType? dtype = null, Generator? generator = null)
    {
        var config = new TransformerLayerConfig(dModel, nhead, dimFeedforward, dropout, TransformerLayerConfig.ActivationOf(activation), activation,
            layerNormEps, batchFirst, normFirst, bias, dtype ?? Tensor.DefaultDType);
        Encoder = new TransformerEncoder(new TransformerEncoderLayer(config, generator), numEncoderLayers, new LayerNorm([dModel], layerNormEps, bias: bias, dtype: dtype));
        Decoder = new TransformerDecoder(new TransformerDecoderLayer(config, generator), numDecoderLayers, new LayerNorm([dModel], layerNormEps, bias: bias, dtype: dtype));
    }

    /// <summary>Forward inside the model's hooks (PyTorch's <c>model(src, tgt, ...)</c>); hooks see (src, tgt).</summary>
    public Tensor Call(Tensor src, Tensor tgt, Tensor? srcMask = null, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? srcKeyPaddingMask = null,
        Tensor? tgtKeyPaddingMask = null, Tensor? memoryKeyPaddingMask = null, bool srcIsCausal = false, bool tgtIsCausal = false, bool memoryIsCausal = false) =>
        HasHooks
            ? CallWithHooks((src, tgt), p => Forward(p.Item1, p.Item2, srcMask, tgtMask, memoryMask, srcKeyPaddingMask, tgtKeyPaddingMask, memoryKeyPaddingMask, srcIsCausal, tgtIsCausal, memoryIsCausal))
            : Forward(src, tgt, srcMask, tgtMask, memoryMask, srcKeyPaddingMask, tgtKeyPaddingMask, memoryKeyPaddingMask, srcIsCausal, tgtIsCausal, memoryIsCausal);

    /// <summary>The decoder's output for tgt, attending to the encoding of src.</summary>
    public Tensor Forward(Tensor src, Tensor tgt, Tensor? srcMask = null, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? srcKeyPaddingMask = null,
        Tensor? tgtKeyPaddingMask = null, Tensor? memoryKeyPaddingMask = null, bool srcIsCausal = false, bool tgtIsCausal = false, bool memoryIsCausal = false)
    {
        var memory = Encoder.Call(src, srcMask, srcKeyPaddingMask, srcIsCausal);
        return Decoder.Call(tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal);
    }

    /// <summary>
    /// The causal mask [size, size] as PyTorch makes it: 0 on and below the diagonal, -inf above
    /// (a float mask, added to the scores).
    /// </summary>
    public static Tensor GenerateSquareSubsequentMask(int size, DType? dtype = null)
    {
        var above = Tensor.Arange(size).Unsqueeze(1) < Tensor.Arange(size);
        return Tensor.Zeros([size, size], dtype).MaskedFill(above, double.NegativeInfinity);
    }
}

public static partial class Functional
{
    /// <summary>x / √(mean(x²) over the trailing normalizedShape dims + eps) · weight (torch.nn.functional.rms_norm).</summary>
    public static Tensor RmsNorm(Tensor input, int[] normalizedShape, Tensor? weight = null, double? eps = null)
    {
        int k = normalizedShape.Length;
        if (k == 0 || k > input.NDim || !input.Shape.ToArray()[^k..].SequenceEqual(normalizedShape))
            throw new ArgumentException($"RMSNorm: input of shape {ShapeMath.Format(input.Shape.ToArray())} does not end in the normalized shape {ShapeMath.Format(normalizedShape)}");
        if (!input.DType.IsFloatingPoint()) throw new ArgumentException($"RMSNorm: expected a floating input, got {input.DType}");
        // torch.finfo(dtype).eps: the gap between 1 and the next number of the input's type.
        double epsilon = eps ?? input.DType.Epsilon();
        var dims = Enumerable.Range(input.NDim - k, k).ToArray();
        var y = input * ((input * input).Mean(dims, keepDim: true) + epsilon).Rsqrt();
        return weight is null ? y : y * weight;
    }

    /// <summary>
    /// The sinusoidal positional encoding of "Attention Is All You Need", [length, dModel]:
    /// sin(pos / 10000^(2i/dModel)) in column 2i, cos of the same in column 2i + 1.
    /// </summary>
    public static Tensor SinusoidalPositionalEncoding(int length, int dModel, DType? dtype = null)
    {
        var table = new double[length * dModel];
        for (int pos = 0; pos < length; pos++)
            for (int i = 0; i < dModel; i++)
            {
                double angle = pos / Math.Pow(10000, 2 * (i / 2) / (double)dModel);
                table[pos * dModel + i] = i % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle);
            }
        return Tensor.From(table, [length, dModel]).To(dtype ?? Tensor.DefaultDType);
    }
}

/// <summary>
/// The key/value caches of a <see cref="TransformerDecoder"/> generating one step at a time: for each
/// layer, its self-attention's (the target positions so far) and its memory attention's (the
/// memory, projected on the first step).
/// </summary>
public sealed class TransformerDecoderCache
{
    internal readonly KeyValueCache[] Self, Memory;

    internal TransformerDecoderCache(int layers) =>
        (Self, Memory) = ([.. Enumerable.Range(0, layers).Select(_ => new KeyValueCache())], [.. Enumerable.Range(0, layers).Select(_ => new KeyValueCache())]);

    internal int Layers => Self.Length;

    /// <summary>Target positions held.</summary>
    public int Length => Self.Length == 0 ? 0 : Self[0].Length;

    /// <summary>Forgets every position and the memory (a new sequence).</summary>
    public void Clear()
    {
        foreach (var cache in Self) cache.Clear();
        foreach (var cache in Memory) cache.Clear();
    }

    /// <summary>
    /// Keeps the batch rows <paramref name="rows"/> of every layer's caches, the memory's
    /// projections with them (see <see cref="KeyValueCache.Reorder"/>): for beam search, where the
    /// memory given to later steps must have the same rows.
    /// </summary>
    public void Reorder(Tensor rows)
    {
        KeyValueCache.RequireRows("TransformerDecoderCache.Reorder", rows, Self.Length == 0 ? null : Self[0].Keys?.Shape[1]);
        foreach (var cache in Self) cache.Select(rows);
        foreach (var cache in Memory) cache.Select(rows);
    }
}
