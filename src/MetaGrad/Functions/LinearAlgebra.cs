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
    // transpose every step.
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

// y = x·Wᵀ + b as one node, as PyTorch's linear: the bias joins the product's tiles as they are
// stored (an addition was a pass over the output and a tensor of its own), and an input of any
// rank is one product over all its rows (a
// broadcast matmul ran one product per leading index and summed as many weight gradients).
internal sealed class LinearFunction(int[] inputShape) : NaryFunction
{
    public override string Name => "LinearBackward";

    public static Tensor Apply(Tensor input, Tensor weight, Tensor? bias) =>
        new LinearFunction(input.Shape.ToArray()).Apply(bias is null ? [input, weight] : [input, weight, bias]);

    protected override Tensor Forward(Context ctx, Tensor[] inputs)
    {
        var (x, w, b) = (inputs[0], inputs[1], inputs.Length > 2 ? inputs[2] : null);
        // The input itself is saved (not its rows, made here without a graph), so that a recorded
        // backward reaches it for higher-order gradients.
        ctx.Save(x, w);
        Tensor y = x.Backend.Linear(Rows(x), w, b);
        return y.Reshape([.. inputShape[..^1], w.Shape[0]]);
    }

    protected override Tensor?[] Backward(Context ctx, Tensor grad)
    {
        var (x, w) = ctx.Saved;
        var g = Rows(grad);
        var needs = ctx.NeedsInputGrad;
        // dW = dYᵀ·X comes out row-major, in W's own layout (see Matmul).
        var grads = new Tensor?[needs.Count];
        if (needs[0]) grads[0] = g.Matmul(w).Reshape(inputShape);
        if (needs[1]) grads[1] = g.MT.Matmul(Rows(x));
        if (needs.Count > 2 && needs[2]) grads[2] = g.Sum(0);
        return grads;
    }

    // [..., f] as [rows, f]: a view where the layout allows, else a copy.
    static Tensor Rows(Tensor t)
    {
        int rows = 1;
        for (int d = 0; d < t.NDim - 1; d++) rows *= t.Shape[d];
        return t.Reshape(rows, t.Shape[^1]);
    }
}

