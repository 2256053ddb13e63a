using MetaGrad.Backends;

namespace MetaGrad.Functions;

/// <summary>
/// A 2-D convolution of any groups as one node: the backend's implicit GEMM (a direct kernel per
/// plane for a depthwise one) never stores the windows' columns, which the composed form
/// (<see cref="Unfold"/> and a matrix product) records for the backward. Inputs x [N, C, H, W],
/// weight [O, C/groups, kh, kw] and optionally bias [O].
/// The backward falls back to the composed form when the backward itself is recorded
/// (higher-order gradients, a gradient penalty), and tests hold the two equal.
/// </summary>
internal sealed class FusedConv2d(Windows2d windows, int groups = 1) : NaryFunction
{
    internal Windows2d Windows => windows;

    internal int Groups => groups;

    /// <summary>
    /// Whether the fused node can run this call: a backend with the kernel, all on one backend, and
    /// a product to compute (no channels in or out leaves the composed form's zeros).
    /// </summary>
    public static bool Covers(Tensor input, Tensor weight, Tensor? bias) =>
        input.Backend is IFusedKernels && weight.Backend == input.Backend && (bias is null || bias.Backend == input.Backend)
        && weight.Numel > 0;

    protected override Tensor Forward(Context ctx, Tensor[] inputs)
    {
        var (x, weight, bias) = (inputs[0], inputs[1], inputs.Length > 2 ? inputs[2] : null);
        if (ctx.NeedsInputGrad.Any(n => n)) ctx.Save(inputs);
        return ((IFusedKernels)x.Backend).Conv2dForward(x, weight, bias, windows, groups);
    }

    protected override Tensor?[] Backward(Context ctx, Tensor grad)
    {
        var needs = ctx.NeedsInputGrad;
        var saved = ctx.Saved;
        var inputs = Enumerable.Range(0, needs.Count).Select(i => saved[i]).ToArray();
        if (Autograd.IsGradEnabled) return RecordedBackward(needs, inputs, grad);
        var g = ((IFusedKernels)grad.Backend).Conv2dBackward(inputs[0], inputs[1], grad, windows, groups, needs[0], needs[1], needs.Count > 2 && needs[2]);
        Tensor?[] all = [g.Input, g.Weight, g.Bias];
        return all[..needs.Count];
    }

    // createGraph: the composed form's graph, differentiated with its own graph recorded.
    Tensor?[] RecordedBackward(IReadOnlyList<bool> needs, Tensor[] inputs, Tensor grad)
    {
        var wanted = Enumerable.Range(0, needs.Count).Where(i => needs[i]).ToArray();
        var y = NN.Functional.ComposedConv2d(inputs[0], inputs[1], inputs.Length > 2 ? inputs[2] : null, windows, groups);
        var grads = Autograd.Grad([y], [.. wanted.Select(i => inputs[i])], [grad], createGraph: true, allowUnused: true);
        var result = new Tensor?[needs.Count];
        for (int i = 0; i < wanted.Length; i++) result[wanted[i]] = grads[i];
        return result;
    }
}
