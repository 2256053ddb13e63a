using MetaGrad.Backends;
namespace MetaGrad.NN;

/// <summary>
/// torch.nn.functional. Composite functions are written from primitive tensor operations, so
/// they get their gradients (and higher-order gradients) without a backward of their own.
/// </summary>
public static partial class Functional
{
    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x) => x.Relu();

    /// <summary>x for x &gt; 0, slope·x otherwise (the gradient at 0 is the slope, as in PyTorch).</summary>
    public static Tensor LeakyRelu(Tensor x, double negativeSlope = 0.01) =>
        // One fused node for float and double; under an ONNX trace (which maps Where) and for other
        // dtypes, the composition.
        FusesActivation(x)
            ? new Functions.LeakyReluFunction(negativeSlope).Apply(x)
            : Tensor.Where(x > 0.0, x, x * negativeSlope);

    /// <summary>x for x &gt; 0, α(eˣ - 1) otherwise.</summary>
    public static Tensor Elu(Tensor x, double alpha = 1.0) =>
        // One fused node for float and double; under an ONNX trace (which maps Where) and for other
        // dtypes, the composition. The exponential sees min(x, 0): for a large x, eˣ = inf in the
        // branch Where discards would still meet its zero gradient there, and 0·inf is NaN.
        FusesActivation(x) ? new Functions.EluFunction(alpha, 1, 1).Apply(x)
            : Tensor.Where(x > 0.0, x, (x.Clamp(max: 0).Exp() - 1.0) * alpha);

    /// <summary>
    /// Whether an activation with a fused kernel (LeakyReLU, Hardswish, the ELU family, SiLU) runs as
    /// one node on x: float or double on a backend that has the kernels, and no ONNX trace (which
    /// maps the composition's operations, not the node).
    /// </summary>
    internal static bool FusesActivation(Tensor x) => x.DType is DType.Float32 or DType.Float64 && Tracing.Active is null && x.Backend is IFusedKernels;

    /// <summary>
    /// x·Φ(x) with Φ the standard normal CDF (exact, via erf), or the tanh approximation when
    /// <paramref name="approximate"/> is "tanh", as torch.nn.functional.gelu.
    /// </summary>
    public static Tensor Gelu(Tensor x, string approximate = "none")
    {
        if (approximate is not ("none" or "tanh")) throw new ArgumentException($"Gelu: approximate must be \"none\" or \"tanh\", got \"{approximate}\"");
        // One fused node for float and double; under an ONNX trace (which maps the composition's
        // Erf, Tanh and arithmetic) and for other dtypes, the composition.
        if (x.DType is DType.Float32 or DType.Float64 && Tracing.Active is null)
            return new Functions.GeluFunction(approximate == "tanh").Apply(x);
        if (approximate == "tanh")
        {
            var inner = (x + x.Pow(3) * 0.044715) * Math.Sqrt(2 / Math.PI);
            return x * 0.5 * (inner.Tanh() + 1.0);
        }
        if (approximate != "none") throw new ArgumentException($"Gelu: approximate must be \"none\" or \"tanh\", got \"{approximate}\"");
        return x * 0.5 * ((x * (1 / Math.Sqrt(2))).Erf() + 1.0);
    }

    /// <summary>1 / (1 + e⁻ˣ).</summary>
    public static Tensor Sigmoid(Tensor x) => x.Sigmoid();

    /// <summary>log σ(x) = -softplus(-x), stable for large |x|.</summary>
    public static Tensor LogSigmoid(Tensor x) =>
        // softplus with β = -1 is log(1 + e⁻ˣ)/-1 = -softplus(-x), in one pass. No linear cut-off
        // (threshold ∞): softplus's default one at 20 drops e⁻²⁰ ≈ 2e-9, which float64 resolves;
        // torch.nn.functional.logsigmoid has none either.
        Softplus(x, beta: -1, threshold: double.PositiveInfinity);

    /// <summary>log(1 + e^(βx))/β, linear where βx exceeds the threshold.</summary>
    public static Tensor Softplus(Tensor x, double beta = 1, double threshold = 20) => Functions.Ops.Softplus(x, beta, threshold);

    /// <summary>Hyperbolic tangent.</summary>
    public static Tensor Tanh(Tensor x) => x.Tanh();

    /// <summary>x·σ(x) (SiLU, also called Swish).</summary>
    public static Tensor Silu(Tensor x) =>
        // One fused node for float and double; under an ONNX trace (which maps Sigmoid and Mul) and
        // for other dtypes, the composition.
        FusesActivation(x) ? new Functions.SiluFunction().Apply(x) : x * x.Sigmoid();

    /// <summary>Softmax along dim.</summary>
    public static Tensor Softmax(Tensor x, int dim) => x.Softmax(dim);

    /// <summary>LogSoftmax along dim.</summary>
    public static Tensor LogSoftmax(Tensor x, int dim) => x.LogSoftmax(dim);

    /// <summary>y = x·Wᵀ + b with weight [out, in].</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        if (input.Shape[^1] != weight.Shape[^1])
            throw new ArgumentException($"Linear: input of shape {ShapeMath.Format(input.Shape.ToArray())} does not match weight of shape {ShapeMath.Format(weight.Shape.ToArray())} (expected last dim {weight.Shape[^1]})");
        if (weight.DType != input.DType || (bias is not null && bias.DType != input.DType))
            throw new ArgumentException($"Linear: input ({input.DType}), weight ({weight.DType}){(bias is null ? "" : $" and bias ({bias.DType})")} must share one dtype; convert the input with To() or the module's parameters");
        // One fused node where the kernel applies (a floating dtype, a 2-D weight, a 1-D bias of
        // its rows); otherwise the composition gives PyTorch's broadcasting and errors.
        if (input.DType.IsFloatingPoint() && weight.NDim == 2 && (bias is null || (bias.NDim == 1 && bias.Shape[0] == weight.Shape[0])))
            return Functions.Ops.Linear(input, weight, bias);
        var y = input.Matmul(weight.T);
        return bias is null ? y : y + bias;
    }

    /// <summary>In training, zeroes each element with probability p and scales the survivors by 1/(1-p).</summary>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true, Generator? generator = null)
    {
        if (p < 0 || p > 1) throw new ArgumentException($"Dropout: probability has to be between 0 and 1, but got {p}");
        if (!training || p == 0) return input;
        if (p == 1) return input * 0.0;
        var keep = Tensor.Rand(input.Shape.ToArray(), input.DType, generator: generator) >= p;
        return input * keep.To(input.DType) * (1 / (1 - p));
    }

    /// <summary>
    /// Rows of weight at the ids in input (any shape), giving input.shape + [dim]; the padding row gets
    /// no gradient. With <paramref name="sparse"/>, Backward gives a leaf weight its gradient as the
    /// looked-up rows only, in <see cref="Tensor.SparseGrad"/> (for SGD, Adagrad or SparseAdam).
    /// </summary>
    public static Tensor Embedding(Tensor input, Tensor weight, int? paddingIdx = null, bool sparse = false)
    {
        if (input.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"Embedding: expected an Int64 or Int32 index tensor, got {input.DType}");
        var ids = input.Reshape(-1);
        Tensor rows;
        try
        {
            rows = Functions.Ops.EmbeddingLookup(ids, weight, paddingIdx, sparse);
        }
        catch (ArgumentOutOfRangeException e) when (FirstOutside(ids, weight.Shape[0]) is long id)
        {
            // Named here, not as the IndexSelect inside: the ids are checked only when the lookup fails.
            throw new ArgumentOutOfRangeException($"Embedding: index {id} is out of range for {weight.Shape[0]} embeddings (ids must be in [0, {weight.Shape[0]}))", e);
        }
        return rows.Reshape([.. input.Shape, weight.Shape[1]]);
    }

    static long? FirstOutside(Tensor ids, int count)
    {
        foreach (var id in ids.ToArray<long>())
            if (id < 0 || id >= count) return id;
        return null;
    }

    /// <summary>One-hot Int64 encoding with a new last dim of numClasses (inferred as max + 1 when -1).</summary>
    public static Tensor OneHot(Tensor input, int numClasses = -1)
    {
        if (input.DType != DType.Int64) throw new ArgumentException($"OneHot: expected an Int64 tensor of class indices, got {input.DType}");
        var ids = input.ToArray<long>();
        if (ids.Any(i => i < 0)) throw new ArgumentException("OneHot: class values must be non-negative");
        int classes = numClasses == -1 ? (ids.Length == 0 ? 0 : (int)ids.Max() + 1) : numClasses;
        if (ids.Any(i => i >= classes)) throw new ArgumentException($"OneHot: class values must be smaller than numClasses ({classes})");
        return (input.Unsqueeze(-1) == Tensor.Arange(classes)).To(DType.Int64);
    }

    /// <summary>x / max(‖x‖_p, eps) along dim.</summary>
    public static Tensor Normalize(Tensor input, double p = 2, int dim = 1, double eps = 1e-12) =>
        input / input.Norm(p, dim, keepDim: true).Clamp(min: eps);

    /// <summary>Cosine of the angle between x1 and x2 along dim, each norm clamped below by eps.</summary>
    public static Tensor CosineSimilarity(Tensor x1, Tensor x2, int dim = 1, double eps = 1e-8)
    {
        var n1 = x1.Norm(2, dim, keepDim: true).Clamp(min: eps);
        var n2 = x2.Norm(2, dim, keepDim: true).Clamp(min: eps);
        return (x1 / n1 * (x2 / n2)).Sum(dim);
    }

    /// <summary>
    /// Constant padding: pad lists (before, after) pairs starting from the last dim, as
    /// torch.nn.functional.pad; negative amounts crop.
    /// </summary>
    public static Tensor Pad(Tensor input, int[] pad, double value = 0, string mode = "constant")
    {
        if (pad.Length % 2 != 0 || pad.Length / 2 > input.NDim)
            throw new ArgumentException($"Pad: padding length must be even and at most twice the number of dims ({input.NDim}), got {pad.Length}");
        if (mode != "constant") return PadByIndex(input, pad, mode);
        var x = input;
        var shape = input.Shape.ToArray();
        var starts = new int[input.NDim];
        for (int i = 0; i < pad.Length / 2; i++)
        {
            int d = input.NDim - 1 - i, before = pad[2 * i], after = pad[2 * i + 1];
            int cropBefore = Math.Max(-before, 0), cropAfter = Math.Max(-after, 0);
            if (cropBefore + cropAfter > 0) x = x.Narrow(d, cropBefore, shape[d] - cropBefore - cropAfter);
            starts[d] = Math.Max(before, 0);
            shape[d] = x.Shape[d] + Math.Max(before, 0) + Math.Max(after, 0);
        }
        var inner = x.Shape.ToArray();
        Layout Region(Layout l)
        {
            for (int d = 0; d < inner.Length; d++) l = l.Slice(d, starts[d], inner[d], 1);
            return l;
        }
        var y = Functions.Ops.Pad(x, Region, shape);
        if (value == 0) return y;
        // A choice, not arithmetic: y + (1 - inside)·value would give 0·inf = NaN inside for an infinite value.
        var inside = Functions.Ops.Pad(Tensor.Ones(inner, DType.Bool), Region, shape);
        return Tensor.Where(inside, y, Tensor.Scalar(value, x.DType));
    }

    // reflect, replicate and circular pick, for each padded position, an input position along the
    // dim: an index select, whose gradient adds back into the picked positions.
    static Tensor PadByIndex(Tensor input, int[] pad, string mode)
    {
        if (mode is not ("reflect" or "replicate" or "circular"))
            throw new ArgumentException($"Pad: mode must be \"constant\", \"reflect\", \"replicate\" or \"circular\", got \"{mode}\"");
        var x = input;
        for (int i = 0; i < pad.Length / 2; i++)
        {
            int d = input.NDim - 1 - i, before = pad[2 * i], after = pad[2 * i + 1], size = input.Shape[d];
            if (before < 0 || after < 0)
                throw new ArgumentException($"Pad: mode \"{mode}\" takes non-negative padding, got ({before}, {after}) for dim {d}");
            if (mode == "reflect" ? before >= size || after >= size : mode == "circular" ? before > size || after > size : size == 0)
                throw new ArgumentException($"Pad: padding ({before}, {after}) of mode \"{mode}\" is too large for dim {d} of size {size} of input shape {ShapeMath.Format(input.Shape.ToArray())}");
            if (before == 0 && after == 0) continue;
            var index = new long[size + before + after];
            for (int j = 0; j < index.Length; j++)
            {
                int at = j - before;
                index[j] = mode switch
                {
                    "reflect" => at < 0 ? -at : at >= size ? 2 * (size - 1) - at : at,
                    "replicate" => Math.Clamp(at, 0, size - 1),
                    _ => ((at % size) + size) % size,
                };
            }
            x = x.IndexSelect(d, Tensor.From(index, [index.Length]));
        }
        return x;
    }

    /// <summary>(x - mean) / √(var + eps) over the trailing normalizedShape dims, then weight and bias.</summary>
    public static Tensor LayerNorm(Tensor input, int[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        int k = normalizedShape.Length;
        if (k > input.NDim || !input.Shape.Skip(input.NDim - k).SequenceEqual(normalizedShape))
            throw new ArgumentException($"LayerNorm: expected input with trailing shape {ShapeMath.Format(normalizedShape)}, got {ShapeMath.Format(input.Shape.ToArray())}");
        if (weight is not null && !weight.Shape.SequenceEqual(normalizedShape))
            throw new ArgumentException($"LayerNorm: expected weight of shape {ShapeMath.Format(normalizedShape)}, got {ShapeMath.Format(weight.Shape.ToArray())}");
        if (bias is not null && !bias.Shape.SequenceEqual(normalizedShape))
            throw new ArgumentException($"LayerNorm: expected bias of shape {ShapeMath.Format(normalizedShape)}, got {ShapeMath.Format(bias.Shape.ToArray())}");
        if (!Functions.LayerNormRows.Serves(input, weight, bias)) return ComposedLayerNorm(input, normalizedShape, weight, bias, eps);
        var node = new Functions.LayerNormRows([.. normalizedShape], weight is not null, bias is not null, eps);
        return node.Apply([input, .. new[] { weight, bias }.OfType<Tensor>()]);
    }

    /// <summary>LayerNorm written in tensor operations: the reference the fused node is tested against, and its higher-order gradients.</summary>
    internal static Tensor ComposedLayerNorm(Tensor input, int[] normalizedShape, Tensor? weight, Tensor? bias, double eps)
    {
        int k = normalizedShape.Length;
        var dims = Enumerable.Range(input.NDim - k, k).ToArray();
        var mean = input.Mean(dims, keepDim: true);
        var variance = input.Var(dims, correction: 0, keepDim: true);
        var y = (input - mean) / (variance + eps).Sqrt();
        if (weight is not null) y = y * weight;
        if (bias is not null) y = y + bias;
        return y;
    }
}
