namespace MetaGrad.Functions;

/// <summary>
/// The windows of <c>size</c> elements every <c>step</c> along dim, as a new last dim
/// (torch.Tensor.unfold): a view of the same storage. Windows may overlap, so unlike
/// <see cref="View"/>'s adjoint, which writes, this one adds: element j of window w came from
/// position w·step + j, and every window's gradient is added there by one IndexAdd.
/// </summary>
internal sealed class SlidingWindows(int dim, int size, int step) : UnaryFunction
{
    int[] _inputShape = [];

    public override string Name => "UnfoldBackward";

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        _inputShape = x.Layout.Shape;
        var l = x.Layout;
        int[] shape = [.. l.Shape, size], strides = [.. l.Strides, l.Strides[dim]];
        shape[dim] = (l.Shape[dim] - size) / step + 1;
        strides[dim] *= step;
        return new Tensor(x.Storage, new Layout(shape, strides, l.Offset));
    }

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        int windows = grad.Layout.Shape[dim];
        // [..., windows, ..., size] with each window's elements next to it: [..., windows·size, ...].
        var flat = grad.Movedim(-1, dim + 1).Flatten(dim, dim + 1);
        var starts = Tensor.Arange(0, (double)windows * step, step, DType.Int64);
        var positions = (starts.Unsqueeze(1) + Tensor.Arange(0, size, 1, DType.Int64).Unsqueeze(0)).Reshape(-1);
        return Tensor.Zeros(_inputShape, grad.DType).IndexAdd(dim, positions, flat);
    }
}
