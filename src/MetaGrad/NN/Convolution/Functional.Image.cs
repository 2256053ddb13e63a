namespace MetaGrad.NN;

// Image operations built from primitives: group and instance normalisation, channel dropout,
// pixel shuffling and resizing. Each gets its gradient (of any order) from what it is made of.
public static partial class Functional
{
    /// <summary>
    /// Normalises [N, C, *] over each group of C / <paramref name="numGroups"/> channels and all
    /// positions, per sample, then scales and shifts per channel (torch.nn.functional.group_norm).
    /// </summary>
    public static Tensor GroupNorm(Tensor input, int numGroups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        if (input.NDim < 2) throw new ArgumentException($"GroupNorm: expected an input [N, C, *], got shape {Format(input)}");
        int n = input.Shape[0], c = input.Shape[1];
        if (numGroups <= 0 || c % numGroups != 0)
            throw new ArgumentException($"GroupNorm: expected the {c} channels of input shape {Format(input)} to be divisible by num_groups = {numGroups}");
        var grouped = input.Reshape(n, numGroups, -1);
        var mean = grouped.Mean([2], keepDim: true);
        var variance = grouped.Var([2], correction: 0, keepDim: true);
        var y = ((grouped - mean) / (variance + eps).Sqrt()).Reshape(input.Shape.ToArray());
        return Affine(y, weight, bias);
    }

    /// <summary>
    /// Normalises each channel of each sample of [N, C, *] over its positions, then scales and shifts
    /// per channel (torch.nn.functional.instance_norm). With <paramref name="runningMean"/> and
    /// <paramref name="runningVar"/> [C] given: where <paramref name="useInputStats"/> they are
    /// updated in place, as PyTorch does, by <paramref name="momentum"/> towards the mean over the
    /// batch of the instances' means and unbiased variances; otherwise they normalise instead of the
    /// instances' own statistics. (PyTorch takes the running statistics second and third; here they
    /// are named arguments after the others.)
    /// </summary>
    public static Tensor InstanceNorm(Tensor input, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5,
        Tensor? runningMean = null, Tensor? runningVar = null, bool useInputStats = true, double momentum = 0.1)
    {
        if (input.NDim < 3) throw new ArgumentException($"InstanceNorm: expected an input [N, C, L] or [N, C, H, W], got shape {Format(input)}");
        int c = input.Shape[1];
        foreach (var (stat, name) in new[] { (runningMean, "running_mean"), (runningVar, "running_var") })
            if (stat is not null && (stat.NDim != 1 || stat.Shape[0] != c || stat.DType != input.DType))
                throw new ArgumentException($"InstanceNorm: expected {name} of shape [{c}] and dtype {input.DType} for input of shape {Format(input)}, got {stat.DType} {Format(stat)}");
        if ((runningMean is null) != (runningVar is null))
            throw new ArgumentException("InstanceNorm: running_mean and running_var are given together or not at all");
        var shape = Enumerable.Range(0, input.NDim).Select(d => d == 1 ? c : 1).ToArray();
        if (!useInputStats)
        {
            if (runningMean is null) throw new ArgumentException("InstanceNorm: expected running_mean and running_var when use_input_stats is false");
            return Affine((input - runningMean.Reshape(shape)) / (runningVar!.Reshape(shape) + eps).Sqrt(), weight, bias);
        }
        var dims = Enumerable.Range(2, input.NDim - 2).ToArray();
        int count = dims.Aggregate(1, (n, d) => n * input.Shape[d]);
        if (count <= 1)
            throw new ArgumentException($"InstanceNorm: expected more than 1 spatial element per channel when using the input's statistics, got input of shape {Format(input)}");
        var mean = input.Mean(dims, keepDim: true);
        var variance = input.Var(dims, correction: 0, keepDim: true);
        if (runningMean is not null)
        {
            using var _ = Autograd.NoGrad();
            var meanOfBatch = mean.Detach().Reshape(input.Shape[0], c).Mean([0]);
            var unbiased = variance.Detach().Reshape(input.Shape[0], c).Mean([0]) * (count / (double)(count - 1));
            runningMean.Mul_(1 - momentum).Add_(meanOfBatch * momentum);
            runningVar!.Mul_(1 - momentum).Add_(unbiased * momentum);
        }
        return Affine((input - mean) / (variance + eps).Sqrt(), weight, bias);
    }

