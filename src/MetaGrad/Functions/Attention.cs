using MetaGrad.Backends;

namespace MetaGrad.Functions;

/// <summary>
/// Scaled dot-product attention as one node, for the cases the fused kernel covers (no mask or the
/// causal one, no dropout): the backend's tiled kernel with an online softmax keeps O(T·d) memory
/// where the composed form records the [L, S] scores and weights (FlashAttention's idea on the CPU).
/// Inputs q [B, L, E], k [B, S, E], v [B, S, Ev]. <see cref="Composed"/> is the same computation in
/// tensor operations: the backward falls back to it when the backward itself is recorded
/// (higher-order gradients), and tests hold the two equal.
/// </summary>
internal sealed class FusedAttention(bool causal, double scale) : NaryFunction
{
    internal (bool Causal, double Scale) Settings => (causal, scale);

    /// <summary>Whether the fused node can run this call: a backend with the kernel, one floating dtype, keys to attend to.</summary>
    public static bool Covers(Tensor q, Tensor k, Tensor v) =>
        q.Backend is IFusedKernels && q.DType.IsFloatingPoint() && k.DType == q.DType && v.DType == q.DType
        && k.Shape[^2] > 0 && q.Backend == k.Backend && q.Backend == v.Backend
        && q.NDim == k.NDim && q.NDim == v.NDim && q.Layout.Shape[..^2].SequenceEqual(k.Layout.Shape[..^2]) && q.Layout.Shape[..^2].SequenceEqual(v.Layout.Shape[..^2]);   // no broadcasting

    /// <summary>Attention over the last two dims of q, k, v with any equal leading dims, as one node.</summary>
    public static Tensor Run(Tensor q, Tensor k, Tensor v, bool causal, double scale)
    {
        int l = q.Shape[^2], s = k.Shape[^2], e = q.Shape[^1], ev = v.Shape[^1];
        int[] lead = q.Layout.Shape[..^2];
        var y = new FusedAttention(causal, scale).Apply(q.Reshape(-1, l, e).Contiguous(), k.Reshape(-1, s, e).Contiguous(), v.Reshape(-1, s, ev).Contiguous());
        return y.Reshape([.. lead, l, ev]);
    }

    protected override Tensor Forward(Context ctx, Tensor[] inputs)
    {
        var (q, k, v) = (inputs[0], inputs[1], inputs[2]);
        var result = ((IFusedKernels)q.Backend).AttentionForward(q, k, v, causal, scale);
        Tensor output = result.Output;
        if (ctx.NeedsInputGrad.Any(x => x)) ctx.Save(q, k, v, output, result.LogSumExp);
        return output;
    }

    protected override Tensor?[] Backward(Context ctx, Tensor grad)
    {
        var saved = ctx.Saved;
        var (q, k, v, output, logSumExp) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
        if (Autograd.IsGradEnabled) return RecordedBackward(ctx, [q, k, v], grad);
        var g = ((IFusedKernels)grad.Backend).AttentionBackward(q, k, v, new AttentionResult(output, logSumExp), grad.Contiguous(), causal, scale);
        Tensor[] all = [g.Query, g.Key, g.Value];
        return [.. all.Select((t, i) => ctx.NeedsInputGrad[i] ? t : null)];
    }

    // createGraph: the composed form's graph, differentiated with its own graph recorded.
    Tensor?[] RecordedBackward(Context ctx, Tensor[] inputs, Tensor grad)
    {
        var wanted = Enumerable.Range(0, 3).Where(i => ctx.NeedsInputGrad[i]).ToArray();
        var grads = Autograd.Grad([Composed(inputs[0], inputs[1], inputs[2], causal, scale)], [.. wanted.Select(i => inputs[i])], [grad],
            createGraph: true, allowUnused: true);
        var result = new Tensor?[3];
        for (int i = 0; i < wanted.Length; i++) result[wanted[i]] = grads[i];
        return result;
    }

    /// <summary>softmax(scale·q·kᵀ (causal: −∞ above the diagonal))·v in recorded tensor operations.</summary>
    public static Tensor Composed(Tensor q, Tensor k, Tensor v, bool causal, double scale) =>
        NN.Functional.ComposedAttention(q, k, v, null, 0, causal, scale, null);
}
