namespace MetaGrad.Functions;

// Operations that move elements by index. Each backward is the adjoint data movement: a gather's
// gradient is a scatter-add of the same index, and the other way round.

internal sealed class Gather(int dim, Tensor index) : UnaryFunction
{
    internal (int Dim, Tensor Index) Picks => (dim, index);

    int[] _inputShape = [];

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        _inputShape = x.Layout.Shape;
        return x.Backend.Gather(x, dim, index);
    }

    protected override Tensor Backward(Context ctx, Tensor grad) =>
        Tensor.Zeros(_inputShape, grad.DType).ScatterAdd(dim, index, grad);
}

/// <summary>
/// The elements of x at chosen indices along dim, returned with those indices as one node of two
/// outputs, as torch.sort, torch.topk and torch.max(dim) return them: the values' gradient goes back
/// to the positions they were taken from; the indices (Int64) are not differentiable.
/// </summary>
internal sealed class Selection(string name, int dim, Tensor indices) : MultiOutputFunction
{
    internal (int Dim, Tensor Indices) Picks => (dim, indices);

    int[] _inputShape = [];

    public override string Name => name + "Backward";

    protected override Tensor[] Forward(Context ctx, Tensor[] inputs)
    {
        var x = inputs[0];
        _inputShape = x.Layout.Shape;
        return [x.Backend.Gather(x, dim, indices), indices];
    }

    protected override Tensor?[] Backward(Context ctx, Tensor?[] grads) =>
        [grads[0] is { } g ? Tensor.Zeros(_inputShape, g.DType).ScatterAdd(dim, indices, g) : null];
}

internal sealed class ScatterAdd(int dim, Tensor index) : BinaryFunction
{
    int[] _srcShape = [];

    protected override Tensor Forward(Context ctx, Tensor self, Tensor src)
    {
        _srcShape = src.Layout.Shape;
        return self.Backend.ScatterAdd(self, dim, index, src);
    }

    // Only the leading block of src that pairs with the index receives a gradient.
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        if (!ctx.NeedsInputGrad[1]) return (grad, null);
        var gsrc = grad.Gather(dim, index);
        if (!gsrc.Layout.Shape.SequenceEqual(_srcShape))
        {
            var block = index.Layout.Shape;
            gsrc = new EmbedIn(l => new Layout(block, l.Strides, l.Offset), _srcShape, "ScatterAddSource").Apply(gsrc);
        }
        return (grad, gsrc);
    }
}

internal sealed class IndexSelect(int dim, Tensor index) : UnaryFunction
{
    internal (int Dim, Tensor Index) Picks => (dim, index);

    int[] _inputShape = [];

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        _inputShape = x.Layout.Shape;
        return x.Backend.IndexSelect(x, dim, index);
    }

    protected override Tensor Backward(Context ctx, Tensor grad) =>
        Tensor.Zeros(_inputShape, grad.DType).IndexAdd(dim, index, grad);
}

internal sealed class IndexAdd(int dim, Tensor index) : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor self, Tensor src) => self.Backend.IndexAdd(self, dim, index, src);

    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad) =>
        (grad, ctx.NeedsInputGrad[1] ? grad.IndexSelect(dim, index) : null);
}

internal sealed class MaskedSelect(Tensor mask) : UnaryFunction
{
    int[] _shape = [];

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        _shape = ShapeMath.Broadcast("MaskedSelect", x.Layout.Shape, mask.Layout.Shape);
        return x.Backend.MaskedSelect(x, mask);
    }

    // Scatter back into the broadcast shape; the engine sums over any broadcast dims of x.
    protected override Tensor Backward(Context ctx, Tensor grad) =>
        new MaskedScatter(mask).Apply(Tensor.Zeros(_shape, grad.DType), grad);
}

/// <summary>self with its masked positions replaced, in order, by the leading elements of src.</summary>
internal sealed class MaskedScatter(Tensor mask) : BinaryFunction
{
    int[] _srcShape = [];

    protected override Tensor Forward(Context ctx, Tensor self, Tensor src)
    {
        _srcShape = src.Layout.Shape;
        return self.Backend.MaskedScatter(self, mask, src);
    }

    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var gself = ctx.NeedsInputGrad[0] ? grad.MaskedFill(mask, 0.0) : null;
        Tensor? gsrc = null;
        if (ctx.NeedsInputGrad[1])
        {
            var used = grad.MaskedSelect(mask);
            int total = ShapeMath.Numel(_srcShape);
            var padded = used.Numel == total ? used : Tensor.Cat([used, Tensor.Zeros([total - used.Numel], grad.DType)]);
            gsrc = padded.Reshape(_srcShape);
        }
        return (gself, gsrc);
    }
}

/// <summary>cond ? a : b; the condition carries no gradient.</summary>
internal sealed class Where(Tensor condition) : BinaryFunction
{
    internal Tensor Condition => condition;

    protected override Tensor Forward(Context ctx, Tensor a, Tensor b) => a.Backend.Where(condition, a, b);

    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var zero = Tensor.ZerosLike(grad);
        return (ctx.NeedsInputGrad[0] ? Tensor.Where(condition, grad, zero) : null,
                ctx.NeedsInputGrad[1] ? Tensor.Where(condition, zero, grad) : null);
    }
}

/// <summary>
/// Index assignment: a copy of x with values written at logical row-major positions (the target
/// of x[...] = values). Positions where values land get no gradient for x; values receive the
/// gradient read back at their positions (summed over broadcasting by the engine).
/// </summary>
internal sealed class IndexPut(Tensor positions) : BinaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x, Tensor values)
    {
        var y = x.Contiguous().Clone();
        y.Backend.Put(y, positions, values, accumulate: false);
        return y;
    }

    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        Tensor? gx = null;
        if (ctx.NeedsInputGrad[0])
        {
            gx = new IndexPut(positions).Apply(grad, Tensor.Scalar(0, grad.DType));
        }
        var gv = ctx.NeedsInputGrad[1] ? grad.Reshape(-1).IndexSelect(0, positions.Reshape(-1)).Reshape(positions.Shape.ToArray()) : null;
        return (gx, gv);
    }
}

/// <summary>
/// Rows of the weight at the ids (torch.embedding). The backward is IndexAdd of the gradient
/// rows, skipping the padding id, whose row must never learn.
/// </summary>
internal sealed class EmbeddingLookup(Tensor ids, int? paddingIdx, bool sparse = false) : UnaryFunction
{
    internal Tensor Ids => ids;

    int[] _weightShape = [];

    protected override Tensor Forward(Context ctx, Tensor weight)
    {
        _weightShape = weight.Layout.Shape;
        return weight.Backend.IndexSelect(weight, 0, ids);
    }

    protected override Tensor? Backward(Context ctx, Tensor grad)
    {
        // Sparse: the looked-up rows, handed to the engine, which gives them to a plain leaf as its
        // SparseGrad and densifies them everywhere else (hooks, Autograd.Grad, recorded backwards).
        if (sparse)
        {
            var (rows, values) = (ids.To(DType.Int64), grad);
            if (paddingIdx is int padding)
            {
                var kept = (ids != (double)padding).Nonzero().Reshape(-1);
                (rows, values) = (rows.IndexSelect(0, kept), values.IndexSelect(0, kept));
            }
            ReturnSparse(0, new RowSparseGradient(rows, values, _weightShape));
            return null;
        }
        if (paddingIdx is int pad) grad = grad.MaskedFill((ids == (double)pad).Unsqueeze(1), 0);
        return Tensor.Zeros(_weightShape, grad.DType).IndexAdd(0, ids, grad);
    }
}
