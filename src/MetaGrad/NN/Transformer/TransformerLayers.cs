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
/// Self-attention then a feed-forward network, each with a residual connection and LayerNorm
/// (after by default, before with normFirst), as torch.nn.TransformerEncoderLayer, with its
/// parameter names (self_attn, linear1, linear2, norm1, norm2).
/// </summary>
public sealed class TransformerEncoderLayer : Module
{
    internal readonly TransformerLayerConfig Config;
    readonly MultiheadAttention SelfAttn;
    readonly Linear Linear1, Linear2;
    readonly LayerNorm Norm1, Norm2;
    readonly Generator? _generator;

    /// <summary>A layer of model width dModel and nhead heads; activation "relu" or "gelu".</summary>
    public TransformerEncoderLayer(int dModel, int nhead, int dimFeedforward = 2048, double dropout = 0.1, string activation = "relu",
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, bool bias = true, DType dtype = DType.Float32, Generator? generator = null)
        : this(new TransformerLayerConfig(dModel, nhead, dimFeedforward, dropout, TransformerLayerConfig.ActivationOf(activation), activation, layerNormEps,
            batchFirst, normFirst, bias, dtype), generator) { }

    /// <summary>A layer with the feed-forward activation given as a function.</summary>
    public TransformerEncoderLayer(int dModel, int nhead, Func<Tensor, Tensor> activation, int dimFeedforward = 2048, double dropout = 0.1,
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, bool bias = true, DType dtype = DType.Float32, Generator? generator = null)
        : this(new TransformerLayerConfig(dModel, nhead, dimFeedforward, dropout, activation, "custom", layerNormEps, batchFirst, normFirst, bias, dtype), generator) { }

    internal TransformerEncoderLayer(TransformerLayerConfig c, Generator? generator)
    {
        (Config, _generator) = (c, generator);
        SelfAttn = new MultiheadAttention(c.DModel, c.NHead, c.Dropout, c.Bias, batchFirst: c.BatchFirst, dtype: c.DType, generator: generator);
        Linear1 = new Linear(c.DModel, c.DimFeedforward, c.Bias, c.DType, generator);
        Linear2 = new Linear(c.DimFeedforward, c.DModel, c.Bias, c.DType, generator);
        Norm1 = new LayerNorm([c.DModel], c.LayerNormEps, bias: c.Bias, dtype: c.DType);
        Norm2 = new LayerNorm([c.DModel], c.LayerNormEps, bias: c.Bias, dtype: c.DType);
    }

    /// <summary>
    /// The layer applied to src; srcMask and srcKeyPaddingMask as <see cref="MultiheadAttention.Forward"/>'s
    /// attnMask and keyPaddingMask.
    /// </summary>
    public Tensor Forward(Tensor src, Tensor? srcMask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false)
    {
        var x = src;
        if (Config.NormFirst)
        {
            x = x + SelfAttention(Norm1.Forward(x), srcMask, srcKeyPaddingMask, isCausal);
            return x + FeedForward(Norm2.Forward(x));
        }
        x = Norm1.Forward(x + SelfAttention(x, srcMask, srcKeyPaddingMask, isCausal));
        return Norm2.Forward(x + FeedForward(x));
    }

    Tensor SelfAttention(Tensor x, Tensor? mask, Tensor? padding, bool isCausal) =>
        Drop(SelfAttn.Forward(x, x, x, padding, needWeights: false, attnMask: mask, isCausal: isCausal).Output);

    Tensor FeedForward(Tensor x) => Drop(Linear2.Forward(Drop(Config.Activation(Linear1.Forward(x)))));

    Tensor Drop(Tensor x) => Functional.Dropout(x, Config.Dropout, Training, _generator);

    /// <summary>A new layer of the same configuration and the same parameter values.</summary>
    internal TransformerEncoderLayer Copy()
    {
        var copy = new TransformerEncoderLayer(Config, _generator);
        copy.LoadStateDict(StateDict());
        return copy;
    }
}

/// <summary>
/// Self-attention over the target, attention over the encoder's memory, then a feed-forward
/// network, each with a residual connection and LayerNorm (torch.nn.TransformerDecoderLayer:
/// self_attn, multihead_attn, linear1, linear2, norm1, norm2, norm3).
/// </summary>
public sealed class TransformerDecoderLayer : Module
{
    internal readonly TransformerLayerConfig Config;
    readonly MultiheadAttention SelfAttn, MultiheadAttn;
    readonly Linear Linear1, Linear2;
    readonly LayerNorm Norm1, Norm2, Norm3;
    readonly Generator? _generator;

