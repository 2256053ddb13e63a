namespace MetaGrad.NN;

// 3-D pooling as two 2-D poolings: a window [kd, kh, kw] is a box, and both its max and its mean
// (the divisor, padding counted or not, is a product of one count per dim) split into a pooling over
// (H, W) of every depth slice, then one over D of the results. The max's gradient goes where
// PyTorch's does: its kernel keeps the first maximum in (d, h, w) order, which is the first (h, w)
// of the first depth that holds it, what the two passes pick.
public static partial class Functional
{
    /// <summary>Max over each window of volumes [N, C, D, H, W] or [C, D, H, W] (torch.nn.functional.max_pool3d).</summary>
    public static Tensor MaxPool3d(Tensor input, Size3 kernelSize, Size3? stride = null, Size3? padding = null, Size3? dilation = null, bool ceilMode = false)
    {
        if (input.NDim == 4) return MaxPool3d(input.Unsqueeze(0), kernelSize, stride, padding, dilation, ceilMode).Squeeze(0);
        RequireRank("MaxPool3d", input, 5, "[N, C, D, H, W] or [C, D, H, W]");
        var (k, s, p, d) = (kernelSize, stride ?? kernelSize, padding ?? 0, dilation ?? 1);
        return Separably(input, x => MaxPool("MaxPool3d", x, (k.H, k.W), (s.H, s.W), (p.H, p.W), (d.H, d.W), ceilMode, withIndices: false).Values,
            x => MaxPool("MaxPool3d", x, (k.D, 1), (s.D, 1), (p.D, 0), (d.D, 1), ceilMode, withIndices: false).Values);
    }

    /// <summary>
    /// <see cref="MaxPool3d"/> and, for each output, the flat index (d·H·W + h·W + w) of its max within
    /// its input volume, as max_pool3d with return_indices = True (what <see cref="MaxUnpool3d"/> takes).
    /// </summary>
    public static (Tensor Values, Tensor Indices) MaxPool3dWithIndices(Tensor input, Size3 kernelSize, Size3? stride = null, Size3? padding = null,
        Size3? dilation = null, bool ceilMode = false)
    {
        if (input.NDim == 4)
        {
            var (v, i) = MaxPool3dWithIndices(input.Unsqueeze(0), kernelSize, stride, padding, dilation, ceilMode);
            return (v.Squeeze(0), i.Squeeze(0));
        }
        RequireRank("MaxPool3d", input, 5, "[N, C, D, H, W] or [C, D, H, W]");
        var (k, s, p, d) = (kernelSize, stride ?? kernelSize, padding ?? 0, dilation ?? 1);
        int n = input.Shape[0], c = input.Shape[1], depth = input.Shape[2], h = input.Shape[3], w = input.Shape[4];
        // Each depth slice's winners (flat in H·W), then the winning depth among them (flat in D·L,
        // L the pooled plane's positions): the volume's index is that depth's slice winner.
        var (planes, inPlane) = MaxPool("MaxPool3d", input.Reshape(n, c * depth, h, w), (k.H, k.W), (s.H, s.W), (p.H, p.W), (d.H, d.W), ceilMode, withIndices: true);
        int oh = planes.Shape[2], ow = planes.Shape[3], positions = oh * ow;
        var (values, inDepth) = MaxPool("MaxPool3d", planes.Reshape(n, c, depth, positions), (k.D, 1), (s.D, 1), (p.D, 0), (d.D, 1), ceilMode, withIndices: true);
        int od = values.Shape[2];
        var winningDepth = ((inDepth! - inDepth!.Remainder(positions)) / positions).To(DType.Int64);
        var winner = inPlane!.Reshape(n, c, depth, positions).Gather(2, winningDepth);
        var indices = (winningDepth * ((long)h * w) + winner).Reshape(n, c, od, oh, ow);
        return (values.Reshape(n, c, od, oh, ow), indices);
    }

    /// <summary>
    /// The inverse of <see cref="MaxPool3dWithIndices"/> where it can be: each value put back at its
    /// index in a zero volume of the pooled input's size (torch.nn.functional.max_unpool3d).
    /// </summary>
    public static Tensor MaxUnpool3d(Tensor input, Tensor indices, Size3 kernelSize, Size3? stride = null, Size3? padding = null, Size3? outputSize = null)
    {
        if (input.NDim == 4) return MaxUnpool3d(input.Unsqueeze(0), indices.Unsqueeze(0), kernelSize, stride, padding, outputSize).Squeeze(0);
        RequireRank("MaxUnpool3d", input, 5, "[N, C, D, H, W] or [C, D, H, W]");
        var (k, s, p) = (kernelSize, stride ?? kernelSize, padding ?? 0);
        var size = outputSize ?? new Size3((input.Shape[2] - 1) * s.D - 2 * p.D + k.D, (input.Shape[3] - 1) * s.H - 2 * p.H + k.H, (input.Shape[4] - 1) * s.W - 2 * p.W + k.W);
        return Unpooled("MaxUnpool3d", "volume", input, indices, size.D, size.H, size.W);
    }

