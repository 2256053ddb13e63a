using MetaGrad.Backends;
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

/// <summary>
/// Cross-entropy of logits [N, C] against class indices [N] as one node, per sample:
/// lse(x_i) − x_i[t_i] (0 where the target is the ignored index). The backward
/// g_i·(softmax(x_i) − onehot(t_i)) is the backend's row kernel; recorded (higher-order
/// gradients), it is log-softmax and a gather in tensor operations. The log-probabilities are
/// never stored: a language model's logits were the largest tensors of its step.
/// </summary>
internal sealed class CrossEntropyRows(Tensor target, int ignoreIndex) : UnaryFunction
{
    Tensor _logSumExp = null!;

    /// <summary>The class indices and the ignored index: for exporters.</summary>
    public (Tensor Target, int IgnoreIndex) Settings => (target, ignoreIndex);

    /// <summary>Whether the fused node serves: a backend with the kernels, float32/float64 logits [N, C], Int64 targets [N].</summary>
    public static bool Serves(Tensor input, Tensor target) =>
        input.Backend is IFusedKernels && input.NDim == 2 && (input.DType == DType.Float32 || input.DType == DType.Float64)
        && target.DType == DType.Int64 && target.NDim == 1 && target.Shape[0] == input.Shape[0] && target.Backend == input.Backend;

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        var (losses, logSumExp) = ((IFusedKernels)x.Backend).CrossEntropyForward(x, target, ignoreIndex);
        _logSumExp = logSumExp;
        ctx.Save(x);
        return losses;
    }

    protected override Tensor? Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        if (!Autograd.IsGradEnabled) return ((IFusedKernels)x.Backend).CrossEntropyBackward(x, target, _logSumExp, grad, ignoreIndex);
        // Recorded: the same losses from log-softmax and a gather, differentiated with their graph.
        var kept = target != (double)ignoreIndex;
        var safe = Tensor.Where(kept, target, Tensor.ZerosLike(target));
        var losses = -x.LogSoftmax(1).Gather(1, safe.Unsqueeze(1)).Squeeze(1) * kept.To(x.DType);
        return Autograd.Grad([losses], [x], [grad], createGraph: true)[0];
    }
}