    /// <summary>A layer of model width dModel and nhead heads; activation "relu" or "gelu".</summary>
    public TransformerDecoderLayer(int dModel, int nhead, int dimFeedforward = 2048, double dropout = 0.1, string activation = "relu",
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, bool bias = true, DType dtype = DType.Float32, Generator? generator = null)
        : this(new TransformerLayerConfig(dModel, nhead, dimFeedforward, dropout, TransformerLayerConfig.ActivationOf(activation), activation, layerNormEps,
            batchFirst, normFirst, bias, dtype), generator) { }

    internal TransformerDecoderLayer(TransformerLayerConfig c, Generator? generator)
    {
        (Config, _generator) = (c, generator);
        SelfAttn = new MultiheadAttention(c.DModel, c.NHead, c.Dropout, c.Bias, batchFirst: c.BatchFirst, dtype: c.DType, generator: generator);
        MultiheadAttn = new MultiheadAttention(c.DModel, c.NHead, c.Dropout, c.Bias, batchFirst: c.BatchFirst, dtype: c.DType, generator: generator);
        Linear1 = new Linear(c.DModel, c.DimFeedforward, c.Bias, c.DType, generator);
        Linear2 = new Linear(c.DimFeedforward, c.DModel, c.Bias, c.DType, generator);
        Norm1 = new LayerNorm([c.DModel], c.LayerNormEps, bias: c.Bias, dtype: c.DType);
        Norm2 = new LayerNorm([c.DModel], c.LayerNormEps, bias: c.Bias, dtype: c.DType);
        Norm3 = new LayerNorm([c.DModel], c.LayerNormEps, bias: c.Bias, dtype: c.DType);
    }

    /// <summary>The layer applied to tgt, attending to memory (the encoder's output).</summary>
    public Tensor Forward(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false)
    {
        var x = tgt;
        if (Config.NormFirst)
        {
            x = x + SelfAttention(Norm1.Forward(x), tgtMask, tgtKeyPaddingMask, tgtIsCausal);
            x = x + MemoryAttention(Norm2.Forward(x), memory, memoryMask, memoryKeyPaddingMask, memoryIsCausal);
            return x + FeedForward(Norm3.Forward(x));
        }
        x = Norm1.Forward(x + SelfAttention(x, tgtMask, tgtKeyPaddingMask, tgtIsCausal));
        x = Norm2.Forward(x + MemoryAttention(x, memory, memoryMask, memoryKeyPaddingMask, memoryIsCausal));
        return Norm3.Forward(x + FeedForward(x));
    }

    Tensor SelfAttention(Tensor x, Tensor? mask, Tensor? padding, bool isCausal) =>
        Drop(SelfAttn.Forward(x, x, x, padding, needWeights: false, attnMask: mask, isCausal: isCausal).Output);

    Tensor MemoryAttention(Tensor x, Tensor memory, Tensor? mask, Tensor? padding, bool isCausal) =>
        Drop(MultiheadAttn.Forward(x, memory, memory, padding, needWeights: false, attnMask: mask, isCausal: isCausal).Output);

    Tensor FeedForward(Tensor x) => Drop(Linear2.Forward(Drop(Config.Activation(Linear1.Forward(x)))));

    Tensor Drop(Tensor x) => Functional.Dropout(x, Config.Dropout, Training, _generator);

    /// <summary>A new layer of the same configuration and the same parameter values.</summary>
    internal TransformerDecoderLayer Copy()
    {
        var copy = new TransformerDecoderLayer(Config, _generator);
        copy.LoadStateDict(StateDict());
        return copy;
    }
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

    /// <summary>src through every layer, then the norm.</summary>
    public Tensor Forward(Tensor src, Tensor? mask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false)
    {
        var x = src;
        foreach (var layer in Layers) x = layer.Forward(x, mask, srcKeyPaddingMask, isCausal);
        return Norm?.Forward(x) ?? x;
    }
}

/// <summary>A stack of numLayers copies of a decoder layer and an optional final norm (torch.nn.TransformerDecoder).</summary>
public sealed class TransformerDecoder : Module
{
    readonly ModuleList<TransformerDecoderLayer> Layers;
    readonly LayerNorm? Norm;

