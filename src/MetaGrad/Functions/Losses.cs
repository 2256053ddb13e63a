namespace MetaGrad.Functions;

/// <summary>
/// Binary cross-entropy of probabilities, elementwise: -[y·log x + (1 - y)·log(1 - x)], each log
/// clamped at -100 as PyTorch does. A node of its own rather than a composition because of its
/// gradient where x is exactly 0 or 1 (a sigmoid saturated in float32): composed, the clamp's zero
/// gradient meets log's infinite one and gives 0·∞ = NaN; PyTorch's formula stays finite.
/// </summary>
internal sealed class BinaryCrossEntropy : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x, Tensor y)
    {
        ctx.Save(x, y);
        return -(y * Clamped(x.Log()) + (1.0 - y) * Clamped((-x).Log1p()));
    }

    // d/dx = (x - y) / (x(1 - x)), the denominator kept at least PyTorch's EPSILON (a float 1e-12);
    // d/dy = log(1 - x) - log x, both clamped as in the forward.
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (x, y) = ctx.Saved;
        return (ctx.NeedsInputGrad[0] ? grad * (x - y) / (x * (1.0 - x)).Clamp(min: Epsilon) : null,
                ctx.NeedsInputGrad[1] ? grad * (Clamped((-x).Log1p()) - Clamped(x.Log())) : null);
    }

    const double Epsilon = 1e-12f;

    static Tensor Clamped(Tensor log) => log.Clamp(min: -100);
}
