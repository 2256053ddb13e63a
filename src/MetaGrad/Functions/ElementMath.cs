using MetaGrad.Backends;

namespace MetaGrad.Functions;

// Elementwise functions of one tensor beyond Arithmetic.cs: the trigonometric and hyperbolic
// family, other bases' exp and log, and the step functions whose gradient is zero. Inputs arrive
// floating (the Tensor layer converts integers, as PyTorch's unary float ops do).

/// <summary>A kernel of <see cref="MathOp"/> as forward, saving input and output; each subclass states its derivative.</summary>
internal abstract class ElementMath(MathOp op) : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        Tensor y = x.Backend.UnaryMath(op, x);
        ctx.Save(x, y);
        return y;
    }

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var (x, y) = ctx.Saved;
        return Derivative(grad, x, y);
    }

    /// <summary>grad·f'(x), given x and y = f(x), in tensor operations.</summary>
    protected abstract Tensor Derivative(Tensor grad, Tensor x, Tensor y);
}

internal sealed class Tan() : ElementMath(MathOp.Tan)
{
    // tan' = 1 + tan²
    protected override Tensor Derivative(Tensor grad, Tensor x, Tensor y) => grad * (y * y + 1.0);
}

internal sealed class Asin() : ElementMath(MathOp.Asin)
{
    // asin' = 1/√(1 − x²)
    protected override Tensor Derivative(Tensor grad, Tensor x, Tensor y) => grad * (1.0 - x * x).Rsqrt();
}

internal sealed class Acos() : ElementMath(MathOp.Acos)
{
    // acos' = −1/√(1 − x²)
    protected override Tensor Derivative(Tensor grad, Tensor x, Tensor y) => -grad * (1.0 - x * x).Rsqrt();
}

internal sealed class Atan() : ElementMath(MathOp.Atan)
{
    // atan' = 1/(1 + x²)
    protected override Tensor Derivative(Tensor grad, Tensor x, Tensor y) => grad / (x * x + 1.0);
}

internal sealed class Sinh() : ElementMath(MathOp.Sinh)
{
    protected override Tensor Derivative(Tensor grad, Tensor x, Tensor y) => grad * x.Cosh();
}

internal sealed class Cosh() : ElementMath(MathOp.Cosh)
{
    protected override Tensor Derivative(Tensor grad, Tensor x, Tensor y) => grad * x.Sinh();
}

internal sealed class Asinh() : ElementMath(MathOp.Asinh)
{
    // asinh' = 1/√(x² + 1)
    protected override Tensor Derivative(Tensor grad, Tensor x, Tensor y) => grad * (x * x + 1.0).Rsqrt();
}

internal sealed class Acosh() : ElementMath(MathOp.Acosh)
{
    // acosh' = 1/√(x² − 1)
    protected override Tensor Derivative(Tensor grad, Tensor x, Tensor y) => grad * (x * x - 1.0).Rsqrt();
}

internal sealed class Atanh() : ElementMath(MathOp.Atanh)
{
    // atanh' = 1/(1 − x²)
    protected override Tensor Derivative(Tensor grad, Tensor x, Tensor y) => grad / (1.0 - x * x);
}

internal sealed class Log2() : ElementMath(MathOp.Log2)
{
    // log₂' = 1/(x·ln 2)
    protected override Tensor Derivative(Tensor grad, Tensor x, Tensor y) => grad / (x * Math.Log(2));
}

internal sealed class Log10() : ElementMath(MathOp.Log10)
{
    // log₁₀' = 1/(x·ln 10)
    protected override Tensor Derivative(Tensor grad, Tensor x, Tensor y) => grad / (x * Math.Log(10));
}

internal sealed class Exp2() : ElementMath(MathOp.Exp2)
{
    // (2^x)' = 2^x·ln 2
    protected override Tensor Derivative(Tensor grad, Tensor x, Tensor y) => grad * y * Math.Log(2);
}

internal sealed class Expm1 : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        Tensor y = x.Backend.Unary(UnaryOp.Expm1, x);
        ctx.Save(y);
        return y;
    }

    // (eˣ − 1)' = eˣ = y + 1
    protected override Tensor Backward(Context ctx, Tensor grad) => grad * (ctx.Saved[0] + 1.0);
}

/// <summary>
/// A piecewise-constant function (floor, ceil, round, trunc, sign): PyTorch records it in the graph
/// with a zero gradient, so a result stays in the graph and its gradient is zeros.
/// </summary>
internal sealed class Step(string name, Func<Tensor, Tensor> kernel) : UnaryFunction
{
    public override string Name => name + "Backward";

    protected override Tensor Forward(Context ctx, Tensor x) => kernel(x);
    protected override Tensor Backward(Context ctx, Tensor grad) => Tensor.ZerosLike(grad);
}

/// <summary>log(x/(1 − x)), x first clamped to [eps, 1 − eps] when eps is given (torch.logit).</summary>
internal sealed class Logit(double? eps) : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        var z = eps is double e ? x.Clamp(e, 1 - e) : x;
        return (z / (1.0 - z)).Log();
    }

    // logit' = 1/(x(1 − x)). PyTorch's rules at the edges: grad·inf at exactly 0 and 1 (so −0 gives
    // the sign of grad, not of −0), zero where the clamp cut x, and without eps NaN below 0 and
    // above 1 (where the formula would give a finite number).
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        var atEdge = (x == 0.0) | (x == 1.0);
        var inner = Tensor.Where(atEdge, grad * double.PositiveInfinity, grad / (x * (1.0 - x)));
        return eps is double e
            ? Tensor.Where((x < e) | (x > 1 - e), Tensor.ZerosLike(inner), inner)
            : Tensor.Where((x < 0.0) | (x > 1.0), Tensor.Scalar(double.NaN, inner.DType), inner);
    }
}
