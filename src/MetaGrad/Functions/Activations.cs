using MetaGrad.Backends;

namespace MetaGrad.Functions;

// The activations that earn their own backward: each is one kernel forward and a backward
// written from its saved output. The rest (LeakyRelu, Elu, Gelu, Softmax...) are composed from
// primitives in NN/Functional.cs and get their gradients for free.

internal sealed class Relu : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        Tensor y = x.Backend.Unary(UnaryOp.Relu, x);
        ctx.Save(y);
        return y;
    }

    // The gradient at exactly 0 is 0, as in PyTorch.
    protected override Tensor Backward(Context ctx, Tensor grad) => new ThresholdBackward(ctx.Saved[0]).Apply(grad);
}

/// <summary>
/// grad where the ReLU's output is positive, else 0, in one pass (a compare, a cast and a multiply
/// took three over the whole activation). Linear in grad, so its own backward is itself.
/// </summary>
internal sealed class ThresholdBackward(Tensor output) : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor grad) => grad.Backend.Binary(BinaryOp.ThresholdBackward, grad, output);

    protected override Tensor Backward(Context ctx, Tensor grad) => new ThresholdBackward(output).Apply(grad);
}

/// <summary>
/// GELU (exact, x·Φ(x), or PyTorch's tanh approximation) as one kernel forward and one backward
/// (composed, it was five passes each way, and erf element by element). A backward that is itself
/// recorded (higher-order gradients) is the composition of differentiable operations instead.
/// </summary>
internal sealed class GeluFunction(bool tanh) : UnaryFunction
{
    internal bool Tanh => tanh;

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return x.Backend.Unary(tanh ? UnaryOp.GeluTanh : UnaryOp.Gelu, x);
    }

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        if (!Autograd.IsGradEnabled) return grad.Backend.Binary(tanh ? BinaryOp.GeluTanhBackward : BinaryOp.GeluBackward, grad, x);
        if (!tanh)
        {
            // Φ(x) + x·φ(x)
            var cdf = ((x * (1 / Math.Sqrt(2))).Erf() + 1.0) * 0.5;
            var density = (x * x * -0.5).Exp() * (1 / Math.Sqrt(2 * Math.PI));
            return grad * (cdf + x * density);
        }
        const double c = 0.044715;
        double k = Math.Sqrt(2 / Math.PI);
        var t = ((x + x.Pow(3) * c) * k).Tanh();
        return grad * ((t + 1.0) * 0.5 + x * 0.5 * (1.0 - t * t) * ((x * x * (3 * c) + 1.0) * k));
    }
}

/// <summary>
/// LeakyReLU (x where x &gt; 0, else slope·x) as one kernel each way; its gradient is slope at 0, as
/// PyTorch's. A recorded backward (higher-order gradients) is written in differentiable operations.
/// </summary>
internal sealed class LeakyReluFunction(double slope) : UnaryFunction
{
    internal double Slope => slope;

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return ((IFusedKernels)x.Backend).LeakyRelu(x, slope);
    }

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        if (!Autograd.IsGradEnabled) return ((IFusedKernels)grad.Backend).LeakyReluBackward(grad, x, slope);
        return Tensor.Where(x > 0.0, grad, grad * slope);
    }
}

/// <summary>
/// The ELU family (ELU, SELU, CELU) as one kernel each way: scale·x above 0, scale·α·(e^(x·inputScale) - 1)
/// at and below it (its composition of Clamp, Exp, arithmetic and Where made six passes). A
/// recorded backward is written in differentiable operations.
/// </summary>
internal sealed class EluFunction(double alpha, double scale, double inputScale) : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return ((IFusedKernels)x.Backend).Elu(x, alpha, scale, inputScale);
    }

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        if (!Autograd.IsGradEnabled) return ((IFusedKernels)grad.Backend).EluBackward(grad, x, alpha, scale, inputScale);
        return Tensor.Where(x > 0.0, grad * scale, grad * (x.Clamp(max: 0) * inputScale).Exp() * (scale * alpha * inputScale));
    }
}

/// <summary>
/// SiLU as one kernel each way (its composition x·σ(x) took two passes forwards and four
/// backwards). A recorded backward is written in differentiable operations.
/// </summary>
internal sealed class SiluFunction : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return ((IFusedKernels)x.Backend).Silu(x);
    }

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        if (!Autograd.IsGradEnabled) return ((IFusedKernels)grad.Backend).SiluBackward(grad, x);
        var s = x.Sigmoid();
        return grad * s * (x * (1.0 - s) + 1.0);
    }
}

/// <summary>
/// Hardswish as one kernel each way (its composition of comparisons and Where took 17 times
/// libtorch's time). A recorded backward is written in differentiable operations, with libtorch's
/// pieces: 0 up to -3, x/3 + 1/2 strictly inside, 1 from 3 on.
/// </summary>
internal sealed class HardswishFunction : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return ((IFusedKernels)x.Backend).Hardswish(x);
    }

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        if (!Autograd.IsGradEnabled) return ((IFusedKernels)grad.Backend).HardswishBackward(grad, x);
        return Tensor.Where(x <= -3.0, Tensor.ZerosLike(grad), Tensor.Where(x < 3.0, grad * (x / 3.0 + 0.5), grad));
    }
}

internal sealed class Sigmoid : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        Tensor y = x.Backend.Unary(UnaryOp.Sigmoid, x);
        ctx.Save(y);
        return y;
    }

    // σ' = σ(1 - σ)
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var y = ctx.Saved[0];
        return grad * y * (1.0 - y);
    }
}

internal sealed class Tanh : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        Tensor y = x.Backend.Unary(UnaryOp.Tanh, x);
        ctx.Save(y);
        return y;
    }

    // tanh' = 1 - tanh²
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var y = ctx.Saved[0];
        return grad * (1.0 - y * y);
    }
}

/// <summary>log(1 + exp(βx))/β, linear above the threshold, as torch.nn.functional.softplus.</summary>
internal sealed class Softplus(double beta, double threshold) : UnaryFunction
{
    internal (double Beta, double Threshold) Settings => (beta, threshold);

    // One kernel each way for float and double where the backend has it (the composition makes
    // eight passes); the composition for other dtypes and for a recorded backward. An ONNX trace
    // maps this node itself, whichever form ran.
    static bool Fused(Tensor x) => x.DType is DType.Float32 or DType.Float64 && x.Backend is IFusedKernels;

    // max(z, 0) + log1p(exp(-|z|)) never overflows, unlike log(1 + exp(z)).
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        if (Fused(x)) return ((IFusedKernels)x.Backend).Softplus(x, beta, threshold);
        var z = x * beta;
        var smooth = (z.Relu() + (-z.Abs()).Exp().Log1p()) / beta;
        return Tensor.Where(z > threshold, x, smooth);
    }

    // d/dx = σ(βx) below the threshold, 1 above it.
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        if (!Autograd.IsGradEnabled && Fused(x) && grad.DType == x.DType) return ((IFusedKernels)grad.Backend).SoftplusBackward(grad, x, beta, threshold);
        var z = x * beta;
        return Tensor.Where(z > threshold, grad, grad * z.Sigmoid());
    }
}
