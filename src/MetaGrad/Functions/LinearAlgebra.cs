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

    // dA = dY · Bᵀ, dB = Aᵀ · dY; over broadcast batch dims the engine sums them back.
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (a, b) = ctx.Saved;
        return (ctx.NeedsInputGrad[0] ? grad.Matmul(b.MT) : null,
                ctx.NeedsInputGrad[1] ? a.MT.Matmul(grad) : null);
    }
}
