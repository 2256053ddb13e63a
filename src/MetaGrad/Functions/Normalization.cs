using MetaGrad.Backends;

namespace MetaGrad.Functions;

/// <summary>
/// Batch normalisation with the batch's own statistics (training), as one node: y = x̂·γ + β with
/// x̂ = (x − μ)/σ, μ and σ² (biased) per channel over every dim but 1. Written from primitives it
/// records a dozen nodes whose backward passes over the whole batch twenty-odd times; here the
/// backward is the closed form (per channel, M values):
///   dβ = Σ g,  dγ = Σ g·x̂,  dx = γ/σ · (g − dβ/M − x̂·dγ/M).
/// Inputs: x, then γ and β when affine. <see cref="Mean"/> and <see cref="Variance"/> are kept for
/// the caller's running statistics.
/// </summary>
internal sealed class BatchNormTraining(int[] dims, double eps) : NaryFunction
{
    Tensor _invStd = null!;
    int[] _channelShape = [];

    /// <summary>The batch mean, shaped to broadcast against x.</summary>
    public Tensor Mean { get; private set; } = null!;

    /// <summary>The batch's biased variance, shaped to broadcast against x.</summary>
    public Tensor Variance { get; private set; } = null!;

    BatchNormStatistics? _fused;

    protected override Tensor Forward(Context ctx, Tensor[] inputs)
    {
        var x = inputs[0];
        if (x.Backend is IFusedKernels kernels && inputs.All(t => t.Backend == x.Backend))
        {
            // The backend's kernel: two passes for the statistics, one for the output.
            var fused = kernels.BatchNormForward(x, inputs.Length > 1 ? inputs[1] : null, inputs.Length > 1 ? inputs[2] : null, eps);
            _fused = fused;
            _channelShape = [.. Enumerable.Range(0, x.NDim).Select(d => d == 1 ? x.Shape[1] : 1)];
            Mean = ((Tensor)fused.Mean).Reshape(_channelShape);
            Variance = ((Tensor)fused.Variance).Reshape(_channelShape);
            _invStd = ((Tensor)fused.InvStd).Reshape(_channelShape);
            ctx.Save(inputs);
            return fused.Output;
        }
        Mean = x.Mean(dims, keepDim: true);
        Variance = x.Var(dims, correction: 0, keepDim: true);
        _invStd = (Variance + eps).Rsqrt();
        _channelShape = Mean.Shape.ToArray();
        ctx.Save(inputs);
        // y = x·scale + shift, the per-channel scale and shift folded first (two passes over x).
        var scale = inputs.Length > 1 ? _invStd * inputs[1].Reshape(_channelShape) : _invStd;
        var shift = inputs.Length > 1 ? inputs[2].Reshape(_channelShape) - Mean * scale : -Mean * scale;
        return x * scale + shift;
    }

    protected override Tensor?[] Backward(Context ctx, Tensor grad)
    {
        var saved = ctx.Saved;
        var inputs = Enumerable.Range(0, ctx.NeedsInputGrad.Count).Select(i => saved[i]).ToArray();
        if (Autograd.IsGradEnabled) return Recorded(inputs, grad, ctx.NeedsInputGrad);
        var x = inputs[0];
        if (_fused is { } forward && grad.Backend is IFusedKernels kernels)
        {
            var g = kernels.BatchNormBackward(x, inputs.Length > 1 ? inputs[1] : null, forward, grad, ctx.NeedsInputGrad[0],
                affine: inputs.Length > 1 && (ctx.NeedsInputGrad[1] || ctx.NeedsInputGrad[2]));
            if (inputs.Length == 1) return [g.Input];
            return [g.Input, ctx.NeedsInputGrad[1] ? g.Weight : null, ctx.NeedsInputGrad[2] ? g.Bias : null];
        }
        double count = x.Numel / (double)Math.Max(Mean.Numel, 1);
        var normalized = (x - Mean) * _invStd;
        var dBias = grad.Sum(dims, keepDim: true);
        var dWeight = (grad * normalized).Sum(dims, keepDim: true);
        var scale = inputs.Length > 1 ? _invStd * inputs[1].Reshape(_channelShape) : _invStd;
        var dx = ctx.NeedsInputGrad[0] ? (grad - dBias / count - normalized * (dWeight / count)) * scale : null;
        if (inputs.Length == 1) return [dx];
        int channels = inputs[1].Numel;
        return [dx, ctx.NeedsInputGrad[1] ? dWeight.Reshape(channels) : null, ctx.NeedsInputGrad[2] ? dBias.Reshape(channels) : null];
    }