    /// <summary>Mean over windows chosen to give an output of <paramref name="outputSize"/> (adaptive_avg_pool3d), per dim as <see cref="AdaptiveAvgPool2d"/>.</summary>
    public static Tensor AdaptiveAvgPool3d(Tensor input, Size3 outputSize)
    {
        if (input.NDim == 4) return AdaptiveAvgPool3d(input.Unsqueeze(0), outputSize).Squeeze(0);
        RequireRank("AdaptiveAvgPool3d", input, 5, "[N, C, D, H, W] or [C, D, H, W]");
        RequireAdaptive("AdaptiveAvgPool3d", input, outputSize, outputSize.D, outputSize.H, outputSize.W);
        // The second pass keeps the plane's positions as they are (windows of one).
        return Separably(input, x => AdaptiveAvgPool2d(x, (outputSize.H, outputSize.W)), x => AdaptiveAvgPool2d(x, (outputSize.D, x.Shape[3])));
    }

    /// <summary>
    /// Mean over each window of volumes [N, C, D, H, W] or [C, D, H, W] (torch.nn.functional.avg_pool3d):
    /// padding counts as zeros in the divisor unless <paramref name="countIncludePad"/> is false,
    /// and <paramref name="divisorOverride"/> replaces the divisor.
    /// </summary>
    public static Tensor AvgPool3d(Tensor input, Size3 kernelSize, Size3? stride = null, Size3? padding = null, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null)
    {
        if (input.NDim == 4) return AvgPool3d(input.Unsqueeze(0), kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride).Squeeze(0);
        RequireRank("AvgPool3d", input, 5, "[N, C, D, H, W] or [C, D, H, W]");
        if (divisorOverride is <= 0) throw new ArgumentException($"AvgPool3d: divisor override must be positive, got {divisorOverride}");
        var (k, s, p) = (kernelSize, stride ?? kernelSize, padding ?? 0);
        if (k.D <= 0 || k.H <= 0 || k.W <= 0 || s.D <= 0 || s.H <= 0 || s.W <= 0 || p.D < 0 || p.H < 0 || p.W < 0)
            throw new ArgumentException($"AvgPool3d: kernel size {k} and stride {s} must be positive and padding {p} non-negative");
        if (p.D > k.D / 2 || p.H > k.H / 2 || p.W > k.W / 2)
            throw new ArgumentException($"AvgPool3d: padding {p} should be at most half of the kernel size {k}");
        // libtorch's avg_pool3d (unlike its avg_pool2d) refuses an input smaller than the kernel, padding aside.
        if (input.Shape[2] < k.D || input.Shape[3] < k.H || input.Shape[4] < k.W)
            throw new ArgumentException($"AvgPool3d: input of shape {Format(input)} is smaller than the kernel {k}");
        int od = PoolOut(input.Shape[2], k.D, s.D, p.D, 1, ceilMode), oh = PoolOut(input.Shape[3], k.H, s.H, p.H, 1, ceilMode), ow = PoolOut(input.Shape[4], k.W, s.W, p.W, 1, ceilMode);
        if (od <= 0 || oh <= 0 || ow <= 0)
            throw new ArgumentException($"AvgPool3d: input of shape {Format(input)} gives an output of {od} x {oh} x {ow} with kernel {k}, stride {s} and padding {p}: the output is too small");
        // With a divisor given, both passes sum (a divisor of 1), the second then divides once.
        int? sum = divisorOverride is null ? null : 1;
        var y = Separably(input, x => AvgPool2d(x, (k.H, k.W), (s.H, s.W), (p.H, p.W), ceilMode, countIncludePad, sum),
            x => AvgPool2d(x, (k.D, 1), (s.D, 1), (p.D, 0), ceilMode, countIncludePad, sum));
        return divisorOverride is int divisor ? y / divisor : y;
    }

    // planes pools [N, C·D, H, W] over (H, W); depths pools [N, C, D, L] over D (a kernel of height kd, width 1).
    static Tensor Separably(Tensor input, Func<Tensor, Tensor> planes, Func<Tensor, Tensor> depths)
    {
        int n = input.Shape[0], c = input.Shape[1], depth = input.Shape[2];
        var pooled = planes(input.Reshape(n, c * depth, input.Shape[3], input.Shape[4]));
        int oh = pooled.Shape[2], ow = pooled.Shape[3];
        var y = depths(pooled.Reshape(n, c, depth, oh * ow));
        return y.Reshape(n, c, y.Shape[2], oh, ow);
    }
}
