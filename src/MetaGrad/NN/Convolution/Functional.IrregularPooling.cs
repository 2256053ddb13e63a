namespace MetaGrad.NN;

// Max pooling over windows that do not form a regular grid: adaptive pooling's (output i of n over a
// size covers ⌊i·size/n⌋ to ⌈(i+1)·size/n⌉) and fractional pooling's pseudo-random starts, which
// differ from plane to plane. One scan finds each window's winner by PyTorch's rule (a value greater
// than the best so far, or a NaN, takes over: the first maximum, the last NaN); the values are a
// gather at the winners, whose gradient, a scatter-add onto them, differentiates again.
public static partial class Functional
{
    /// <summary>Max of sequences [N, C, L] or [C, L] over windows chosen to give <paramref name="outputSize"/> positions (adaptive_max_pool1d).</summary>
    public static Tensor AdaptiveMaxPool1d(Tensor input, int outputSize) => AdaptiveMaxPool1d(input, outputSize, withIndices: false).Values;

    /// <summary><see cref="AdaptiveMaxPool1d(Tensor, int)"/> and the index of each max along L (return_indices = True).</summary>
    public static (Tensor Values, Tensor Indices) AdaptiveMaxPool1dWithIndices(Tensor input, int outputSize) =>
        WithIndices(AdaptiveMaxPool1d(input, outputSize, withIndices: true));

    static (Tensor Values, Tensor? Indices) AdaptiveMaxPool1d(Tensor input, int outputSize, bool withIndices)
    {
        RequireRanks("AdaptiveMaxPool1d", input, 2, 3, "[N, C, L] or [C, L]");
        RequireAdaptive("AdaptiveMaxPool1d", Batched(input, 3), outputSize, outputSize);
        var (values, indices) = AdaptiveMaxPool("AdaptiveMaxPool1d", input.Unsqueeze(-2).Unsqueeze(-2), 1, 1, outputSize, withIndices);
        return (values.Squeeze(-2).Squeeze(-2), indices?.Squeeze(-2).Squeeze(-2)!);
    }

    /// <summary>Max over windows chosen to give an output of <paramref name="outputSize"/> (adaptive_max_pool2d).</summary>
    public static Tensor AdaptiveMaxPool2d(Tensor input, Size2 outputSize) => AdaptiveMaxPool2d(input, outputSize, withIndices: false).Values;

    /// <summary>
    /// <see cref="AdaptiveMaxPool2d(Tensor, Size2)"/> and the flat index (h·W + w) of each max in its input plane, as
    /// adaptive_max_pool2d with return_indices = True.
    /// </summary>
    public static (Tensor Values, Tensor Indices) AdaptiveMaxPool2dWithIndices(Tensor input, Size2 outputSize) =>
        WithIndices(AdaptiveMaxPool2d(input, outputSize, withIndices: true));

    static (Tensor Values, Tensor? Indices) AdaptiveMaxPool2d(Tensor input, Size2 outputSize, bool withIndices)
    {
        RequireRanks("AdaptiveMaxPool2d", input, 3, 4, "[N, C, H, W] or [C, H, W]");
        RequireAdaptive("AdaptiveMaxPool2d", Batched(input, 4), outputSize, outputSize.H, outputSize.W);
        var (values, indices) = AdaptiveMaxPool("AdaptiveMaxPool2d", input.Unsqueeze(-3), 1, outputSize.H, outputSize.W, withIndices);
        return (values.Squeeze(-3), indices?.Squeeze(-3));
    }

    /// <summary>Max over windows chosen to give an output of <paramref name="outputSize"/> (adaptive_max_pool3d).</summary>
    public static Tensor AdaptiveMaxPool3d(Tensor input, Size3 outputSize) => AdaptiveMaxPool3d(input, outputSize, withIndices: false).Values;

    /// <summary>
    /// <see cref="AdaptiveMaxPool3d(Tensor, Size3)"/> and the flat index (d·H·W + h·W + w) of each max in its input
    /// volume, as adaptive_max_pool3d with return_indices = True.
    /// </summary>
    public static (Tensor Values, Tensor Indices) AdaptiveMaxPool3dWithIndices(Tensor input, Size3 outputSize) =>
        WithIndices(AdaptiveMaxPool3d(input, outputSize, withIndices: true));

