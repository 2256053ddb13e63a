using MetaGrad.Backends;

namespace MetaGrad.Functions;

/// <summary>Sum over dims (sorted, distinct, non-empty); reduced dims dropped unless keepDim.</summary>
internal sealed class Sum(int[] dims, bool keepDim) : UnaryFunction
{
    internal (int[] Dims, bool KeepDim) Reduced => (dims, keepDim);

    int[] _inputShape = [];

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        _inputShape = x.Layout.Shape;
        Tensor y = x.Backend.Reduce(ReduceOp.Sum, x, dims);
        return keepDim ? y : y.SqueezeDims(dims);
    }

    // Every summed element receives the output's gradient unchanged: broadcast it back.
    protected override Tensor Backward(Context ctx, Tensor grad) =>
        (keepDim ? grad : grad.UnsqueezeDims(dims, _inputShape.Length)).Expand(_inputShape);
}

/// <summary>
/// Max or min over dims, or over all when dims covers every dim (PyTorch's amax/amin).
/// The seed fixes the gradient: split evenly among all elements that attain the extreme.
/// </summary>
internal sealed class Extreme(int[] dims, bool keepDim, bool max) : UnaryFunction
{
    internal (int[] Dims, bool KeepDim, bool Max) Reduced => (dims, keepDim, max);

    public override string Name => max ? "MaxBackward" : "MinBackward";

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        Tensor y = x.Backend.Reduce(max ? ReduceOp.Max : ReduceOp.Min, x, dims);   // reduced dims kept as 1, to broadcast
        ctx.Save(x, y);
        return keepDim ? y : y.SqueezeDims(dims);
    }

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var (x, y) = ctx.Saved;
        var isExtreme = (x == y).To(x.DType);                               // 1 where x attains the extreme
        var share = isExtreme / isExtreme.Sum(dims, keepDim: true);         // ties split the gradient evenly (the seed)
        return share * (keepDim ? grad : grad.UnsqueezeDims(dims, x.NDim));
    }
}
