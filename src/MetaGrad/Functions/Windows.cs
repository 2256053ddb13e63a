using MetaGrad.Backends;

namespace MetaGrad.Functions;

/// <summary>
/// The sliding windows of images [N, C, H, W] as columns [N, C·kh·kw, L] (im2col, torch's unfold).
/// A linear map whose adjoint is <see cref="Fold"/>: each is the other's backward, so a
/// convolution or pooling written on top of them differentiates as many times as asked, the way
/// <see cref="View"/> pairs with <see cref="EmbedIn"/>.
/// </summary>
internal sealed class Unfold(Windows2d windows) : UnaryFunction
{
    internal Windows2d Windows => windows;

    int _height, _width;

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        (_height, _width) = (x.Layout.Shape[2], x.Layout.Shape[3]);
        return x.Backend.Im2Col(x, windows);
    }

    protected override Tensor Backward(Context ctx, Tensor grad) => new Fold(windows, _height, _width).Apply(grad);
}

/// <summary>Columns [N, C·kh·kw, L] summed back into images [N, C, height, width] (col2im, torch's fold).</summary>
internal sealed class Fold(Windows2d windows, int height, int width) : UnaryFunction
{
    internal (Windows2d Windows, int Height, int Width) Settings => (windows, height, width);

    protected override Tensor Forward(Context ctx, Tensor cols) => cols.Backend.Col2Im(cols, height, width, windows);

    protected override Tensor Backward(Context ctx, Tensor grad) => new Unfold(windows).Apply(grad);
}