    /// <summary>numLayers copies of <paramref name="decoderLayer"/>, then <paramref name="norm"/> when given.</summary>
    public TransformerDecoder(TransformerDecoderLayer decoderLayer, int numLayers, LayerNorm? norm = null)
    {
        if (numLayers <= 0) throw new ArgumentException($"TransformerDecoder: num_layers must be positive, got {numLayers}");
        Layers = new ModuleList<TransformerDecoderLayer>([.. Enumerable.Range(0, numLayers).Select(_ => decoderLayer.Copy())]);
        Norm = norm;
    }

    /// <summary>tgt through every layer, each attending to memory, then the norm.</summary>
    public Tensor Forward(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false)
    {
        var x = tgt;
        foreach (var layer in Layers) x = layer.Forward(x, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal);
        return Norm?.Forward(x) ?? x;
    }
}

/// <summary>
/// The encoder–decoder Transformer of "Attention Is All You Need" (torch.nn.Transformer): an
/// encoder and a decoder stack, each ending in a LayerNorm.
/// </summary>
public sealed class Transformer : Module
{
    readonly TransformerEncoder Encoder;
    readonly TransformerDecoder Decoder;

    /// <summary>PyTorch's defaults: dModel 512, 8 heads, 6 + 6 layers, feed-forward 2048, dropout 0.1.</summary>
    public Transformer(int dModel = 512, int nhead = 8, int numEncoderLayers = 6, int numDecoderLayers = 6, int dimFeedforward = 2048, double dropout = 0.1,
        string activation = "relu", double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, bool bias = true,
        DType dtype = DType.Float32, Generator? generator = null)
    {
        var config = new TransformerLayerConfig(dModel, nhead, dimFeedforward, dropout, TransformerLayerConfig.ActivationOf(activation), activation,
            layerNormEps, batchFirst, normFirst, bias, dtype);
        Encoder = new TransformerEncoder(new TransformerEncoderLayer(config, generator), numEncoderLayers, new LayerNorm([dModel], layerNormEps, bias: bias, dtype: dtype));
        Decoder = new TransformerDecoder(new TransformerDecoderLayer(config, generator), numDecoderLayers, new LayerNorm([dModel], layerNormEps, bias: bias, dtype: dtype));
    }

    /// <summary>The decoder's output for tgt, attending to the encoding of src.</summary>
    public Tensor Forward(Tensor src, Tensor tgt, Tensor? srcMask = null, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? srcKeyPaddingMask = null,
        Tensor? tgtKeyPaddingMask = null, Tensor? memoryKeyPaddingMask = null, bool srcIsCausal = false, bool tgtIsCausal = false, bool memoryIsCausal = false)
    {
        var memory = Encoder.Forward(src, srcMask, srcKeyPaddingMask, srcIsCausal);
        return Decoder.Forward(tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal);
    }

    /// <summary>
    /// The causal mask [size, size] as PyTorch makes it: 0 on and below the diagonal, -inf above
    /// (a float mask, added to the scores).
    /// </summary>
    public static Tensor GenerateSquareSubsequentMask(int size, DType dtype = DType.Float32)
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
        double epsilon = eps ?? (input.DType == DType.Float64 ? 2.220446049250313e-16 : 1.1920928955078125e-07);
        var dims = Enumerable.Range(input.NDim - k, k).ToArray();
        var y = input * ((input * input).Mean(dims, keepDim: true) + epsilon).Rsqrt();
        return weight is null ? y : y * weight;
    }

    /// <summary>
    /// The sinusoidal positional encoding of "Attention Is All You Need", [length, dModel]:
    /// sin(pos / 10000^(2i/dModel)) in column 2i, cos of the same in column 2i + 1.
    /// </summary>
    public static Tensor SinusoidalPositionalEncoding(int length, int dModel, DType dtype = DType.Float32)
    {
        var table = new double[length * dModel];
        for (int pos = 0; pos < length; pos++)
            for (int i = 0; i < dModel; i++)
            {
                double angle = pos / Math.Pow(10000, 2 * (i / 2) / (double)dModel);
                table[pos * dModel + i] = i % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle);
            }
        return Tensor.From(table, [length, dModel]).To(dtype);
    }
}
