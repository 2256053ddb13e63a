using MetaGrad.Backends;

namespace MetaGrad.NN;

// Convolutions as one matrix product over im2col's columns. Unfold and Fold are a linear map and
// its adjoint, each the other's backward, so every convolution here (and its transpose) has
// gradients of any order without a backward of its own.
public static partial class Functional
{
    /// <summary>
    /// Sliding windows of images [N, C, H, W] as columns [N, C·kh·kw, L], L the number of window
    /// positions (torch.nn.functional.unfold).
    /// </summary>
    public static Tensor Unfold(Tensor input, Size2 kernelSize, Size2? dilation = null, Size2? padding = null, Size2? stride = null)
    {
        var g = Windows("Unfold", kernelSize, dilation ?? 1, padding ?? 0, stride ?? 1);
        RequireRank("Unfold", input, 4, "[N, C, H, W]");
        RequireWindowsFit("Unfold", input, g);
        return new Functions.Unfold(g).Apply(input);
    }

    /// <summary>
    /// Columns [N, C·kh·kw, L] summed back into images [N, C, outputSize] (torch.nn.functional.fold),
    /// the adjoint of <see cref="Unfold"/>: overlapping windows add up.
    /// </summary>
    public static Tensor Fold(Tensor input, Size2 outputSize, Size2 kernelSize, Size2? dilation = null, Size2? padding = null, Size2? stride = null)
    {
        var g = Windows("Fold", kernelSize, dilation ?? 1, padding ?? 0, stride ?? 1);
        RequireRank("Fold", input, 3, "[N, C·kh·kw, L]");
        int positions = g.OutH(outputSize.H) * g.OutW(outputSize.W);
        if (input.Shape[1] % g.Size != 0 || input.Shape[2] != positions || g.OutH(outputSize.H) <= 0 || g.OutW(outputSize.W) <= 0)
            throw new ArgumentException($"Fold: input of shape {Format(input)} does not fit output size {outputSize} with kernel ({g.KernelH}, {g.KernelW}): expected dim 1 divisible by {g.Size} and dim 2 of {positions} window positions");
        return new Functions.Fold(g, outputSize.H, outputSize.W).Apply(input);
    }

    /// <summary>
    /// 2-D convolution (cross-correlation, as PyTorch) of input [N, C, H, W] (or [C, H, W]) with
    /// weight [O, C/groups, kh, kw], plus bias [O] (torch.nn.functional.conv2d).
    /// </summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, Size2? stride = null, Padding2? padding = null, Size2? dilation = null, int groups = 1)
    {
        if (input.NDim == 3) return Conv2d(input.Unsqueeze(0), weight, bias, stride, padding, dilation, groups).Squeeze(0);
        RequireRank("Conv2d", input, 4, "[N, C, H, W] or [C, H, W]");
        RequireRank("Conv2d", weight, 4, "[out_channels, in_channels / groups, kh, kw] for the weight");
        int outChannels = weight.Shape[0], kh = weight.Shape[2], kw = weight.Shape[3];
        RequireConvShapes("Conv2d", input, weight, bias, groups, inChannels: weight.Shape[1] * groups, outChannels);
        var (x, g) = Padded("Conv2d", input, (kh, kw), stride ?? 1, padding ?? 0, dilation ?? 1);
        RequireWindowsFit("Conv2d", x, g);

        if (Functions.FusedConv2d.Covers(x, weight, bias))
            return new Functions.FusedConv2d(g, groups).Apply(bias is null ? [x, weight] : [x, weight, bias]);
        return ComposedConv2d(x, weight, bias, g, groups);
    }

    /// <summary>
    /// <see cref="Conv2d"/> of validated arguments as recorded tensor operations: one matrix product
    /// over <see cref="Unfold"/>'s columns (per group). The fused node's backward falls back to it
    /// when its own backward is recorded; tests hold the two equal.
    /// </summary>
    internal static Tensor ComposedConv2d(Tensor x, Tensor weight, Tensor? bias, Windows2d g, int groups)
    {
        int n = x.Shape[0], outChannels = weight.Shape[0], k = weight.Shape[1] * g.Size, oh = g.OutH(x.Shape[2]), ow = g.OutW(x.Shape[3]);
        var cols = new Functions.Unfold(g).Apply(x);                        // [N, C·kh·kw, L]
        var y = groups == 1
            ? weight.Reshape(outChannels, k).Matmul(cols)                    // [N, O, L]
            : weight.Reshape(groups, outChannels / groups, k).Matmul(cols.Reshape(n, groups, k, oh * ow)).Reshape(n, outChannels, oh * ow);
        if (bias is not null) y = y + bias.Reshape(outChannels, 1);
        return y.Reshape(n, outChannels, oh, ow);
    }

