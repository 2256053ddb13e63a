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
