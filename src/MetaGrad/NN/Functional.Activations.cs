namespace MetaGrad.NN;

// The piecewise and gated activations of torch.nn.functional. Each is a composition of
// differentiable operations; where a function has a kink, the branch Where picks there is chosen so
// that the gradient at the kink is PyTorch's (libtorch's backward formulas, not a subgradient of our
// choosing).
public static partial class Functional
{
    static Tensor Constant(double value, Tensor like) => Tensor.Scalar(value, like.DType);

    /// <summary>
    /// min(max(x, minVal), maxVal). The gradient is 1 strictly inside (minVal, maxVal) and 0 at and
    /// beyond either bound, as libtorch's hardtanh_backward (Clamp would pass it at the bounds).
    /// </summary>
    public static Tensor Hardtanh(Tensor x, double minVal = -1, double maxVal = 1) =>
        Tensor.Where(x <= minVal, Constant(minVal, x), Tensor.Where(x >= maxVal, Constant(maxVal, x), x));

    /// <summary>min(max(x, 0), 6): libtorch's relu6 is hardtanh(x, 0, 6), so the gradient at 0 and 6 is 0.</summary>
    public static Tensor Relu6(Tensor x) => Hardtanh(x, 0, 6);

    /// <summary>
    /// x·relu6(x + 3)/6. Written piecewise so the gradient at ±3 is libtorch's: the outer pieces own
    /// both ends, so it is 0 at -3 and 1 at 3, and (2x + 3)/6 strictly between.
    /// </summary>
    public static Tensor Hardswish(Tensor x) =>
        // One fused node for float and double (libtorch's formula); the composition under an ONNX
        // trace and for other dtypes.
        FusesActivation(x)
            ? new Functions.HardswishFunction().Apply(x)
            : Tensor.Where(x <= -3.0, Tensor.ZerosLike(x), Tensor.Where(x < 3.0, x * (x + 3.0) / 6.0, x));

    /// <summary>relu6(x + 3)/6; the gradient is 1/6 strictly inside (-3, 3) and 0 elsewhere, as in libtorch.</summary>
    public static Tensor Hardsigmoid(Tensor x) =>
        Tensor.Where(x <= -3.0, Tensor.ZerosLike(x), Tensor.Where(x >= 3.0, Tensor.OnesLike(x), (x + 3.0) / 6.0));

    /// <summary>x·tanh(softplus(x)) (Misra 2019), with softplus in its stable form and no linear cut-off, as libtorch's mish.</summary>
    public static Tensor Mish(Tensor x) => x * Softplus(x, threshold: double.PositiveInfinity).Tanh();

    // The fixed point of self-normalising networks (Klambauer et al. 2017), to PyTorch's digits.
    const double SeluAlpha = 1.6732632423543772848170429916717;
    const double SeluScale = 1.0507009873554804934193349852946;

    /// <summary>
    /// scale·x for x &gt; 0, scale·α(eˣ - 1) otherwise, with PyTorch's α ≈ 1.6733 and scale ≈ 1.0507
    /// (libtorch's elu with those coefficients, so the gradient at 0 is scale·α).
    /// </summary>
    public static Tensor Selu(Tensor x) =>
        FusesActivation(x) ? new Functions.EluFunction(SeluAlpha, SeluScale, 1).Apply(x)
            : Tensor.Where(x > 0.0, x * SeluScale, (x.Clamp(max: 0).Exp() - 1.0) * (SeluAlpha * SeluScale));

    /// <summary>x for x &gt; 0, α(e^(x/α) - 1) otherwise (the gradient at 0 is 1, from the exponential branch).</summary>
    public static Tensor Celu(Tensor x, double alpha = 1.0)
    {
        if (alpha == 0) throw new ArgumentException("Celu: alpha must not be 0 (ZeroDivisionError in PyTorch)");
        // The exponential sees min(x, 0), as in Elu: its discarded branch must stay finite.
        if (FusesActivation(x)) return new Functions.EluFunction(alpha, 1, 1 / alpha).Apply(x);
        return Tensor.Where(x > 0.0, x, ((x.Clamp(max: 0) / alpha).Exp() - 1.0) * alpha);
    }

    /// <summary>The gated linear unit: a·σ(b), with a and b the two halves of x along dim.</summary>
    public static Tensor Glu(Tensor x, int dim = -1)
    {
        if (x.NDim == 0) throw new ArgumentException("Glu: glu does not support scalars because halving size must be even");
        int d = dim < 0 ? dim + x.NDim : dim;
        if (d < 0 || d >= x.NDim)
            throw new ArgumentOutOfRangeException(nameof(dim), $"Glu: dim {dim} is out of range for an input of shape {ShapeMath.Format(x.Shape.ToArray())}");
        int size = x.Shape[d];
        if (size % 2 != 0)
            throw new ArgumentException($"Glu: halving dimension must be even, but dimension {d} is size {size} (input shape {ShapeMath.Format(x.Shape.ToArray())})");
        return x.Narrow(d, 0, size / 2) * x.Narrow(d, size / 2, size / 2).Sigmoid();
    }

    /// <summary>softmax(-x) along dim.</summary>
    public static Tensor Softmin(Tensor x, int dim) => (-x).Softmax(dim);

    /// <summary>x / (1 + |x|).</summary>
    public static Tensor Softsign(Tensor x) => x / (x.Abs() + 1.0);

    /// <summary>x - tanh(x).</summary>
    public static Tensor Tanhshrink(Tensor x) => x - x.Tanh();

    /// <summary>x where x &gt; threshold, value elsewhere (the gradient is 0 there, the threshold included).</summary>
    public static Tensor Threshold(Tensor x, double threshold, double value) =>
        Tensor.Where(x > threshold, x, Constant(value, x));

    /// <summary>
    /// x for x &gt; 0, w·x otherwise, with one learned slope or one per channel (dim 1 of the input;
    /// an input of fewer than 2 dims has one channel), as torch.nn.functional.prelu. At 0 the gradient is w.
    /// </summary>
    public static Tensor Prelu(Tensor x, Tensor weight)
    {
        if (weight.NDim > 1)
            throw new ArgumentException($"Prelu: weight must be a scalar or a 1-D tensor, got shape {ShapeMath.Format(weight.Shape.ToArray())}");
        var w = weight;
        if (weight.Numel != 1)
        {
            if (x.NDim == 0) throw new ArgumentException($"Prelu: a 0-d input takes a single weight, got {weight.Numel}");
            int channels = x.NDim > 1 ? x.Shape[1] : 1;
            if (channels != weight.Numel)
                throw new ArgumentException($"Prelu: mismatch of parameter numbers and input channel size: found {weight.Numel} parameters and channel size {channels} (input shape {ShapeMath.Format(x.Shape.ToArray())})");
        }
        if (x.NDim != weight.NDim)
        {
            // One slope per channel, broadcast along every other dim.
            var shape = Enumerable.Repeat(1, x.NDim).ToArray();
            if (x.NDim > 1) shape[1] = weight.Numel;
            w = weight.Reshape(shape);
        }
        return Tensor.Where(x > 0.0, x, w * x);
    }
}
