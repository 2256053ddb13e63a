namespace MetaGrad.NN;

public static partial class Functional
{
    /// <summary>
    /// softmax(q·kᵀ·scale + bias)·v over the last two dims, [..., L, E] × [..., S, E] × [..., S, Ev]
    /// → [..., L, Ev], as torch.nn.functional.scaled_dot_product_attention. A Bool
    /// <paramref name="attnMask"/> marks with true the positions that take part; a floating one is
    /// added to the scores. <paramref name="isCausal"/> lets query i see keys j ≤ i. The scale
    /// defaults to 1/√E. A row with no position left gets zero weights (PyTorch's safe softmax,
    /// since 2.5) rather than NaN.
    /// </summary>
    public static Tensor ScaledDotProductAttention(Tensor query, Tensor key, Tensor value, Tensor? attnMask = null,
        double dropoutP = 0, bool isCausal = false, double? scale = null, Generator? generator = null)
    {
        if (query.NDim < 2 || key.NDim < 2 || value.NDim < 2)
            throw new ArgumentException("ScaledDotProductAttention: query, key and value need at least 2 dims ([..., L, E], [..., S, E], [..., S, Ev])");
        if (query.Shape[^1] != key.Shape[^1])
            throw new ArgumentException($"ScaledDotProductAttention: query's last dim {query.Shape[^1]} must equal key's {key.Shape[^1]}");
        if (key.Shape[^2] != value.Shape[^2])
            throw new ArgumentException($"ScaledDotProductAttention: key has {key.Shape[^2]} positions but value has {value.Shape[^2]}");
        if (isCausal && attnMask is not null)
            throw new ArgumentException("ScaledDotProductAttention: pass either an attention mask or isCausal, not both (as PyTorch)");
        double factor = scale ?? 1 / Math.Sqrt(query.Shape[^1]);
        // Without dropout, one fused node that never forms the [L, S] weights (a mask is read
        // through its broadcast strides).
        if (dropoutP == 0 && (attnMask is null ? Functions.FusedAttention.Covers(query, key, value) : Functions.FusedAttention.Covers(query, key, value, attnMask)))
            return Functions.FusedAttention.Run(query, key, value, isCausal, factor, attnMask);
        return ComposedAttention(query, key, value, attnMask, dropoutP, isCausal, factor, generator);
    }

    /// <summary>
    /// Scaled dot-product attention in recorded tensor operations, for any mask, dropout and
    /// broadcasting: the reference the fused node is tested against, and its recorded backward.
    /// </summary>
    internal static Tensor ComposedAttention(Tensor query, Tensor key, Tensor value, Tensor? attnMask, double dropoutP, bool isCausal, double scale,
        Generator? generator)
    {
        int l = query.Shape[^2], s = key.Shape[^2];
        var scores = query.Matmul(key.Transpose(-2, -1)) * scale;
        var masked = isCausal || attnMask is not null;
        if (isCausal) attnMask = Tensor.Arange(l).Unsqueeze(1) >= Tensor.Arange(s);   // the lower triangle, diagonal included
        if (attnMask is not null)
            scores = attnMask.DType == DType.Bool ? scores.MaskedFill(!attnMask, double.NegativeInfinity) : scores + attnMask;

        var weights = masked ? SafeSoftmax(scores) : scores.Softmax(-1);
        if (dropoutP > 0) weights = Dropout(weights, dropoutP, training: true, generator);
        return weights.Matmul(value);
    }

    /// <summary>Softmax over the last dim, with zeros for a row whose scores are all -inf (every position masked).</summary>
    internal static Tensor SafeSoftmax(Tensor scores) =>
        scores.NDim == 0 ? scores.Softmax(-1) : new Functions.Softmax(scores.NDim - 1, zeroEmptyRows: true).Apply(scores);
}
