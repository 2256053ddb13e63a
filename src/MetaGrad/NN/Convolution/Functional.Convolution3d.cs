namespace MetaGrad.NN;

// A 3-D convolution as a sum of 2-D ones: for each depth offset kz of the kernel, the input slices
// each output depth reads there form one batch of images, convolved with the kernel's slice kz.
// kd products over N·D_out images, each the 2-D convolution's fast path, and differentiable as
// that and IndexSelect are.
public static partial class Functional
{
    /// <summary>
    /// 3-D convolution of input [N, C, D, H, W] (or [C, D, H, W]) with weight [O, C/groups, kd, kh, kw],
    /// plus bias [O] (torch.nn.functional.conv3d); padding a number per dim or "same"/"valid" through
    /// <paramref name="samePadding"/>.
    /// </summary>
    public static Tensor Conv3d(Tensor input, Tensor weight, Tensor? bias = null, Size3? stride = null, Size3? padding = null, Size3? dilation = null,
        int groups = 1, bool samePadding = false)
    {
        if (input.NDim == 4) return Conv3d(input.Unsqueeze(0), weight, bias, stride, padding, dilation, groups, samePadding).Squeeze(0);
        RequireRank("Conv3d", input, 5, "[N, C, D, H, W] or [C, D, H, W]");
        RequireRank("Conv3d", weight, 5, "[out_channels, in_channels / groups, kd, kh, kw] for the weight");
        int outChannels = weight.Shape[0], kd = weight.Shape[2], kh = weight.Shape[3], kw = weight.Shape[4];
        RequireConvShapes("Conv3d", input, weight, bias, groups, inChannels: weight.Shape[1] * groups, outChannels);
        var (s, p, d) = (stride ?? 1, padding ?? 0, dilation ?? 1);
        if (s.D <= 0 || s.H <= 0 || s.W <= 0 || d.D <= 0 || d.H <= 0 || d.W <= 0)
            throw new ArgumentException($"Conv3d: stride {s} and dilation {d} must be positive");
        if (p.D < 0 || p.H < 0 || p.W < 0) throw new ArgumentException($"Conv3d: padding must be non-negative, got {p}");
        var x = input;
        if (samePadding)
        {
            if (s != new Size3(1, 1, 1)) throw new ArgumentException($"Conv3d: padding \"same\" is not supported for strided convolutions (stride {s})");
            int td = d.D * (kd - 1), th = d.H * (kh - 1), tw = d.W * (kw - 1);
            x = Pad(x, [tw / 2, tw - tw / 2, th / 2, th - th / 2, td / 2, td - td / 2]);
            p = 0;
        }
        else if (p.D > 0) x = Pad(x, [0, 0, 0, 0, p.D, p.D]);
        int n = x.Shape[0], c = x.Shape[1], depth = x.Shape[2], h = x.Shape[3], w = x.Shape[4];
        int outDepth = (depth - d.D * (kd - 1) - 1) / s.D + 1;
        if (depth < d.D * (kd - 1) + 1 || h + 2 * p.H < d.H * (kh - 1) + 1 || w + 2 * p.W < d.W * (kw - 1) + 1)
            throw new ArgumentException($"Conv3d: the padded input per channel of input shape {Format(input)} is smaller than the (dilated) kernel ({kd} x {kh} x {kw})");

        Tensor? sum = null;
        for (int kz = 0; kz < kd; kz++)
        {
            var depths = Enumerable.Range(0, outDepth).Select(o => (long)(o * s.D + kz * d.D)).ToArray();
            var slices = x.IndexSelect(2, Tensor.From(depths, [outDepth]))          // [N, C, D_out, H, W]
                .Permute([0, 2, 1, 3, 4]).Reshape(n * outDepth, c, h, w);
            var part = Conv2d(slices, weight.Select(2, kz), null, (s.H, s.W), (p.H, p.W), (d.H, d.W), groups);
            sum = sum is null ? part : sum + part;
        }
        int oh = sum!.Shape[2], ow = sum.Shape[3];
        var y = sum.Reshape(n, outDepth, outChannels, oh, ow).Permute([0, 2, 1, 3, 4]);
        return bias is null ? y.Contiguous() : y + bias.Reshape(outChannels, 1, 1, 1);
    }
}
