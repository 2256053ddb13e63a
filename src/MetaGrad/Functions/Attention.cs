using MetaGrad.Backends;

namespace MetaGrad.Functions;

/// <summary>
/// Scaled dot-product attention as one node, for the cases the fused kernel covers (no mask, the
/// causal one, or a mask of the caller's own that needs no gradient; no dropout): the backend's
/// tiled kernel with an online softmax keeps O(T·d) memory where the composed form records the
/// [L, S] scores and weights (FlashAttention's idea on the CPU). Inputs q [B, L, E], k [B, S, E],
/// v [B, S, Ev]; a mask is an additive bias seen as [B, L, S] through strides (a padding mask is
/// never copied out per head and row). <see cref="Composed"/> is the same computation in tensor
/// operations: the backward falls back to it when the backward itself is recorded (higher-order
/// gradients), and tests hold the two equal.
/// </summary>
internal sealed class FusedAttention(bool causal, double scale, int[]? lead = null) : NaryFunction
{
    internal (bool Causal, double Scale) Settings => (causal, scale);

    /// <summary>The dims q had before its leading ones were flattened to [B, L, E]: a mask broadcasts over them.</summary>
    internal int[] Lead => lead ?? [];

    /// <summary>Whether the fused node can run this call: a backend with the kernel, one floating dtype, keys to attend to.</summary>
    public static bool Covers(Tensor q, Tensor k, Tensor v) =>
        q.Backend is IFusedKernels && q.DType.IsFloatingPoint() && k.DType == q.DType && v.DType == q.DType
        && k.Shape[^2] > 0 && q.Backend == k.Backend && q.Backend == v.Backend
        && q.NDim == k.NDim && q.NDim == v.NDim && q.Layout.Shape[..^2].SequenceEqual(k.Layout.Shape[..^2]) && q.Layout.Shape[..^2].SequenceEqual(v.Layout.Shape[..^2]);   // no broadcasting

    /// <summary>
    /// Whether it can run with <paramref name="mask"/> too: a Bool mask or one of q's dtype, on q's
    /// backend, that broadcasts to [..., L, S] without widening q's batch dims, and whose own
    /// gradient nobody wants (a learned bias takes the composed form, which differentiates it).
    /// </summary>
    public static bool Covers(Tensor q, Tensor k, Tensor v, Tensor mask)
    {
        if (!Covers(q, k, v) || (mask.DType != DType.Bool && mask.DType != q.DType) || mask.Backend != q.Backend) return false;
        if (mask.RequiresGrad && Autograd.IsGradEnabled) return false;
        int[] target = [.. q.Layout.Shape[..^2], q.Shape[^2], k.Shape[^2]];
        if (mask.NDim > target.Length) return false;
        for (int d = 1; d <= mask.NDim; d++)
            if (mask.Shape[^d] != 1 && mask.Shape[^d] != target[^d]) return false;
        return true;
    }

    /// <summary>
    /// Attention over the last two dims of q, k, v with any equal leading dims, as one node; a
    /// <paramref name="mask"/> (see <see cref="Covers(Tensor, Tensor, Tensor, Tensor)"/>): Bool,
    /// true where a position takes part, or added to the scores. The mask is the node's fourth
    /// input, as given: a tracer sees it computed from the model's inputs (a padding mask).
    /// </summary>
    public static Tensor Run(Tensor q, Tensor k, Tensor v, bool causal, double scale, Tensor? mask = null)
    {
        int l = q.Shape[^2], s = k.Shape[^2], e = q.Shape[^1], ev = v.Shape[^1];
        int[] lead = q.Layout.Shape[..^2];
        Tensor[] inputs = [q.Reshape(-1, l, e).Contiguous(), k.Reshape(-1, s, e).Contiguous(), v.Reshape(-1, s, ev).Contiguous()];
        var y = new FusedAttention(causal, scale, lead).Apply(mask is null ? inputs : [.. inputs, mask]);
        return y.Reshape([.. lead, l, ev]);
    }

