namespace MetaGrad.NN;

/// <summary>
/// torch.nn.functional. Composite functions are written from primitive tensor operations, so
/// they get their gradients (and higher-order gradients) without a backward of their own.
/// </summary>
public static class Functional
{
    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x) => x.Relu();

    /// <summary>x for x &gt; 0, slope·x otherwise (the gradient at 0 is the slope, as in PyTorch).</summary>
    public static Tensor LeakyRelu(Tensor x, double negativeSlope = 0.01) => Tensor.Where(x > 0.0, x, x * negativeSlope);

    /// <summary>x for x &gt; 0, α(eˣ - 1) otherwise.</summary>
    public static Tensor Elu(Tensor x, double alpha = 1.0) =>
        // The exponential sees min(x, 0): for a large x, eˣ = inf in the branch Where discards would
        // still meet its zero gradient there, and 0·inf is NaN.
        Tensor.Where(x > 0.0, x, (x.Clamp(max: 0).Exp() - 1.0) * alpha);

    /// <summary>
    /// x·Φ(x) with Φ the standard normal CDF (exact, via erf), or the tanh approximation when
    /// <paramref name="approximate"/> is "tanh", as torch.nn.functional.gelu.
    /// </summary>
    public static Tensor Gelu(Tensor x, string approximate = "none")
    {
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
        // No linear cut-off (threshold ∞): softplus's default one at 20 drops e⁻²⁰ ≈ 2e-9, which
        // float64 resolves; torch.nn.functional.logsigmoid has none either.
        -Softplus(-x, threshold: double.PositiveInfinity);

    /// <summary>log(1 + e^(βx))/β, linear where βx exceeds the threshold.</summary>
    public static Tensor Softplus(Tensor x, double beta = 1, double threshold = 20) => new Functions.Softplus(beta, threshold).Apply(x);

    /// <summary>Hyperbolic tangent.</summary>
    public static Tensor Tanh(Tensor x) => x.Tanh();

    /// <summary>x·σ(x) (SiLU, also called Swish).</summary>
    public static Tensor Silu(Tensor x) => x * x.Sigmoid();

    /// <summary>Softmax along dim.</summary>
    public static Tensor Softmax(Tensor x, int dim) => x.Softmax(dim);

    /// <summary>LogSoftmax along dim.</summary>
    public static Tensor LogSoftmax(Tensor x, int dim) => x.LogSoftmax(dim);
}