    /// <summary>
    /// Divides each value of [N, C, *] by (k + α/n · Σ x²)^β, the sum over the n channels centred on
    /// it, zeros past the ends (torch.nn.functional.local_response_norm, AlexNet's normalisation).
    /// </summary>
    public static Tensor LocalResponseNorm(Tensor input, int size, double alpha = 1e-4, double beta = 0.75, double k = 1.0)
    {
        if (input.NDim < 3) throw new ArgumentException($"LocalResponseNorm: expected an input [N, C, *] of 3 or more dims, got shape {Format(input)}");
        if (size <= 0) throw new ArgumentException($"LocalResponseNorm: size must be positive, got {size}");
        if (input.Numel == 0) return input;
        int n = input.Shape[0], c = input.Shape[1];
        // The channels' squares as the rows of one image per sample, averaged by a (size × 1) window
        // over the zero-padded rows: PyTorch's divisor, padding included.
        var squares = Pad(input.Square().Reshape(n, 1, c, -1), [0, 0, size / 2, (size - 1) / 2]);
        var average = AvgPool2d(squares, (size, 1), 1).Reshape(input.Shape.ToArray());
        return input / (average * alpha + k).Pow(beta);
    }

    // weight and bias per channel (dim 1), broadcast over the rest.
    static Tensor Affine(Tensor y, Tensor? weight, Tensor? bias)
    {
        var shape = Enumerable.Range(0, y.NDim).Select(d => d == 1 ? y.Shape[1] : 1).ToArray();
        if (weight is not null) y = y * weight.Reshape(shape);
        if (bias is not null) y = y + bias.Reshape(shape);
        return y;
    }

    /// <summary>
    /// In training, zeroes whole channels of [N, C, H, W] (or [C, H, W]) with probability p and
    /// scales the rest by 1/(1 − p) (torch.nn.functional.dropout2d).
    /// </summary>
    public static Tensor Dropout2d(Tensor input, double p = 0.5, bool training = true, Generator? generator = null) =>
        FeatureDropout("Dropout2d", input, 4, p, training, generator);

    /// <summary>Channel dropout of [N, C, L] (or [C, L]) (torch.nn.functional.dropout1d).</summary>
    public static Tensor Dropout1d(Tensor input, double p = 0.5, bool training = true, Generator? generator = null) =>
        FeatureDropout("Dropout1d", input, 3, p, training, generator);

    static Tensor FeatureDropout(string op, Tensor input, int rank, double p, bool training, Generator? generator)
    {
        if (input.NDim != rank && input.NDim != rank - 1)
            throw new ArgumentException($"{op}: expected a {rank}-D (batched) or {rank - 1}-D (unbatched) input, got shape {Format(input)}");
        if (p < 0 || p > 1) throw new ArgumentException($"{op}: probability has to be between 0 and 1, but got {p}");
        if (!training || p == 0) return input;
        if (p == 1) return input * 0.0;
        // One draw per channel, broadcast over its positions.
        int channels = input.NDim == rank ? 2 : 1;
        var shape = input.Shape.ToArray().Select((s, d) => d < channels ? s : 1).ToArray();
        var keep = Tensor.Rand(shape, input.DType, generator: generator) >= p;
        return input * keep.To(input.DType) * (1 / (1 - p));
    }

    /// <summary>[N, C·r², H, W] to [N, C, H·r, W·r]: each group of r² channels becomes an r×r block (pixel_shuffle).</summary>
    public static Tensor PixelShuffle(Tensor input, int upscaleFactor)
    {
        int r = upscaleFactor;
        if (input.NDim < 3 || r <= 0 || input.Shape[^3] % (r * r) != 0)
            throw new ArgumentException($"PixelShuffle: expected an input [*, C·{r}², H, W] with channels divisible by {r * r}, got shape {Format(input)}");
        var lead = input.Shape.ToArray()[..^3];
        int c = input.Shape[^3] / (r * r), h = input.Shape[^2], w = input.Shape[^1], k = lead.Length;
        return input.Reshape([.. lead, c, r, r, h, w])
            .Permute([.. Enumerable.Range(0, k), k, k + 3, k + 1, k + 4, k + 2])
            .Reshape([.. lead, c, h * r, w * r]);
    }