    static (Tensor Values, Tensor? Indices) AdaptiveMaxPool3d(Tensor input, Size3 outputSize, bool withIndices)
    {
        RequireRanks("AdaptiveMaxPool3d", input, 4, 5, "[N, C, D, H, W] or [C, D, H, W]");
        RequireAdaptive("AdaptiveMaxPool3d", Batched(input, 5), outputSize, outputSize.D, outputSize.H, outputSize.W);
        return AdaptiveMaxPool("AdaptiveMaxPool3d", input, outputSize.D, outputSize.H, outputSize.W, withIndices);
    }

    /// <summary>
    /// Fractional max pooling of images [N, C, H, W] or [C, H, W] (torch.nn.functional.fractional_max_pool2d,
    /// Graham 2014): windows of <paramref name="kernelSize"/> whose starts advance by a non-integer step
    /// to give <paramref name="outputSize"/> (or ⌊size · <paramref name="outputRatio"/>⌋) outputs, offset by a
    /// uniform sample per plane and dim: <paramref name="randomSamples"/> [N, C, 2] (width's, then
    /// height's) as PyTorch's _random_samples, or drawn from <paramref name="generator"/>.
    /// </summary>
    public static Tensor FractionalMaxPool2d(Tensor input, Size2 kernelSize, Size2? outputSize = null, (double H, double W)? outputRatio = null,
        Tensor? randomSamples = null, Generator? generator = null) =>
        FractionalMaxPool2dWithIndices(input, kernelSize, outputSize, outputRatio, randomSamples, generator).Values;

    /// <summary><see cref="FractionalMaxPool2d"/> and the flat index (h·W + w) of each max in its input plane (return_indices = True).</summary>
    public static (Tensor Values, Tensor Indices) FractionalMaxPool2dWithIndices(Tensor input, Size2 kernelSize, Size2? outputSize = null,
        (double H, double W)? outputRatio = null, Tensor? randomSamples = null, Generator? generator = null)
    {
        const string op = "FractionalMaxPool2d";
        RequireRanks(op, input, 3, 4, "[N, C, H, W] or [C, H, W]");
        int h = input.Shape[^2], w = input.Shape[^1];
        var size = OutputOf(op, outputSize, outputRatio is { } r ? new Size2((int)(h * r.H), (int)(w * r.W)) : null, [r => r.H, r => r.W], outputRatio);
        var (values, indices) = FractionalMaxPool(op, image: true, input.Unsqueeze(-3), [1, kernelSize.H, kernelSize.W], [1, size.H, size.W], randomSamples, generator);
        return (values.Squeeze(-3), indices.Squeeze(-3));
    }

    /// <summary>
    /// Fractional max pooling of volumes [N, C, D, H, W] or [C, D, H, W] (fractional_max_pool3d), as
    /// <see cref="FractionalMaxPool2d"/> with samples [N, C, 3] (depth's, height's, width's).
    /// </summary>
    public static Tensor FractionalMaxPool3d(Tensor input, Size3 kernelSize, Size3? outputSize = null, (double D, double H, double W)? outputRatio = null,
        Tensor? randomSamples = null, Generator? generator = null) =>
        FractionalMaxPool3dWithIndices(input, kernelSize, outputSize, outputRatio, randomSamples, generator).Values;

    /// <summary><see cref="FractionalMaxPool3d"/> and the flat index (d·H·W + h·W + w) of each max in its input volume (return_indices = True).</summary>
    public static (Tensor Values, Tensor Indices) FractionalMaxPool3dWithIndices(Tensor input, Size3 kernelSize, Size3? outputSize = null,
        (double D, double H, double W)? outputRatio = null, Tensor? randomSamples = null, Generator? generator = null)
    {
        const string op = "FractionalMaxPool3d";
        RequireRanks(op, input, 4, 5, "[N, C, D, H, W] or [C, D, H, W]");
        int d = input.Shape[^3], h = input.Shape[^2], w = input.Shape[^1];
        var size = OutputOf(op, outputSize, outputRatio is { } r ? new Size3((int)(d * r.D), (int)(h * r.H), (int)(w * r.W)) : null, [r => r.D, r => r.H, r => r.W], outputRatio);
        return FractionalMaxPool(op, image: false, input, [kernelSize.D, kernelSize.H, kernelSize.W], [size.D, size.H, size.W], randomSamples, generator);
    }

