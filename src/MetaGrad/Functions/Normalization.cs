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
        var wanted = Enumerable.Range(0, inputs.Length).Where(i => needed[i]).ToArray();
        var grads = Autograd.Grad([y], [.. wanted.Select(i => inputs[i])], [grad], createGraph: true, allowUnused: true);
        var result = new Tensor?[inputs.Length];
        for (int k = 0; k < wanted.Length; k++) result[wanted[k]] = grads[k];
        return result;
    }
}
