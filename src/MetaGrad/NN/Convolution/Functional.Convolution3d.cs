namespace MetaGrad.NN;

// A 3-D convolution as a sum of 2-D ones: for each depth offset kz of the kernel, the input slices
// each output depth reads there form one batch of images, convolved with the kernel's slice kz.
// kd products over N·D_out images, each the 2-D convolution's fast path, and differentiable as
// that and IndexSelect are. The transpose likewise: every input slice spreads through the kernel's
// slice kz (a 2-D transposed convolution) into output depth d·stride + kz·dilation − padding.
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

    /// <summary>
    /// The transpose of <see cref="Conv3d"/> with respect to its input, of input [N, C, D, H, W]
    /// (or [C, D, H, W]) with weight [C, O/groups, kd, kh, kw] (torch.nn.functional.conv_transpose3d).
    /// </summary>
    public static Tensor ConvTranspose3d(Tensor input, Tensor weight, Tensor? bias = null, Size3? stride = null, Size3? padding = null, Size3? outputPadding = null,
        int groups = 1, Size3? dilation = null)
    {
        if (input.NDim == 4) return ConvTranspose3d(input.Unsqueeze(0), weight, bias, stride, padding, outputPadding, groups, dilation).Squeeze(0);
        RequireRank("ConvTranspose3d", input, 5, "[N, C, D, H, W] or [C, D, H, W]");
        RequireRank("ConvTranspose3d", weight, 5, "[in_channels, out_channels / groups, kd, kh, kw] for the weight");
        var (s, p, op, d) = (stride ?? 1, padding ?? 0, outputPadding ?? 0, dilation ?? 1);
        int n = input.Shape[0], c = input.Shape[1], depth = input.Shape[2], h = input.Shape[3], w = input.Shape[4];
        int inChannels = weight.Shape[0], outChannels = weight.Shape[1] * groups, kd = weight.Shape[2], kh = weight.Shape[3], kw = weight.Shape[4];
        if (groups < 1 || inChannels % groups != 0)
            throw new ArgumentException($"ConvTranspose3d: groups must be positive and divide the weight's {inChannels} input channels, got groups = {groups}");
        if (c != inChannels)
            throw new ArgumentException($"ConvTranspose3d: input of shape {Format(input)} has {c} channels, but the weight of shape {Format(weight)} expects {inChannels}");
        RequireSameDType("ConvTranspose3d", input, weight, bias);
        if (bias is not null && (bias.NDim != 1 || bias.Shape[0] != outChannels))
            throw new ArgumentException($"ConvTranspose3d: expected a bias of shape [{outChannels}], got {Format(bias)}");
        if (kd <= 0 || kh <= 0 || kw <= 0 || s.D <= 0 || s.H <= 0 || s.W <= 0 || d.D <= 0 || d.H <= 0 || d.W <= 0 || p.D < 0 || p.H < 0 || p.W < 0)
            throw new ArgumentException($"ConvTranspose3d: kernel ({kd}, {kh}, {kw}), stride {s} and dilation {d} must be positive and padding {p} non-negative");
        RequireOutputPadding("ConvTranspose3d", [op.D, op.H, op.W], [s.D, s.H, s.W], [d.D, d.H, d.W], op, s, d);
        int outDepth = (depth - 1) * s.D - 2 * p.D + d.D * (kd - 1) + op.D + 1;
        int outH = (h - 1) * s.H - 2 * p.H + d.H * (kh - 1) + op.H + 1, outW = (w - 1) * s.W - 2 * p.W + d.W * (kw - 1) + op.W + 1;
        if (outDepth <= 0 || outH <= 0 || outW <= 0)
            throw new ArgumentException($"ConvTranspose3d: input of shape {Format(input)} with kernel ({kd}, {kh}, {kw}), stride {s} and padding {p} gives an empty output ({outDepth} x {outH} x {outW})");
        var slices = input.Permute([0, 2, 1, 3, 4]).Reshape(n * depth, c, h, w);
        var sum = Tensor.Zeros([n, outDepth, outChannels, outH, outW], input.DType);
        for (int kz = 0; kz < kd; kz++)
        {
            // Input depths whose spread through slice kz lands inside the output.
            // (None may: the sum then stays zeros, and the gradients through it too.)
            var kept = Enumerable.Range(0, depth).Where(z => (uint)(z * s.D + kz * d.D - p.D) < (uint)outDepth).ToArray();
            var part = ConvTranspose2d(slices, weight.Select(2, kz), null, (s.H, s.W), (p.H, p.W), (op.H, op.W), groups, (d.H, d.W));
            var from = part.Reshape(n, depth, outChannels, outH, outW);
            if (kept.Length < depth) from = from.IndexSelect(1, Tensor.From(kept.Select(z => (long)z).ToArray(), [kept.Length]));
            var to = Tensor.From(kept.Select(z => (long)(z * s.D + kz * d.D - p.D)).ToArray(), [kept.Length]);
            sum = sum.IndexAdd(1, to, from);
        }
        var y = sum.Permute([0, 2, 1, 3, 4]);
        return bias is null ? y.Contiguous() : y + bias.Reshape(-1, 1, 1, 1);
    }
}
