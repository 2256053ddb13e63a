using MetaGrad.Backends;
using MetaGrad.Functions;

namespace MetaGrad;

// Running reductions along a dim (cumsum, cumprod, logcumsumexp) and the product reduction.
public partial class Tensor
{
    /// <summary>
    /// The running sum along dim: y_j = x_0 + … + x_j (torch.cumsum). Integer and Bool tensors give
    /// Int64, as in PyTorch; a 0-d tensor is its own running sum.
    /// </summary>
    public Tensor Cumsum(int dim) => Scan(dim, "Cumsum", ScanOp.Sum, d => new Functions.Cumsum(d));

    /// <summary>
    /// The running product along dim: y_j = x_0·…·x_j (torch.cumprod). Integer and Bool tensors give
    /// Int64. The gradient is exact where x holds zeros, as PyTorch's.
    /// </summary>
    public Tensor Cumprod(int dim) => Scan(dim, "Cumprod", ScanOp.Prod, d => new Functions.Cumprod(d));

    /// <summary>
    /// The running log Σ exp along dim: y_j = log(e^x_0 + … + e^x_j) (torch.logcumsumexp), without
    /// overflow or underflow for any spread of values. Floating tensors only, as in PyTorch.
    /// </summary>
    public Tensor Logcumsumexp(int dim)
    {
        if (!DType.IsFloatingPoint())
            throw new ArgumentException($"Logcumsumexp: expected a floating point input, got {DType}");
        return Scan(dim, "Logcumsumexp", ScanOp.LogSumExp, d => new Functions.Logcumsumexp(d));
    }

    Tensor Scan(int dim, string op, ScanOp kernel, Func<int, UnaryFunction> function)
    {
        int d = ShapeMath.Dim(dim, NDim, op);
        var integral = !DType.IsFloatingPoint();
        if (NDim == 0) return integral ? To(DType.Int64).Clone() : Clone();
        if (integral) return Backend.Scan(kernel, this, d);   // no gradient: outside the graph
        return function(d).Apply(this);
    }

    /// <summary>The product of all elements (0-d; 1 when empty). Integer and Bool tensors give Int64.</summary>
    public Tensor Prod() => Reshape(-1).Prod(0);

    /// <summary>
    /// The product along dim (torch.prod(dim)). Its gradient, Π of the other elements, is exact
    /// where x holds zeros (no division by x).
    /// </summary>
    public Tensor Prod(int dim, bool keepDim = false)
    {
        int d = ShapeMath.Dim(dim, NDim, "Prod");
        if (NDim == 0) return DType.IsFloatingPoint() ? Clone() : To(DType.Int64).Clone();
        if (!DType.IsFloatingPoint()) return ((Tensor)Backend.Reduce(ReduceOp.Prod, this, [d])).SqueezeIf(!keepDim, [d]);
        return new Functions.Prod(d, keepDim).Apply(this);
    }
}