    /// <summary>The inverse of <see cref="PixelShuffle"/>: [N, C, H·r, W·r] to [N, C·r², H, W] (pixel_unshuffle).</summary>
    public static Tensor PixelUnshuffle(Tensor input, int downscaleFactor)
    {
        int r = downscaleFactor;
        if (input.NDim < 3 || r <= 0 || input.Shape[^2] % r != 0 || input.Shape[^1] % r != 0)
            throw new ArgumentException($"PixelUnshuffle: expected an input [*, C, H, W] with H and W divisible by {r}, got shape {Format(input)}");
        var lead = input.Shape.ToArray()[..^3];
        int c = input.Shape[^3], h = input.Shape[^2] / r, w = input.Shape[^1] / r, k = lead.Length;
        return input.Reshape([.. lead, c, h, r, w, r])
            .Permute([.. Enumerable.Range(0, k), k, k + 2, k + 4, k + 1, k + 3])
            .Reshape([.. lead, c * r * r, h, w]);
    }

    /// <summary>
    /// Resizes [N, C, L] or [N, C, H, W] to <paramref name="size"/> or by <paramref name="scaleFactor"/>
    /// (torch.nn.functional.interpolate): mode "nearest" copies the pixel at ⌊dst·in/out⌋;
    /// "linear" (3-D) and "bilinear" (4-D) blend the two nearest, with pixel centres aligned
    /// (alignCorners false, the default) or the corner pixels aligned (true). Separable, so
    /// each spatial dim is one small matrix product.
    /// </summary>
    public static Tensor Interpolate(Tensor input, int[]? size = null, double[]? scaleFactor = null, string mode = "nearest", bool? alignCorners = null)
    {
        int spatial = input.NDim - 2;
        if (spatial is not (1 or 2)) throw new ArgumentException($"Interpolate: expected a 3-D or 4-D input, got shape {Format(input)}");
        if ((size is null) == (scaleFactor is null)) throw new ArgumentException("Interpolate: give exactly one of size and scale_factor");
        if (size is { } s0 && s0.Length != spatial || scaleFactor is { } f0 && f0.Length != spatial)
            throw new ArgumentException($"Interpolate: expected {spatial} sizes or scale factors for input shape {Format(input)}");
        bool linear = mode is "linear" or "bilinear";
        if (mode is not ("nearest" or "linear" or "bilinear") || (mode == "linear" && spatial != 1) || (mode == "bilinear" && spatial != 2))
            throw new ArgumentException($"Interpolate: mode \"{mode}\" does not apply to a {input.NDim}-D input (nearest for any, linear for 3-D, bilinear for 4-D)");
        if (!linear && alignCorners is not null) throw new ArgumentException("Interpolate: align_corners applies to linear and bilinear only");
        if (!input.DType.IsFloatingPoint()) throw new ArgumentException($"Interpolate: expected a floating input, got {input.DType}");
        var y = input;
        for (int i = 0; i < spatial; i++)
        {
            int d = 2 + i, inSize = input.Shape[d];
            int outSize = size?[i] ?? (int)Math.Floor(inSize * scaleFactor![i]);
            if (outSize <= 0) throw new ArgumentException($"Interpolate: output size {outSize} along dim {d} must be positive");
            // PyTorch scales source positions by 1/scale_factor when one is given, else by in/out.
            double scale = scaleFactor is { } f ? 1 / f[i] : (double)inSize / outSize;
            var matrix = linear ? LinearResize(inSize, outSize, scale, alignCorners ?? false) : NearestResize(inSize, outSize, scale);
            y = y.Transpose(d, -1).Matmul(matrix.To(input.DType).T).Transpose(d, -1);
        }
        return y;
    }

    static Tensor NearestResize(int inSize, int outSize, double scale)
    {
        var m = new double[outSize * inSize];
        for (int o = 0; o < outSize; o++) m[o * inSize + Math.Min((int)Math.Floor(o * scale), inSize - 1)] = 1;
        return Tensor.From(m, [outSize, inSize]);
    }

    static Tensor LinearResize(int inSize, int outSize, double scale, bool alignCorners)
    {
        var m = new double[outSize * inSize];
        for (int o = 0; o < outSize; o++)
        {
            double source = alignCorners
                ? (outSize > 1 ? o * (double)(inSize - 1) / (outSize - 1) : 0)
                : Math.Max((o + 0.5) * scale - 0.5, 0);
            int i0 = Math.Min((int)Math.Floor(source), inSize - 1), i1 = Math.Min(i0 + 1, inSize - 1);
            double lambda = source - i0;
            m[o * inSize + i0] += 1 - lambda;
            m[o * inSize + i1] += lambda;
        }
        return Tensor.From(m, [outSize, inSize]);
    }
}
