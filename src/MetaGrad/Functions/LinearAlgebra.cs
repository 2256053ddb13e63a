namespace MetaGrad.Functions;

/// <summary>
/// Batched matrix product a [..., n, k] @ b [..., k, m] with broadcast batch dims. The 1-D cases
/// of torch.matmul are reduced to this one by the Tensor layer (unsqueeze, then squeeze).
/// </summary>
internal sealed class Matmul : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor a, Tensor b)
    {
        ctx.Save(a, b);
        return a.Backend.Matmul(a, b);
    }

    // dA = dY · Bᵀ, dB = Aᵀ · dY; over broadcast batch dims the engine sums them back. A matrix
    // stored column by column (Linear's Wᵀ) gets its gradient computed transposed, (dYᵀ·A)ᵀ, so
    // that it comes out in the same layout, as PyTorch's mm_mat2_backward does: in row order
    // it reached W's .Grad as a transposed view, and cloning that was an element-by-element
    // transpose, 5% of an MLP training step.
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (a, b) = ctx.Saved;
        Tensor? da = null, db = null;
        if (ctx.NeedsInputGrad[0]) da = ColumnMajor(a) && grad.NDim == 2 ? b.Matmul(grad.MT).MT : grad.Matmul(b.MT);
        if (ctx.NeedsInputGrad[1]) db = ColumnMajor(b) && grad.NDim == 2 ? grad.MT.Matmul(a).MT : a.MT.Matmul(grad);
        return (da, db);
    }

    static bool ColumnMajor(Tensor t) =>
        t.NDim == 2 && t.Layout.Strides[0] == 1 && t.Layout.Strides[1] == t.Layout.Shape[0] && t.Layout.Shape[1] > 1;
}