    // When the backward itself is recorded (higher-order gradients), the same computation in
    // primitives is differentiated with its graph, so the statistics' dependence on x is kept.
    Tensor?[] Recorded(Tensor[] inputs, Tensor grad, IReadOnlyList<bool> needed)
    {
        var x = inputs[0];
        var mean = x.Mean(dims, keepDim: true);
        var y = (x - mean) / (x.Var(dims, correction: 0, keepDim: true) + eps).Sqrt();
        if (inputs.Length > 1) y = y * inputs[1].Reshape(_channelShape) + inputs[2].Reshape(_channelShape);
        return RecordedGradients.Of(y, inputs, grad, needed);
    }
}

/// <summary>
/// Layer normalisation over the trailing normalized dims as one node: y = x̂·γ + β with
/// x̂ = (x − μ)/σ per row (μ, σ² biased, over the row's D values), γ and β each optional and shaped
/// as the normalized dims. The backward is the closed form per row,
///   dx = (gγ − mean(gγ) − x̂·mean(gγ·x̂))/σ,  dγ = Σ_rows g·x̂,  dβ = Σ_rows g,
/// computed by the backend's kernel (composed, the formula recorded a dozen nodes and the
/// Transformer layer's step spent a sixth of its time in them). Inputs: x, then γ and β when given.
/// </summary>
internal sealed class LayerNormRows(int[] normalizedShape, bool hasWeight, bool hasBias, double eps) : NaryFunction
{
    LayerNormStatistics _forward;
    int _rowLength;

    /// <summary>The normalized (trailing) dims, whether γ and β are inputs, and eps: for exporters.</summary>
    public (int[] NormalizedShape, bool HasWeight, bool HasBias, double Eps) Settings => (normalizedShape, hasWeight, hasBias, eps);

    /// <summary>Whether the fused node serves this input: a backend with the kernels and float32/float64 throughout.</summary>
    public static bool Serves(Tensor x, Tensor? weight, Tensor? bias) =>
        x.Backend is IFusedKernels && (x.DType == DType.Float32 || x.DType == DType.Float64)
        && (weight is null || (weight.DType == x.DType && weight.Backend == x.Backend))
        && (bias is null || (bias.DType == x.DType && bias.Backend == x.Backend));

    protected override Tensor Forward(Context ctx, Tensor[] inputs)
    {
        var x = inputs[0];
        _rowLength = normalizedShape.Aggregate(1, (a, b) => a * b);
        Tensor? weight = hasWeight ? inputs[1] : null, bias = hasBias ? inputs[^1] : null;
        _forward = ((IFusedKernels)x.Backend).LayerNormForward(x, _rowLength, weight, bias, eps);
        ctx.Save(inputs);
        return _forward.Output;
    }

    protected override Tensor?[] Backward(Context ctx, Tensor grad)
    {
        var saved = ctx.Saved;
        var inputs = Enumerable.Range(0, ctx.NeedsInputGrad.Count).Select(i => saved[i]).ToArray();
        if (Autograd.IsGradEnabled) return Recorded(inputs, grad, ctx.NeedsInputGrad);
        var x = inputs[0];
        bool needWeight = hasWeight && ctx.NeedsInputGrad[1], needBias = hasBias && ctx.NeedsInputGrad[^1];
        var g = ((IFusedKernels)x.Backend).LayerNormBackward(x, _rowLength, hasWeight ? inputs[1] : null, _forward, grad,
            ctx.NeedsInputGrad[0], needWeight, needBias);
        var result = new Tensor?[inputs.Length];
        result[0] = g.Input is { } dx ? (Tensor)dx : null;
        if (needWeight) result[1] = ((Tensor)g.Weight!.Value).Reshape(normalizedShape);
        if (needBias) result[^1] = ((Tensor)g.Bias!.Value).Reshape(normalizedShape);
        return result;
    }

    // When the backward itself is recorded (higher-order gradients), the composed formula is
    // differentiated with its graph, so the statistics' dependence on x is kept.
    Tensor?[] Recorded(Tensor[] inputs, Tensor grad, IReadOnlyList<bool> needed)
    {
        var y = NN.Functional.ComposedLayerNorm(inputs[0], normalizedShape, hasWeight ? inputs[1] : null, hasBias ? inputs[^1] : null, eps);
        return RecordedGradients.Of(y, inputs, grad, needed);
    }
}

/// <summary>
/// The gradients of a fused node's inputs when its backward is itself recorded: y, the node's output
/// recomputed from the same inputs in tensor operations, differentiated with its graph kept.
/// </summary>
static class RecordedGradients
{
    public static Tensor?[] Of(Tensor y, Tensor[] inputs, Tensor grad, IReadOnlyList<bool> needed)
    {
        var wanted = Enumerable.Range(0, inputs.Length).Where(i => needed[i]).ToArray();
        var grads = Autograd.Grad([y], [.. wanted.Select(i => inputs[i])], [grad], createGraph: true, allowUnused: true);
        var result = new Tensor?[inputs.Length];
        for (int k = 0; k < wanted.Length; k++) result[wanted[k]] = grads[k];
        return result;
    }
}
