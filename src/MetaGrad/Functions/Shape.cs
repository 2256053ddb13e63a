namespace MetaGrad.Functions;

/// <summary>
/// A view that picks a subset of the input's elements without repeating any (slice, select,
/// narrow, stepped slice): the output shares storage. Its gradient puts the incoming gradient
/// back into the same positions of a zero tensor of the input's shape.
/// </summary>
internal sealed class View(Func<Layout, Layout> view, string name) : UnaryFunction
{
    /// <summary>The view applied to a layout (an exporter applies it to a contiguous one to read the slice).</summary>
    internal Layout Apply(Layout layout) => view(layout);

    int[] _inputShape = [];

    public override string Name => name + "Backward";

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        _inputShape = x.Layout.Shape;
        return new Tensor(x.Storage, view(x.Layout));
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => new EmbedIn(view, _inputShape, name).Apply(grad);
}

/// <summary>The adjoint of <see cref="View"/>: zeros of the original shape with x written into the view.</summary>
internal sealed class EmbedIn(Func<Layout, Layout> view, int[] shape, string name) : UnaryFunction
{
    internal Layout Region(Layout layout) => view(layout);

    public override string Name => name + "EmbedBackward";

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        Tensor y = x.Backend.Empty(shape, x.DType);
        x.Backend.Copy(new Tensor(y.Storage, view(y.Layout)), x);
        return y;
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => new View(view, name).Apply(grad);
}

/// <summary>
/// A new shape for the same elements in row-major order: a view when the strides allow it, a
/// copy otherwise (torch.reshape). With <paramref name="mustView"/> it refuses to copy (torch.view).
/// </summary>
internal sealed class Reshape(int[] shape, bool mustView) : UnaryFunction
{
    int[] _inputShape = [];

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        _inputShape = x.Layout.Shape;
        var layout = x.Layout.View(shape);
        if (layout is not null) return new Tensor(x.Storage, layout);
        if (mustView)
            throw new InvalidOperationException($"View: shape {ShapeMath.Format(shape)} is not compatible with the input's size {ShapeMath.Format(x.Layout.Shape)} and strides {ShapeMath.Format(x.Layout.Strides)} (a dimension spans two non-contiguous parts); use Reshape(...) instead");
        var copy = x.Contiguous();
        return new Tensor(copy.Storage, Layout.Contiguous(shape));
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => grad.Reshape(_inputShape);
}

internal sealed class Permute(int[] dims) : UnaryFunction
{
    internal int[] Dims => dims;

    protected override Tensor Forward(Context ctx, Tensor x) => new(x.Storage, x.Layout.Permute(dims));

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var inverse = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) inverse[dims[i]] = i;
        return grad.Permute(inverse);
    }
}

/// <summary>Broadcast to a larger shape without copying (stride 0); the gradient sums over the broadcast dims.</summary>
internal sealed class Expand(int[] shape) : UnaryFunction
{
    int[] _inputShape = [];

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        _inputShape = x.Layout.Shape;
        return new Tensor(x.Storage, x.Layout.Expand(shape));
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => grad.SumTo(_inputShape);
}

/// <summary>A contiguous copy (Clone, and Contiguous of a strided tensor).</summary>
internal sealed class Copy : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x) => x.Backend.Clone(x);

    protected override Tensor Backward(Context ctx, Tensor grad) => grad;
}

/// <summary>Reverses the order along dims (a copy, as in PyTorch); the gradient flips back.</summary>
internal sealed class Flip(int[] dims) : UnaryFunction
{
    protected override Tensor Forward(Context ctx, Tensor x)
    {
        var layout = x.Layout;
        foreach (var d in dims) layout = layout.Slice(d, layout.Shape[d] - 1, layout.Shape[d], -1);
        return new Copy().Apply(new Tensor(x.Storage, layout));
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => grad.Flip(dims);
}

/// <summary>
/// Consecutive pieces of one dim as views, from one node with an output per piece (torch.split):
/// the gradient is the pieces' gradients concatenated back, zeros for a piece that got none. The
/// adjoint of <see cref="Cat"/>.
/// </summary>
internal sealed class Split(int dim, int[] sizes) : MultiOutputFunction
{
    internal int Dim => dim;

    int[][] _shapes = [];

    protected override Tensor[] Forward(Context ctx, Tensor[] inputs)
    {
        var x = inputs[0];
        var pieces = new Tensor[sizes.Length];
        for (int i = 0, start = 0; i < sizes.Length; start += sizes[i++])
            pieces[i] = new Tensor(x.Storage, x.Layout.Slice(dim, start, sizes[i], 1));
        _shapes = [.. pieces.Select(p => p.Layout.Shape)];
        return pieces;
    }

    protected override Tensor?[] Backward(Context ctx, Tensor?[] grads) => [Concatenated(grads, _shapes, dim)];
}

/// <summary>Concatenation along one dim; the gradient is cut back into the inputs' pieces.</summary>
internal sealed class Cat(int dim) : NaryFunction
{
    internal int Dim => dim;

    int[] _sizes = [];

    protected override Tensor Forward(Context ctx, Tensor[] inputs)
    {
        _sizes = inputs.Select(x => x.Layout.Shape[dim]).ToArray();
        return inputs[0].Backend.Cat(Array.ConvertAll(inputs, x => (Backends.RawTensor)x), dim);
    }

    protected override Tensor?[] Backward(Context ctx, Tensor grad)
    {
        var grads = new Tensor?[_sizes.Length];
        int start = 0;
        for (int i = 0; i < _sizes.Length; i++)
        {
            if (ctx.NeedsInputGrad[i]) grads[i] = grad.Narrow(dim, start, _sizes[i]);
            start += _sizes[i];
        }
        return grads;
    }
}
