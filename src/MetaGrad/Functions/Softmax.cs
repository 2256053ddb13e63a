using MetaGrad.Backends;

namespace MetaGrad.Functions;

/// <summary>
/// Softmax along a dim as one node: a single-pass kernel forward, and the backward
/// y ⊙ (g - Σ g⊙y) written in tensor operations (so it differentiates again). Composing it from
/// max, exp, sum and divide gives the same values through eight nodes; this earns its place by
/// being the core of every classifier's loss.
/// </summary>
internal sealed class Softmax(int dim) : UnaryFunction
{
    internal int Dim => dim;

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        Tensor y = x.Backend.Softmax(x, dim, log: false);
        ctx.Save(y);
        return y;
    }

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var y = ctx.Saved[0];
        return y * (grad - (grad * y).Sum(dim, keepDim: true));
    }
}

/// <summary>log softmax along a dim as one node; backward g - softmax(x)·Σ g = g - exp(y)·Σ g.</summary>
internal sealed class LogSoftmax(int dim) : UnaryFunction
{
    internal int Dim => dim;

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        Tensor y = x.Backend.Softmax(x, dim, log: true);
        ctx.Save(y);
        return y;
    }

    protected override Tensor Backward(Context ctx, Tensor grad) =>
        grad - ctx.Saved[0].Exp() * grad.Sum(dim, keepDim: true);
}
