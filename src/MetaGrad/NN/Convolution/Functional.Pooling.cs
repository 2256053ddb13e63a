using MetaGrad.Backends;

namespace MetaGrad.NN;

// Pooling as a reduction over im2col's windows: the gradient of a max goes to the position that
// won (the first, in row-major order within the window, as PyTorch), and an average spreads it
// evenly, both through Unfold's adjoint.
public static partial class Functional
{
    /// <summary>Max over each window of images [N, C, H, W] or [C, H, W] (torch.nn.functional.max_pool2d).</summary>
    public static Tensor MaxPool2d(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null, bool ceilMode = false) =>
        MaxPool("MaxPool2d", input, kernelSize, stride ?? kernelSize, padding ?? 0, dilation ?? 1, ceilMode, withIndices: false).Values;

    /// <summary>
    /// <see cref="MaxPool2d"/> and, for each output, the flat index (row·W + column) of its max within
    /// its input plane, as max_pool2d with return_indices = True (what <see cref="MaxUnpool2d"/> takes).
    /// </summary>
    public static (Tensor Values, Tensor Indices) MaxPool2dWithIndices(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null,
        Size2? dilation = null, bool ceilMode = false)
    {
        var (values, indices) = MaxPool("MaxPool2d", input, kernelSize, stride ?? kernelSize, padding ?? 0, dilation ?? 1, ceilMode, withIndices: true);
        return (values, indices!);
    }

