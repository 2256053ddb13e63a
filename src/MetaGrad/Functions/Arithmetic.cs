using MetaGrad.Backends;

namespace MetaGrad.Functions;

// Elementwise arithmetic. Operands arrive with one dtype (the Tensor layer promotes them) and
// broadcasting is left to the kernels and, on the way back, to the engine's sum-to-shape.

internal sealed class Add : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor a, Tensor b) => a.Backend.Binary(BinaryOp.Add, a, b);
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad) => (grad, grad);
}

internal sealed class Sub : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor a, Tensor b) => a.Backend.Binary(BinaryOp.Sub, a, b);
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad) => (grad, ctx.NeedsInputGrad[1] ? -grad : null);
}

internal sealed class Mul : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor a, Tensor b)
    {
        ctx.Save(a, b);
        return a.Backend.Binary(BinaryOp.Mul, a, b);
    }

    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (a, b) = ctx.Saved;
        return (ctx.NeedsInputGrad[0] ? grad * b : null, ctx.NeedsInputGrad[1] ? grad * a : null);
    }
}

internal sealed class Div : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor a, Tensor b)
    {
        ctx.Save(a, b);
        return a.Backend.Binary(BinaryOp.Div, a, b);
    }

    // d(a/b)/da = 1/b; d(a/b)/db = -a/b².
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (a, b) = ctx.Saved;
        return (ctx.NeedsInputGrad[0] ? grad / b : null, ctx.NeedsInputGrad[1] ? -grad * a / (b * b) : null);
    }
}

internal sealed class Neg : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x) => x.Backend.Unary(UnaryOp.Neg, x);
    protected override Tensor Backward(Context ctx, Tensor grad) => -grad;
}

/// <summary>x ** p for a constant exponent.</summary>
internal sealed class PowScalar(double p) : UnaryFunction
{
    internal double Exponent => p;

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return x.Backend.Binary(BinaryOp.Pow, x, Tensor.Scalar(p, x.DType));
    }

    // d(x^p)/dx = p·x^(p-1), and exactly 0 for p = 0 (PyTorch's choice, which avoids 0·inf at x = 0).
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        return p == 0 ? Tensor.ZerosLike(grad) : grad * p * x.Pow(p - 1);
    }
}

/// <summary>a ** b for tensors.</summary>
internal sealed class Pow : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor a, Tensor b)
    {
        Tensor y = a.Backend.Binary(BinaryOp.Pow, a, b);
        ctx.Save(a, b, y);
        return y;
    }

    // d/da = b·a^(b-1), exactly 0 where b = 0 (as PowScalar: no 0·inf at a = 0);
    // d/db = a^b·ln a, taken as 0 where a = 0 and b ≥ 0 (the limit PyTorch uses).
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (a, b, y) = ctx.Saved;
        var ga = ctx.NeedsInputGrad[0] ? Tensor.Where(b == 0.0, Tensor.ZerosLike(grad), grad * b * a.Pow(b - 1)) : null;
        Tensor? gb = null;
        if (ctx.NeedsInputGrad[1])
        {
            var zeroBase = (a == 0.0) & (b >= 0.0);
            gb = Tensor.Where(zeroBase, Tensor.ZerosLike(y), grad * y * Tensor.Where(zeroBase, Tensor.OnesLike(a), a).Log());
        }
        return (ga, gb);
    }
}

/// <summary>Elementwise maximum or minimum of two tensors.</summary>
internal sealed class ElementwiseExtreme(bool max) : BinaryFunction
{
    public override string Name => max ? "MaximumBackward" : "MinimumBackward";

    protected override Tensor Forward(Context ctx, Tensor a, Tensor b)
    {
        ctx.Save(a, b);
        return a.Backend.Binary(max ? BinaryOp.Maximum : BinaryOp.Minimum, a, b);
    }

    // Where a and b tie, each receives half of the gradient, as in PyTorch.
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (a, b) = ctx.Saved;
        var wins = (max ? a > b : a < b).To(grad.DType);
        var share = wins + (a == b).To(grad.DType) * 0.5;
        return (grad * share, grad * (1.0 - share));
    }
}

internal sealed class Exp : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        Tensor y = x.Backend.Unary(UnaryOp.Exp, x);
        ctx.Save(y);
        return y;
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => grad * ctx.Saved[0];
}

internal sealed class Log : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return x.Backend.Unary(UnaryOp.Log, x);
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => grad / ctx.Saved[0];
}

internal sealed class Log1p : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return x.Backend.Unary(UnaryOp.Log1p, x);
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => grad / (ctx.Saved[0] + 1.0);
}

internal sealed class Sqrt : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        Tensor y = x.Backend.Unary(UnaryOp.Sqrt, x);
        ctx.Save(y);
        return y;
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => grad / (ctx.Saved[0] * 2.0);
}

internal sealed class Sin : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return x.Backend.Unary(UnaryOp.Sin, x);
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => grad * ctx.Saved[0].Cos();
}

internal sealed class Cos : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return x.Backend.Unary(UnaryOp.Cos, x);
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => -grad * ctx.Saved[0].Sin();
}

internal sealed class Abs : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return x.Backend.Unary(UnaryOp.Abs, x);
    }

    // sign(0) = 0: the subgradient PyTorch picks at the kink.
    protected override Tensor Backward(Context ctx, Tensor grad) => grad * ctx.Saved[0].Sign();
}

internal sealed class Erf : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return x.Backend.Unary(UnaryOp.Erf, x);
    }

    // d erf(x)/dx = 2/√π · exp(-x²)
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        return grad * (2.0 / Math.Sqrt(Math.PI)) * (-(x * x)).Exp();
    }
}

internal sealed class Clamp(double? min, double? max) : UnaryFunction
{
    internal (double? Min, double? Max) Bounds => (min, max);

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return x.Backend.Clamp(x, min, max);
    }

    // The gradient passes where min ≤ x ≤ max (bounds included, as in PyTorch).
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        var pass = Tensor.OnesLike(x).To(DType.Bool);
        if (min is double lo) pass &= x >= lo;
        if (max is double hi) pass &= x <= hi;
        return Tensor.Where(pass, grad, Tensor.ZerosLike(grad));
    }
}

/// <summary>A dtype conversion; the gradient converts back.</summary>
internal sealed class Cast(DType dtype) : UnaryFunction
{
    DType _from;

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        _from = x.DType;
        return x.Backend.Cast(x, dtype);
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => grad.To(_from);
}