    // The output size given, or the one a ratio gives; exactly one of them, a ratio strictly inside (0, 1).
    static TSize OutputOf<TSize, TRatio>(string op, TSize? size, TSize? fromRatio, Func<TRatio, double>[] parts, TRatio? ratio)
        where TSize : struct where TRatio : struct
    {
        RequireOneOutput(op, size, ratio, parts);
        return size ?? fromRatio!.Value;
    }

    // Fractional pooling's output arguments (its modules check them at construction too).
    internal static void RequireOneOutput<TSize, TRatio>(string op, TSize? size, TRatio? ratio, params Func<TRatio, double>[] parts)
        where TSize : struct where TRatio : struct
    {
        if (size.HasValue == ratio.HasValue)
            throw new ArgumentException($"{op}: give exactly one of outputSize and outputRatio, got {(size.HasValue ? "both" : "neither")}");
        if (ratio is { } r && parts.Any(part => !(part(r) > 0 && part(r) < 1)))
            throw new ArgumentException($"{op}: output ratio must be between 0 and 1 (exclusive), got {r}");
    }

    static Tensor Batched(Tensor input, int rank) => input.NDim == rank ? input : input.Unsqueeze(0);

    // input [N, C, D, H, W] or [C, D, H, W] (checked), sizes per dim (D, H, W); the indices null
    // when not asked for.
    // The indices asked for are there.
    static (Tensor Values, Tensor Indices) WithIndices((Tensor Values, Tensor? Indices) pooled) => (pooled.Values, pooled.Indices!);

    static (Tensor Values, Tensor? Indices) AdaptiveMaxPool(string op, Tensor input, int od, int oh, int ow, bool withIndices)
    {
        bool unbatched = input.NDim == 4;
        var x = unbatched ? input.Unsqueeze(0) : input;
        int[] sizes = [x.Shape[2], x.Shape[3], x.Shape[4]], outputs = [od, oh, ow];
        var windows = new (int Start, int End)[3][];
        for (int dim = 0; dim < 3; dim++)
        {
            int size = sizes[dim], n = outputs[dim];
            windows[dim] = Enumerable.Range(0, n).Select(i => (i * size / n, ((i + 1) * size + n - 1) / n)).ToArray();
        }
        Tensor values, indices;
        if (Tracing.Active is null) (values, indices) = WindowMax(x, outputs, (_, dim) => windows[dim]);
        else if (withIndices) throw new NotSupportedException($"{op}: its indices are found on the host and cannot be traced (ONNX export); export the values alone");
        else (values, indices) = (TracedMax(x, windows), null!);
        if (!withIndices) return (unbatched ? values.Squeeze(0) : values, null);
        return unbatched ? (values.Squeeze(0), indices.Squeeze(0)) : (values, indices);
    }

    // Under a trace (ONNX export) the scan, which reads the input's values on the host, cannot be
    // recorded: each window is a slice and a max, which the exporter writes as ONNX operations.
    static Tensor TracedMax(Tensor x, (int Start, int End)[][] windows)
    {
        var cells = new List<Tensor>();
        foreach (var z in windows[0])
            foreach (var y in windows[1])
                foreach (var col in windows[2])
                    cells.Add(x[.., .., z.Start..z.End, y.Start..y.End, col.Start..col.End].Flatten(2).MaxWithIndices(2).Values);
        return Tensor.Stack([.. cells], 2).Reshape(x.Shape[0], x.Shape[1], windows[0].Length, windows[1].Length, windows[2].Length);
    }