    // The mask made additive at its own size, then seen as [..., L, S] by broadcast strides.
    Tensor Bias(Tensor mask, int l, int s, DType dtype)
    {
        var additive = mask.DType == DType.Bool ? Tensor.Zeros(mask.Shape.ToArray(), dtype).MaskedFill(!mask, double.NegativeInfinity) : mask;
        return additive.Expand([.. Lead, l, s]);
    }

    // The bias as the kernel reads it: each flattened batch entry's offset through the leading
    // dims' strides (0 where broadcast), then the row and column strides.
    static AttentionBias? KernelBias(Tensor? bias)
    {
        if (bias is null) return null;
        var layout = bias.Layout;
        int rank = layout.Rank, batch = 1;
        for (int d = 0; d < rank - 2; d++) batch *= layout.Shape[d];
        var offsets = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            int at = layout.Offset, rest = b;
            for (int d = rank - 3; d >= 0; d--)
            {
                at += rest % layout.Shape[d] * layout.Strides[d];
                rest /= layout.Shape[d];
            }
            offsets[b] = at;
        }
        return new AttentionBias(bias, offsets, layout.Strides[^2], layout.Strides[^1]);
    }

    protected override Tensor Forward(Context ctx, Tensor[] inputs)
    {
        var (q, k, v) = (inputs[0], inputs[1], inputs[2]);
        var bias = inputs.Length > 3 ? Bias(inputs[3], q.Shape[1], k.Shape[1], q.DType) : null;
        var result = ((IFusedKernels)q.Backend).AttentionForward(q, k, v, causal, scale, KernelBias(bias));
        Tensor output = result.Output;
        if (ctx.NeedsInputGrad.Any(x => x)) ctx.Save(bias is null ? [q, k, v, output, result.LogSumExp] : [q, k, v, output, result.LogSumExp, bias]);
        return output;
    }

    protected override Tensor?[] Backward(Context ctx, Tensor grad)
    {
        var saved = ctx.Saved;
        var (q, k, v, output, logSumExp) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
        var bias = saved.Count > 5 ? saved[5] : null;
        if (Autograd.IsGradEnabled) return RecordedBackward(ctx, [q, k, v], bias, grad);
        var g = ((IFusedKernels)grad.Backend).AttentionBackward(q, k, v, new AttentionResult(output, logSumExp), grad.Contiguous(), causal, scale,
            KernelBias(bias));
        Tensor[] all = [g.Query, g.Key, g.Value];
        var grads = new Tensor?[ctx.NeedsInputGrad.Count];   // none for a mask
        for (int i = 0; i < 3; i++) grads[i] = ctx.NeedsInputGrad[i] ? all[i] : null;
        return grads;
    }

    // createGraph: the composed form's graph, differentiated with its own graph recorded.
    Tensor?[] RecordedBackward(Context ctx, Tensor[] inputs, Tensor? bias, Tensor grad)
    {
        var wanted = Enumerable.Range(0, 3).Where(i => ctx.NeedsInputGrad[i]).ToArray();
        var (q, k, v) = (inputs[0], inputs[1], inputs[2]);
        int l = q.Shape[^2], s = k.Shape[^2];
        var mask = bias?.Reshape(-1, l, s);
        // The composed form takes one mask: the causal one folded into the bias (a multi-head
        // layer's causal hint with its padding), which its isCausal would otherwise replace.
        if (causal && mask is not null) mask = mask.MaskedFill(Tensor.Arange(l).Unsqueeze(1) < Tensor.Arange(s), double.NegativeInfinity);
        var y = NN.Functional.ComposedAttention(q, k, v, mask, 0, causal && mask is null, scale, null);
        var grads = Autograd.Grad([y], [.. wanted.Select(i => inputs[i])], [grad], createGraph: true, allowUnused: true);
        var result = new Tensor?[ctx.NeedsInputGrad.Count];
        for (int i = 0; i < wanted.Length; i++) result[wanted[i]] = grads[i];
        return result;
    }

    /// <summary>softmax(scale·q·kᵀ (causal: −∞ above the diagonal))·v in recorded tensor operations.</summary>
    public static Tensor Composed(Tensor q, Tensor k, Tensor v, bool causal, double scale) =>
        NN.Functional.ComposedAttention(q, k, v, null, 0, causal, scale, null);
}
