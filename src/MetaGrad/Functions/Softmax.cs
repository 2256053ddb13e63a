using MetaGrad.Backends;

namespace MetaGrad.Functions;

/// <summary>
/// Softmax along a dim as one node: a single-pass kernel forward, and the backward
/// y ⊙ (g - Σ g⊙y): a row kernel over the last dim, written in tensor operations otherwise and
/// whenever it is recorded (so it differentiates again). Composing it from
/// max, exp, sum and divide gives the same values through eight nodes; this earns its place by
/// being the core of every classifier's loss.
/// </summary>
/// With <paramref name="zeroEmptyRows"/> (the last dim only), a row of all -inf (every position
/// masked) gives zeros and no gradient, as PyTorch's safe softmax: the backward's y ⊙ (…) is zero there.
internal sealed class Softmax(int dim, bool zeroEmptyRows = false) : UnaryFunction
{
    internal int Dim => dim;

    /// <summary>Whether a row of all -inf comes out as zeros (an ONNX export adds the same rule after its Softmax).</summary>
    internal bool ZeroEmptyRows => zeroEmptyRows;

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        Tensor y = x.Backend.Softmax(x, dim, log: false, zeroEmptyRows);
        ctx.Save(y);
        return y;
    }

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var y = ctx.Saved[0];
        if (SoftmaxGradient.ByKernel(y, grad, dim) is { } kernels) return kernels.SoftmaxBackward(y, grad, dim, log: false);
        return y * (grad - (grad * y).Sum(dim, keepDim: true));
    }
}

/// <summary>When the softmax nodes' backward runs as the backend's row kernel instead of tensor operations.</summary>
static class SoftmaxGradient
{
    /// <summary>
    /// The backend's kernels when they serve: not while the backward is recorded (higher-order
    /// gradients need the tensor operations), float32 or float64 on one backend.
    /// </summary>
    public static IFusedKernels? ByKernel(Tensor y, Tensor grad, int dim) =>
        !Autograd.IsGradEnabled && y.Backend is IFusedKernels kernels && grad.Backend == y.Backend
        && (y.DType == DType.Float32 || y.DType == DType.Float64) && grad.DType == y.DType
        && y.NDim > 0 && grad.Shape.SequenceEqual(y.Shape)
            ? kernels : null;
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

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var y = ctx.Saved[0];
        if (SoftmaxGradient.ByKernel(y, grad, dim) is { } kernels) return kernels.SoftmaxBackward(y, grad, dim, log: true);
        return grad - y.Exp() * grad.Sum(dim, keepDim: true);
    }
}