    /// <summary>Max over each window of sequences [N, C, L] or [C, L] (torch.nn.functional.max_pool1d).</summary>
    public static Tensor MaxPool1d(Tensor input, int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
    {
        RequireRanks("MaxPool1d", input, 2, 3, "[N, C, L] or [C, L]");
        return MaxPool("MaxPool1d", input.Unsqueeze(-2), (1, kernelSize), (1, stride ?? kernelSize), (0, padding), (1, dilation), ceilMode, withIndices: false).Values.Squeeze(-2);
    }

    /// <summary>
    /// <see cref="MaxPool1d"/> and, for each output, the index of its max along L, as max_pool1d with
    /// return_indices = True (what <see cref="MaxUnpool1d"/> takes).
    /// </summary>
    public static (Tensor Values, Tensor Indices) MaxPool1dWithIndices(Tensor input, int kernelSize, int? stride = null, int padding = 0, int dilation = 1,
        bool ceilMode = false)
    {
        RequireRanks("MaxPool1d", input, 2, 3, "[N, C, L] or [C, L]");
        // A row of one: the 2-D pool's flat index in its [1, L] plane is the index along L.
        var (values, indices) = MaxPool("MaxPool1d", input.Unsqueeze(-2), (1, kernelSize), (1, stride ?? kernelSize), (0, padding), (1, dilation), ceilMode, withIndices: true);
        return (values.Squeeze(-2), indices!.Squeeze(-2));
    }

    /// <summary>The inverse of <see cref="MaxPool1dWithIndices"/> where it can be (torch.nn.functional.max_unpool1d).</summary>
    public static Tensor MaxUnpool1d(Tensor input, Tensor indices, int kernelSize, int? stride = null, int padding = 0, int? outputSize = null)
    {
        if (input.NDim == 2) return MaxUnpool1d(input.Unsqueeze(0), indices.Unsqueeze(0), kernelSize, stride, padding, outputSize).Squeeze(0);
        RequireRank("MaxUnpool1d", input, 3, "[N, C, L] or [C, L]");
        if (!indices.Shape.SequenceEqual(input.Shape) || indices.DType != DType.Int64)
            throw new ArgumentException($"MaxUnpool1d: expected Int64 indices of the input's shape {Format(input)}, got {indices.DType} {Format(indices)}");
        int s = stride ?? kernelSize, length = outputSize ?? (input.Shape[2] - 1) * s - 2 * padding + kernelSize;
        return MaxUnpool2d(input.Unsqueeze(-2), indices.Unsqueeze(-2), (1, kernelSize), (1, s), (0, padding), (1, length)).Squeeze(-2);
    }

    /// <summary>
    /// The inverse of <see cref="MaxPool2dWithIndices"/> where it can be: each value put back at its
    /// index in a zero image of the pooled input's size (torch.nn.functional.max_unpool2d).
    /// </summary>
    public static Tensor MaxUnpool2d(Tensor input, Tensor indices, Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? outputSize = null)
    {
        RequireRank("MaxUnpool2d", input, 4, "[N, C, H, W]");
        var (k, s, p) = (kernelSize, stride ?? kernelSize, padding ?? 0);
        var size = outputSize ?? new Size2((input.Shape[2] - 1) * s.H - 2 * p.H + k.H, (input.Shape[3] - 1) * s.W - 2 * p.W + k.W);
        return Unpooled("MaxUnpool2d", "plane", input, indices, size.H, size.W);
    }

    // Each value of input [N, C, ...] put at its flat index in a zero output of the given spatial
    // sizes (a plane or a volume), what both unpoolings are.
    static Tensor Unpooled(string op, string what, Tensor input, Tensor indices, params int[] size)
    {
        if (!indices.Shape.SequenceEqual(input.Shape) || indices.DType != DType.Int64)
            throw new ArgumentException($"{op}: expected Int64 indices of the input's shape {Format(input)}, got {indices.DType} {Format(indices)}");
        long elements = size.Aggregate(1L, (a, b) => a * b);
        if (size.Any(d => d <= 0) || elements > int.MaxValue)
            throw new ArgumentException($"{op}: output size ({string.Join(", ", size)}) must be positive and fit a tensor");
        if (indices.Numel > 0 && ((double)indices.Min().Item<long>() < 0 || indices.Max().Item<long>() >= elements))
            throw new ArgumentException($"{op}: an index lies outside the output {what} of {string.Join(" x ", size)}");
        int n = input.Shape[0], c = input.Shape[1];
        return Tensor.Zeros([n, c, (int)elements], input.DType).ScatterAdd(2, indices.Reshape(n, c, -1), input.Reshape(n, c, -1))
            .Reshape([n, c, .. size]);
    }

    /// <summary>
    /// Mean over each window of images [N, C, H, W] or [C, H, W] (torch.nn.functional.avg_pool2d):
    /// padding counts as zeros in the divisor unless <paramref name="countIncludePad"/> is false,
    /// and <paramref name="divisorOverride"/> replaces the divisor.
    /// </summary>
    public static Tensor AvgPool2d(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null)
    {
        if (input.NDim == 3) return AvgPool2d(input.Unsqueeze(0), kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride).Squeeze(0);
        RequireRank("AvgPool2d", input, 4, "[N, C, H, W] or [C, H, W]");
        if (divisorOverride is <= 0) throw new ArgumentException($"AvgPool2d: divisor override must be positive, got {divisorOverride}");
        var (k, s, p) = (kernelSize, stride ?? kernelSize, padding ?? 0);
        var (x, g, oh, ow) = PoolWindows("AvgPool2d", input, k, s, p, 1, ceilMode, 0.0);
        int n = x.Shape[0], c = x.Shape[1], h = input.Shape[2], w = input.Shape[3];
        var sums = new Functions.Unfold(g).Apply(x).Reshape(n, c, g.Size, oh * ow).Sum(2);
        if (divisorOverride is int divisor) return (sums / divisor).Reshape(n, c, oh, ow);
        // PyTorch's divisor: the window clipped to the padded image, then (without countIncludePad) to the image.
        var divisors = new double[oh * ow];
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
            {
                int hs = oy * s.H - p.H, he = Math.Min(hs + k.H, h + p.H), ws = ox * s.W - p.W, we = Math.Min(ws + k.W, w + p.W);
                int count = (he - hs) * (we - ws);
                if (!countIncludePad) count = (Math.Min(he, h) - Math.Max(hs, 0)) * (Math.Min(we, w) - Math.Max(ws, 0));
                divisors[oy * ow + ox] = count;
            }
        return (sums / Tensor.From(divisors, [oh * ow]).To(input.DType)).Reshape(n, c, oh, ow);
    }

    /// <summary>Mean over each window of sequences [N, C, L] or [C, L] (torch.nn.functional.avg_pool1d).</summary>
    public static Tensor AvgPool1d(Tensor input, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
    {
        RequireRanks("AvgPool1d", input, 2, 3, "[N, C, L] or [C, L]");
        return AvgPool2d(input.Unsqueeze(-2), (1, kernelSize), (1, stride ?? kernelSize), (0, padding), ceilMode, countIncludePad).Squeeze(-2);
    }

    /// <summary>
    /// Mean over windows chosen to give an output of <paramref name="outputSize"/> (torch's
    /// adaptive_avg_pool2d): output cell i covers rows ⌊i·H/oh⌋ to ⌈(i+1)·H/oh⌉. A mean over a
    /// rectangle is a mean over rows then columns, so this is two small matrix products.
    /// </summary>
    public static Tensor AdaptiveAvgPool2d(Tensor input, Size2 outputSize)
    {
        if (input.NDim == 3) return AdaptiveAvgPool2d(input.Unsqueeze(0), outputSize).Squeeze(0);
        RequireRank("AdaptiveAvgPool2d", input, 4, "[N, C, H, W] or [C, H, W]");
        RequireAdaptive("AdaptiveAvgPool2d", input, outputSize, outputSize.H, outputSize.W);
        var rows = AveragingMatrix(input.Shape[2], outputSize.H, input.DType);            // [oh, H]
        var columns = AveragingMatrix(input.Shape[3], outputSize.W, input.DType);         // [ow, W]
        return rows.Matmul(input).Matmul(columns.T);
    }

    /// <summary>Adaptive mean of sequences [N, C, L] or [C, L] to <paramref name="outputSize"/> positions (adaptive_avg_pool1d).</summary>
    public static Tensor AdaptiveAvgPool1d(Tensor input, int outputSize)
    {
        RequireRanks("AdaptiveAvgPool1d", input, 2, 3, "[N, C, L] or [C, L]");
        return AdaptiveAvgPool2d(input.Unsqueeze(-2), (1, outputSize)).Squeeze(-2);
    }

    /// <summary>
    /// Power-average pooling of images [N, C, H, W] or [C, H, W] (torch.nn.functional.lp_pool2d):
    /// (Σ x^p)^(1/p) over each window, computed as PyTorch does, from the average of x^p times the
    /// kernel's area (so a window cut short by ceil mode is scaled as if whole), no padding.
    /// </summary>
    public static Tensor LpPool2d(Tensor input, double normType, Size2 kernelSize, Size2? stride = null, bool ceilMode = false)
    {
        if (normType == 0) throw new ArgumentException("LpPool2d: norm_type must be non-zero");
        var pooled = AvgPool2d(input.Pow(normType), kernelSize, stride, 0, ceilMode);
        return PowerMean(pooled, kernelSize.H * kernelSize.W, normType);
    }

    /// <summary>Power-average pooling of sequences [N, C, L] or [C, L] (torch.nn.functional.lp_pool1d); see <see cref="LpPool2d"/>.</summary>
    public static Tensor LpPool1d(Tensor input, double normType, int kernelSize, int? stride = null, bool ceilMode = false)
    {
        if (normType == 0) throw new ArgumentException("LpPool1d: norm_type must be non-zero");
        RequireRanks("LpPool1d", input, 2, 3, "[N, C, L] or [C, L]");
        var pooled = AvgPool1d(input.Pow(normType), kernelSize, stride, 0, ceilMode);
        return PowerMean(pooled, kernelSize, normType);
    }

    // PyTorch's (sign(m)·relu(|m|)·area)^(1/p), including its sign and ReLU, whose gradients differ
    // from the identity's at zero only.
    static Tensor PowerMean(Tensor mean, int area, double normType) =>
        (mean.Sign() * mean.Abs().Relu() * area).Pow(1.0 / normType);

    static (Tensor Values, Tensor? Indices) MaxPool(string op, Tensor input, Size2 k, Size2 s, Size2 p, Size2 d, bool ceilMode, bool withIndices)
    {
        if (input.NDim == 3)
        {
            var (v, i) = MaxPool(op, input.Unsqueeze(0), k, s, p, d, ceilMode, withIndices);
            return (v.Squeeze(0), i?.Squeeze(0));
        }
        RequireRank(op, input, 4, "[N, C, H, W] or [C, H, W]");
        var (x, g, oh, ow) = PoolWindows(op, input, k, s, p, d, ceilMode, double.NegativeInfinity);
        int n = x.Shape[0], c = x.Shape[1];
        // The kernel finds each window's winner; the values are a gather of the input at them, whose
        // gradient (a scatter-add, whose own gradient is a gather) puts each output's gradient on its winner.
        var windows = Windows(op, k, d, p, s);
        var (found, anyEmpty) = input.Backend.MaxPoolIndices(input, windows, oh, ow);
        Tensor winners = found;
        Tracing.Active?.Primitive("MaxPoolIndices", (windows, oh, ow), [input], winners);
        if (!anyEmpty)
        {
            Tensor indices = winners;
            var pooled = input.Flatten(2).Gather(2, indices.Flatten(2)).Reshape(n, c, oh, ow);
            return (pooled, withIndices ? indices : null);
        }
        // A window of padding alone (dilation past the padding) has no pixel to gather: windows over
        // the input padded with -inf, which never wins where there is anything else.
        var (values, window) = new Functions.Unfold(g).Apply(x).Reshape(n, c, g.Size, oh * ow).MaxWithIndices(2);
        values = values.Reshape(n, c, oh, ow);
        if (!withIndices) return (values, null);
        // The winner's place in the unpadded input: row oy·s - p + (k / kw)·d, column likewise.
        // A window whose values are all -inf (padding only, or -inf inputs) gets PyTorch's answer: its
        // first row and column at or past 0, stepping by the dilation, even if that lies past the edge.
        var at = window.ToArray<long>();
        var best = values.ToArray<double>();
        var flat = new long[at.Length];
        int width = input.Shape[3];
        for (int i = 0; i < at.Length; i++)
        {
            int position = i % (oh * ow), oy = position / ow, ox = position % ow;
            long row = oy * s.H - p.H + at[i] / k.W * d.H, column = ox * s.W - p.W + at[i] % k.W * d.W;
            if (double.IsNegativeInfinity(best[i]))
            {
                for (row = oy * s.H - p.H; row < 0; row += d.H) { }
                for (column = ox * s.W - p.W; column < 0; column += d.W) { }
            }
            flat[i] = row * width + column;
        }
        return (values, Tensor.From(flat, [n, c, oh, ow]));
    }

    // The padded input and the windows over it that give PyTorch's output size, ceil mode included:
    // the output is ⌊ or ⌈(size + 2p − d(k − 1) − 1) / s⌉ + 1, less one in ceil mode when the last
    // window would start in the right padding; the input is padded on the right to cover the last window.
    static (Tensor X, Windows2d G, int OutH, int OutW) PoolWindows(string op, Tensor input, Size2 k, Size2 s, Size2 p, Size2 d, bool ceilMode, double fill)
    {
        var g = Windows(op, k, d, p, s);
        if (!input.DType.IsFloatingPoint()) throw new ArgumentException($"{op}: expected a floating input, got {input.DType}");
        if (p.H > k.H / 2 || p.W > k.W / 2)
            throw new ArgumentException($"{op}: padding {p} should be at most half of the kernel size {k}");
        int h = input.Shape[2], w = input.Shape[3];
        int oh = PoolOut(h, k.H, s.H, p.H, d.H, ceilMode), ow = PoolOut(w, k.W, s.W, p.W, d.W, ceilMode);
        if (oh <= 0 || ow <= 0)
            throw new ArgumentException($"{op}: input of shape {Format(input)} gives an output of {oh} x {ow} with kernel {k}, stride {s}, padding {p} and dilation {d}: the output is too small");
        int extraH = Math.Max(0, (oh - 1) * s.H + d.H * (k.H - 1) + 1 - (h + 2 * p.H));
        int extraW = Math.Max(0, (ow - 1) * s.W + d.W * (k.W - 1) + 1 - (w + 2 * p.W));
        var x = p == new Size2(0, 0) && extraH == 0 && extraW == 0 ? input : Pad(input, [p.W, p.W + extraW, p.H, p.H + extraH], fill);
        return (x, g with { PadH = 0, PadW = 0 }, oh, ow);
    }

    static int PoolOut(int size, int kernel, int stride, int pad, int dilation, bool ceilMode)
    {
        int span = size + 2 * pad - dilation * (kernel - 1) - 1;
        if (span < 0) return 0;
        int output = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceilMode && (output - 1) * stride >= size + pad) output--;
        return output;
    }

    // Row i averages its window's entries: 1 / (end - start) on start..end-1.
    static Tensor AveragingMatrix(int size, int output, DType dtype)
    {
        var m = new double[output * size];
        for (int i = 0; i < output; i++)
        {
            int start = i * size / output, end = ((i + 1) * size + output - 1) / output;
            for (int j = start; j < end; j++) m[i * size + j] = 1.0 / (end - start);
        }
        return Tensor.From(m, [output, size]).To(dtype);
    }

    // outputSize as the caller wrote it (a Size2 or Size3), and its sizes, one per spatial dim of input.
    static void RequireAdaptive(string op, Tensor input, object outputSize, params int[] sizes)
    {
        if (sizes.Any(size => size <= 0)) throw new ArgumentException($"{op}: output size must be positive, got {outputSize}");
        if (input.Shape.Skip(2).Any(size => size == 0)) throw new ArgumentException($"{op}: input of shape {Format(input)} has an empty spatial dim");
        if (!input.DType.IsFloatingPoint()) throw new ArgumentException($"{op}: expected a floating input, got {input.DType}");
    }

    static void RequireRanks(string op, Tensor t, int a, int b, string expected)
    {
        if (t.NDim != a && t.NDim != b) throw new ArgumentException($"{op}: expected {expected}, got shape {Format(t)}");
    }
}