    /// <summary>1-D convolution of input [N, C, L] (or [C, L]) with weight [O, C/groups, k] (torch.nn.functional.conv1d).</summary>
    public static Tensor Conv1d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, Padding2? padding = null, int dilation = 1, int groups = 1)
    {
        if (input.NDim is not (2 or 3)) throw new ArgumentException($"Conv1d: expected an input [N, C, L] or [C, L], got shape {Format(input)}");
        if (weight.NDim != 3) throw new ArgumentException($"Conv1d: expected a weight [out_channels, in_channels / groups, k], got shape {Format(weight)}");
        Padding2 pad = padding is { Same: true } ? "same" : (0, padding?.Size.W ?? 0);
        return Conv2d(input.Unsqueeze(-2), weight.Unsqueeze(-2), bias, (1, stride), pad, (1, dilation), groups).Squeeze(-2);
    }

    /// <summary>
    /// The transpose (adjoint) of <see cref="Conv2d"/> with respect to its input, of input
    /// [N, C, H, W] with weight [C, O/groups, kh, kw] (torch.nn.functional.conv_transpose2d):
    /// each input pixel spreads a weighted kernel into the output, overlaps adding up.
    /// </summary>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, Size2? stride = null, Size2? padding = null, Size2? outputPadding = null,
        int groups = 1, Size2? dilation = null)
    {
        if (input.NDim == 3) return ConvTranspose2d(input.Unsqueeze(0), weight, bias, stride, padding, outputPadding, groups, dilation).Squeeze(0);
        RequireRank("ConvTranspose2d", input, 4, "[N, C, H, W] or [C, H, W]");
        RequireRank("ConvTranspose2d", weight, 4, "[in_channels, out_channels / groups, kh, kw] for the weight");
        int inChannels = weight.Shape[0], outChannels = weight.Shape[1] * groups, kh = weight.Shape[2], kw = weight.Shape[3];
        if (groups < 1 || inChannels % groups != 0)
            throw new ArgumentException($"ConvTranspose2d: groups must be positive and divide the weight's {inChannels} input channels, got groups = {groups}");
        if (input.Shape[1] != inChannels)
            throw new ArgumentException($"ConvTranspose2d: input of shape {Format(input)} has {input.Shape[1]} channels, but the weight of shape {Format(weight)} expects {inChannels}");
        RequireSameDType("ConvTranspose2d", input, weight, bias);
        if (bias is not null && (bias.NDim != 1 || bias.Shape[0] != outChannels))
            throw new ArgumentException($"ConvTranspose2d: expected a bias of shape [{outChannels}], got {Format(bias)}");
        var (s, p, op, d) = (stride ?? 1, padding ?? 0, outputPadding ?? 0, dilation ?? 1);
        var g = Windows("ConvTranspose2d", (kh, kw), d, p, s);
        RequireOutputPadding("ConvTranspose2d", [op.H, op.W], [s.H, s.W], [d.H, d.W], op, s, d);
        int n = input.Shape[0], h = input.Shape[2], w = input.Shape[3];
        int outH = (h - 1) * s.H - 2 * p.H + d.H * (kh - 1) + op.H + 1, outW = (w - 1) * s.W - 2 * p.W + d.W * (kw - 1) + op.W + 1;
        if (outH <= 0 || outW <= 0)
            throw new ArgumentException($"ConvTranspose2d: input of shape {Format(input)} with kernel ({kh}, {kw}), stride {s} and padding {p} gives an empty output ({outH} x {outW})");

        int perGroup = inChannels / groups, k = weight.Shape[1] * kh * kw;
        var x = input.Reshape(n, groups, perGroup, h * w);
        var cols = weight.Reshape(groups, perGroup, k).Transpose(-1, -2).Matmul(x)    // [N, groups, O/groups·kh·kw, H·W]
            .Reshape(n, outChannels * kh * kw, h * w);
        Tensor y;
        if (op.H < s.H && op.W < s.W) y = new Functions.Fold(g, outH, outW).Apply(cols);
        else
        {
            // An output padding at or past the stride would give the fold more windows than the
            // input has pixels: fold the whole spread (no padding), then keep rows p.. and columns
            // p.., zeros where the output padding reaches past the spread.
            int fullH = (h - 1) * s.H + d.H * (kh - 1) + 1, fullW = (w - 1) * s.W + d.W * (kw - 1) + 1;
            var full = new Functions.Fold(g with { PadH = 0, PadW = 0 }, fullH, fullW).Apply(cols);
            int keptH = Math.Min(outH, fullH - p.H), keptW = Math.Min(outW, fullW - p.W);
            y = Pad(full[.., .., p.H..(p.H + keptH), p.W..(p.W + keptW)], [0, outW - keptW, 0, outH - keptH]);
        }
        return bias is null ? y : y + bias.Reshape(outChannels, 1, 1);
    }

    // PyTorch's rule: each dim's output padding below its stride or its dilation (what lets the
    // output's last rows still be reached by some window).
    static void RequireOutputPadding(string op, int[] outputPadding, int[] stride, int[] dilation, object written, object s, object d)
    {
        for (int i = 0; i < outputPadding.Length; i++)
            if (outputPadding[i] < 0 || (outputPadding[i] >= stride[i] && outputPadding[i] >= dilation[i]))
                throw new ArgumentException($"{op}: output padding {written} must be non-negative and, in each dim, smaller than the stride {s} or the dilation {d}");
    }

    /// <summary>1-D transposed convolution of input [N, C, L] with weight [C, O/groups, k] (torch.nn.functional.conv_transpose1d).</summary>
    public static Tensor ConvTranspose1d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0, int groups = 1, int dilation = 1)
    {
        if (input.NDim is not (2 or 3)) throw new ArgumentException($"ConvTranspose1d: expected an input [N, C, L] or [C, L], got shape {Format(input)}");
        if (weight.NDim != 3) throw new ArgumentException($"ConvTranspose1d: expected a weight [in_channels, out_channels / groups, k], got shape {Format(weight)}");
        return ConvTranspose2d(input.Unsqueeze(-2), weight.Unsqueeze(-2), bias, (1, stride), (0, padding), (0, outputPadding), groups, (1, dilation)).Squeeze(-2);
    }

    static Windows2d Windows(string op, Size2 kernel, Size2 dilation, Size2 padding, Size2 stride)
    {
        if (kernel.H <= 0 || kernel.W <= 0) throw new ArgumentException($"{op}: kernel size must be positive, got {kernel}");
        if (stride.H <= 0 || stride.W <= 0) throw new ArgumentException($"{op}: stride must be positive, got {stride}");
        if (dilation.H <= 0 || dilation.W <= 0) throw new ArgumentException($"{op}: dilation must be positive, got {dilation}");
        if (padding.H < 0 || padding.W < 0) throw new ArgumentException($"{op}: padding must be non-negative, got {padding}");
        return new Windows2d(kernel.H, kernel.W, dilation.H, dilation.W, padding.H, padding.W, stride.H, stride.W);
    }

    // "same" pads d·(k - 1) in all, the odd one after (PyTorch's choice): an uneven split is padded
    // here, an even one is left to the windows.
    static (Tensor X, Windows2d G) Padded(string op, Tensor input, Size2 kernel, Size2 stride, Padding2 padding, Size2 dilation)
    {
        if (!padding.Same) return (input, Windows(op, kernel, dilation, padding.Size, stride));
        if (stride != new Size2(1, 1)) throw new ArgumentException($"{op}: padding \"same\" is not supported for strided convolutions (stride {stride})");
        int totalH = dilation.H * (kernel.H - 1), totalW = dilation.W * (kernel.W - 1);
        if (totalH % 2 == 0 && totalW % 2 == 0) return (input, Windows(op, kernel, dilation, (totalH / 2, totalW / 2), stride));
        var x = Pad(input, [totalW / 2, totalW - totalW / 2, totalH / 2, totalH - totalH / 2]);
        return (x, Windows(op, kernel, dilation, 0, stride));
    }

    static void RequireRank(string op, Tensor t, int rank, string expected)
    {
        if (t.NDim != rank) throw new ArgumentException($"{op}: expected {expected}, got shape {Format(t)}");
    }

    static void RequireWindowsFit(string op, Tensor x, Windows2d g)
    {
        int h = x.Shape[2] + 2 * g.PadH, w = x.Shape[3] + 2 * g.PadW;
        int kh = g.DilationH * (g.KernelH - 1) + 1, kw = g.DilationW * (g.KernelW - 1) + 1;
        if (kh > h || kw > w)
            throw new ArgumentException($"{op}: the padded input per channel ({h} x {w}) of input shape {Format(x)} is smaller than the (dilated) kernel ({kh} x {kw})");
    }

    static void RequireConvShapes(string op, Tensor input, Tensor weight, Tensor? bias, int groups, int inChannels, int outChannels)
    {
        if (groups < 1) throw new ArgumentException($"{op}: groups must be positive, got {groups}");
        if (outChannels % groups != 0)
            throw new ArgumentException($"{op}: the weight's {outChannels} output channels are not divisible by groups = {groups}");
        if (input.Shape[1] != inChannels)
            throw new ArgumentException($"{op}: input of shape {Format(input)} has {input.Shape[1]} channels, but the weight of shape {Format(weight)} with groups = {groups} expects {inChannels}");
        if (bias is not null && (bias.NDim != 1 || bias.Shape[0] != outChannels))
            throw new ArgumentException($"{op}: expected a bias of shape [{outChannels}], got {Format(bias)}");
        RequireSameDType(op, input, weight, bias);
    }

    static void RequireSameDType(string op, Tensor input, Tensor weight, Tensor? bias)
    {
        if (!input.DType.IsFloatingPoint() || weight.DType != input.DType || (bias is not null && bias.DType != input.DType))
            throw new ArgumentException($"{op}: input ({input.DType}), weight ({weight.DType}){(bias is null ? "" : $" and bias ({bias.DType})")} must share one floating dtype");
    }

    static string Format(Tensor t) => ShapeMath.Format(t.Shape.ToArray());
}
