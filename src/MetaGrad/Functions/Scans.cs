using MetaGrad.Backends;

namespace MetaGrad.Functions;

// Running reductions along one dim and the product they give the gradient of. Every backward is
// written in tensor operations (scans included), so each differentiates again.

/// <summary>Running sum along dim (torch.cumsum).</summary>
internal sealed class Cumsum(int dim) : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x) => x.Backend.Scan(ScanOp.Sum, x, dim);

    // y_j = Σ_{i≤j} x_i, so x_i receives Σ_{j≥i} g_j: the running sum taken from the end.
    protected override Tensor Backward(Context ctx, Tensor grad) => Scans.FromEnd(grad, dim, t => t.Cumsum(dim));
}

/// <summary>Running product along dim (torch.cumprod), with a gradient that is exact at zeros.</summary>
internal sealed class Cumprod(int dim) : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return x.Backend.Scan(ScanOp.Prod, x, dim);
    }

    // ∂y_j/∂x_k = Π_{i≤j, i≠k} x_i for j ≥ k. Before a line's first zero that is y_j / x_k (the
    // later y_j are 0 and add nothing); at the first zero z it is the running product with x_z taken
    // as 1; after it every y_j keeps the factor x_z = 0, so nothing flows. y is recomputed from x
    // rather than saved, so that the gradient stays a function of x for double backward.
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        var zero = x == 0.0;
        bool anyZero = zero.Any();
        // The masks below are right for the values but drop how the zeroed terms vary with x; when
        // the backward is itself recorded, the quadratic form keeps every term, as PyTorch does.
        if (anyZero && Autograd.IsGradEnabled) return OmittedProducts(x, grad);
        var beforeFirst = Scans.FromEnd(grad * x.Cumprod(dim), dim, s => s.Cumsum(dim));
        if (!anyZero) return beforeFirst / x;
        var zerosSoFar = zero.Cumsum(dim);
        var firstZero = zero & (zerosSoFar == 1.0);
        var ones = Tensor.OnesLike(x);
        var before = beforeFirst / Tensor.Where(zero, ones, x);
        var atFirst = Scans.FromEnd(grad * Tensor.Where(firstZero, ones, x).Cumprod(dim), dim, s => s.Cumsum(dim));
        return Tensor.Where(zerosSoFar == 0.0, before, Tensor.Where(firstZero, atFirst, Tensor.ZerosLike(x)));
    }

    // x_k receives (Π_{i<k} x_i) · Σ_{j≥k} g_j·Π_{k<i≤j} x_i, one position at a time: O(n²), but
    // a product of x's elements everywhere, so its own derivative is right at zeros too.
    Tensor OmittedProducts(Tensor x, Tensor grad)
    {
        int n = x.Layout.Shape[dim];
        var before = Scans.ExclusiveCumprod(x, dim);
        var columns = new Tensor[n];
        for (int k = 0; k < n; k++)
        {
            var after = x.Narrow(dim, k + 1, n - k - 1).Cumprod(dim);               // Π_{k<i≤j} x_i for j > k
            var omitted = Tensor.Cat([Tensor.OnesLike(before.Narrow(dim, 0, 1)), after], dim);
            columns[k] = (grad.Narrow(dim, k, n - k) * omitted).Sum(dim, keepDim: true) * before.Narrow(dim, k, 1);
        }
        return Tensor.Cat(columns, dim);
    }
}

/// <summary>Running log Σ exp along dim (torch.logcumsumexp), stable for any range of values.</summary>
internal sealed class Logcumsumexp(int dim) : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return x.Backend.Scan(ScanOp.LogSumExp, x, dim);
    }

    // ∂y_j/∂x_k = exp(x_k − y_j) for j ≥ k, so x_k receives Σ_{j≥k} g_j·exp(x_k − y_j). Summed in
    // log space from the end, for the positive and the negative parts of g apart (a log needs a
    // positive argument), so that no exp overflows: exp(x + L(log g⁺ − y)) − exp(x + L(log g⁻ − y)),
    // L the running log Σ exp from the end. The dtype's lowest number stands for log 0.
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        var y = x.Logcumsumexp(dim);
        var logAbs = Tensor.Where(grad == 0.0, Tensor.OnesLike(grad), grad.Abs()).Log();
        var lowest = Tensor.FullLike(grad, -grad.DType.MaxFinite());
        Tensor Part(Tensor logPart) => (Scans.FromEnd(logPart - y, dim, s => s.Logcumsumexp(dim)) + x).Exp();
        return Part(Tensor.Where(grad > 0.0, logAbs, lowest)) - Part(Tensor.Where(grad < 0.0, logAbs, lowest));
    }
}

/// <summary>Product along one dim (torch.prod(dim)); the product of all elements is this over the flattened tensor.</summary>
internal sealed class Prod(int dim, bool keepDim) : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        Tensor y = x.Backend.Reduce(ReduceOp.Prod, x, [dim]);
        return keepDim ? y : y.SqueezeDims([dim]);
    }

    // ∂(Π x_i)/∂x_k = Π_{i≠k} x_i: the product of the elements before k times that of those after,
    // two running products and no division, so zeros need no special case.
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        var g = keepDim ? grad : grad.UnsqueezeDims([dim], x.NDim);
        if (x.Layout.Shape[dim] == 0) return Tensor.ZerosLike(x);
        var before = Scans.ExclusiveCumprod(x, dim);
        var after = Scans.FromEnd(x, dim, t => Scans.ExclusiveCumprod(t, dim));
        return before * after * g;
    }
}

internal static class Scans
{
    /// <summary>A scan run from the end of dim: flip, scan, flip back.</summary>
    public static Tensor FromEnd(Tensor x, int dim, Func<Tensor, Tensor> scan) => scan(x.Flip(dim)).Flip(dim);

    /// <summary>The running product of the elements strictly before each position (1 at the first).</summary>
    public static Tensor ExclusiveCumprod(Tensor x, int dim)
    {
        int n = x.Layout.Shape[dim];
        var shape = (int[])x.Layout.Shape.Clone();
        shape[dim] = 1;
        var one = Tensor.Ones(shape, x.DType);
        return n == 1 ? one : Tensor.Cat([one, x.Narrow(dim, 0, n - 1).Cumprod(dim)], dim);
    }
}