    // input [N, C, D, H, W] or [C, D, H, W]; kernel and output per dim (D, H, W), D's both 1 for images,
    // whose samples have two values a plane (W's, H's) where volumes' have three (D's, H's, W's).
    static (Tensor Values, Tensor Indices) FractionalMaxPool(string op, bool image, Tensor input, int[] kernel, int[] outputs, Tensor? randomSamples, Generator? generator)
    {
        bool unbatched = input.NDim == 4;
        var x = unbatched ? input.Unsqueeze(0) : input;
        if (!x.DType.IsFloatingPoint()) throw new ArgumentException($"{op}: expected a floating input, got {x.DType}");
        int n = x.Shape[0], c = x.Shape[1];
        int[] dims = image ? [1, 2] : [0, 1, 2];
        string[] names = ["time", "height", "width"];
        foreach (int dim in dims)
        {
            if (kernel[dim] <= 0 || outputs[dim] <= 0)
                throw new ArgumentException($"{op}: kernel size and output size must be positive, got {kernel[dim]} and {outputs[dim]} for the {names[dim]}");
            if (outputs[dim] + kernel[dim] - 1 > x.Shape[2 + dim])
                throw new ArgumentException($"{op}: pool {names[dim]} {kernel[dim]} too large relative to input {names[dim]} {x.Shape[2 + dim]} (output {names[dim]} {outputs[dim]})");
        }
        int perPlane = dims.Length;
        var samples = randomSamples ?? Tensor.Rand([n, c, perPlane], x.DType, generator: generator);
        if (!samples.Shape.SequenceEqual([n, c, perPlane]))
            throw new ArgumentException($"{op}: expected random samples of shape [{n}, {c}, {perPlane}] for input of shape {Format(input)}, got {Format(samples)}");
        var u = samples.ToArray<double>();
        // PyTorch steps the windows in the input's precision: float32's truncations differ from float64's.
        bool single = x.DType != DType.Float64;
        // A plane's samples for (D, H, W): images' come as (W, H).
        int SampleAt(int dim) => image ? 2 - dim : dim;
        (int Start, int End)[] Windows(int plane, int dim)
        {
            if (image && dim == 0) return [(0, 1)];
            int size = x.Shape[2 + dim], k = kernel[dim], count = outputs[dim];
            var starts = FractionalStarts(u[plane * perPlane + SampleAt(dim)], size, count, k, single);
            return starts.Select(s => (s, s + k)).ToArray();
        }
        var (values, indices) = WindowMax(x, outputs, Windows);
        return unbatched ? (values.Squeeze(0), indices.Squeeze(0)) : (values, indices);
    }

    // PyTorch's generate_intervals: α = (size - k) / (outputs - 1), start i = ⌊(i + u)·α⌋ - ⌊u·α⌋ but
    // the last, which ends at the input's end.
    static int[] FractionalStarts(double sample, int size, int outputs, int kernel, bool single)
    {
        var starts = new int[outputs];
        if (outputs > 1)
        {
            if (single)
            {
                float alpha = (float)(size - kernel) / (outputs - 1), s = (float)sample;
                for (int i = 0; i < outputs - 1; i++) starts[i] = (int)((i + s) * alpha) - (int)(s * alpha);
            }
            else
            {
                double alpha = (double)(size - kernel) / (outputs - 1);
                for (int i = 0; i < outputs - 1; i++) starts[i] = (int)((i + sample) * alpha) - (int)(sample * alpha);
            }
        }
        starts[outputs - 1] = size - kernel;
        return starts;
    }

    // x [N, C, D, H, W]; windows(plane, dim) the [start, end) of each of the dim's outputs for plane
    // n·C + c. Each window's winner by one scan in (d, h, w) order; a window of -inf alone (or an
    // empty one) keeps its first element.
    static (Tensor Values, Tensor Indices) WindowMax(Tensor x, int[] outputs, Func<int, int, (int Start, int End)[]> windows)
    {
        int n = x.Shape[0], c = x.Shape[1], depth = x.Shape[2], h = x.Shape[3], w = x.Shape[4];
        int volume = depth * h * w, cells = outputs[0] * outputs[1] * outputs[2];
        var data = x.ToArray<double>();
        var winners = new long[n * c * cells];
        for (int plane = 0, at = 0; plane < n * c; plane++)
        {
            var (zs, ys, xs) = (windows(plane, 0), windows(plane, 1), windows(plane, 2));
            int origin = plane * volume;
            foreach (var z in zs)
                foreach (var y in ys)
                    foreach (var col in xs)
                    {
                        long best = ((long)z.Start * h + y.Start) * w + col.Start;
                        double max = double.NegativeInfinity;
                        for (int iz = z.Start; iz < z.End; iz++)
                            for (int iy = y.Start; iy < y.End; iy++)
                                for (int ix = col.Start; ix < col.End; ix++)
                                {
                                    int i = (iz * h + iy) * w + ix;
                                    double v = data[origin + i];
                                    if (v > max || double.IsNaN(v)) (max, best) = (v, i);
                                }
                        winners[at++] = best;
                    }
        }
        var indices = Tensor.From(winners, [n, c, outputs[0], outputs[1], outputs[2]]);
        var values = x.Reshape(n, c, volume).Gather(2, indices.Reshape(n, c, cells)).Reshape(n, c, outputs[0], outputs[1], outputs[2]);
        return (values, indices);
    }
}
