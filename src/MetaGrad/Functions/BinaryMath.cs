using MetaGrad.Backends;

namespace MetaGrad.Functions;

// Elementwise functions of two tensors beyond Arithmetic.cs. Operands arrive with one dtype (the
// Tensor layer promotes them); broadcasting is undone by the engine, as for Add.

internal sealed class Atan2 : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor a, Tensor b)
    {
        ctx.Save(a, b);
        return a.Backend.BinaryMath(MathBinaryOp.Atan2, a, b);
    }

    // ∂atan2(a, b)/∂a = b/(a² + b²), ∂/∂b = −a/(a² + b²); at the origin (an infinite reciprocal)
    // libtorch gives 0 rather than 0·inf.
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (a, b) = ctx.Saved;
        var reciprocal = (a * a + b * b).Reciprocal();
        reciprocal = Tensor.Where(reciprocal.IsInf(), Tensor.ZerosLike(reciprocal), reciprocal);
        return (ctx.NeedsInputGrad[0] ? grad * b * reciprocal : null, ctx.NeedsInputGrad[1] ? grad * -a * reciprocal : null);
    }
}

internal sealed class Hypot : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor a, Tensor b)
    {
        Tensor y = a.Backend.BinaryMath(MathBinaryOp.Hypot, a, b);
        ctx.Save(a, b, y);
        return y;
    }

    // ∂√(a² + b²)/∂a = a/y, and likewise for b.
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (a, b, y) = ctx.Saved;
        return (ctx.NeedsInputGrad[0] ? grad * a / y : null, ctx.NeedsInputGrad[1] ? grad * b / y : null);
    }
}

internal sealed class Copysign : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor a, Tensor b)
    {
        Tensor y = a.Backend.BinaryMath(MathBinaryOp.Copysign, a, b);
        ctx.Save(a, y);
        return y;
    }

    // y/a is ±1, the sign flip; PyTorch takes 0 at a = 0 and gives b a zero gradient (the sign is a step).
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (a, y) = ctx.Saved;
        var ga = ctx.NeedsInputGrad[0] ? Tensor.Where(a == 0.0, Tensor.ZerosLike(grad), grad * (y / a)) : null;
        return (ga, ctx.NeedsInputGrad[1] ? Tensor.ZerosLike(grad) : null);
    }
}

internal sealed class Xlogy : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x, Tensor y)
    {
        ctx.Save(x, y);
        return x.Backend.BinaryMath(MathBinaryOp.Xlogy, x, y);
    }

    // ∂/∂x = log y, written xlogy(grad, y) so a zero gradient stays zero where log y is infinite,
    // and 0 where x = 0 and y ≤ 0 (libtorch's rule: x·log y is 0 there whatever y); ∂/∂y = x/y.
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (x, y) = ctx.Saved;
        Tensor? gx = null;
        if (ctx.NeedsInputGrad[0])
        {
            var logY = grad.Xlogy(y);
            gx = Tensor.Where((x == 0.0) & (y <= 0.0), Tensor.ZerosLike(logY), logY);
        }
        return (gx, ctx.NeedsInputGrad[1] ? grad * x / y : null);
    }
}

/// <summary>The remainder of a / b, truncated (fmod) or floored (Python's %).</summary>
internal sealed class Remainder(bool floored) : BinaryFunction
{
    public override string Name => floored ? "RemainderBackward" : "FmodBackward";

    protected override Tensor Forward(Context ctx, Tensor a, Tensor b)
    {
        Tensor y = a.Backend.BinaryMath(floored ? MathBinaryOp.Remainder : MathBinaryOp.Fmod, a, b);
        ctx.Save(a, b, y);
        return y;
    }

    // a − q·b with q held constant: ∂/∂a = 1, ∂/∂b = −q. q is PyTorch's own quotient: trunc(a/b)
    // for fmod, and for remainder (a − y)/b rounded (its div_floor), which never misses by one
    // where a/b rounds up to a whole number.
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (a, b, y) = ctx.Saved;
        if (!ctx.NeedsInputGrad[1]) return (grad, null);
        var quotient = floored ? ((a - y) / b).Round() : (a / b).Trunc();
        return (ctx.NeedsInputGrad[0] ? grad : null, -grad * quotient);
    }
}
