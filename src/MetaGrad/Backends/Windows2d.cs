namespace MetaGrad.Backends;

/// <summary>
/// Where the sliding windows of a 2-D convolution or pooling sit over an image: kernel size,
/// dilation, zero padding on each side and stride, per spatial dim (height, then width). Output
/// size per dim is ⌊(size + 2·pad − dilation·(kernel − 1) − 1) / stride⌋ + 1, as in PyTorch.
/// </summary>
internal readonly record struct Windows2d(int KernelH, int KernelW, int DilationH, int DilationW, int PadH, int PadW, int StrideH, int StrideW)
{
    /// <summary>Number of window positions down an image of the given height.</summary>
    public int OutH(int height) => Out(height, KernelH, DilationH, PadH, StrideH);

    /// <summary>Number of window positions across an image of the given width.</summary>
    public int OutW(int width) => Out(width, KernelW, DilationW, PadW, StrideW);

    /// <summary>Elements in one window.</summary>
    public int Size => KernelH * KernelW;

    static int Out(int size, int kernel, int dilation, int pad, int stride) =>
        (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
}
