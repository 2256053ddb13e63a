namespace MetaGrad.NN;

/// <summary>Group normalisation of [N, C, *] (torch.nn.GroupNorm): weight and bias per channel, ones and zeros at first.</summary>
public sealed class GroupNorm : Module<Tensor, Tensor>
{
    readonly int _groups, _channels;
    readonly double _eps;
    /// <summary>Scale per channel (null without affine).</summary>
    public readonly Parameter? Weight;
    /// <summary>Shift per channel (null without affine).</summary>
    public readonly Parameter? Bias;

    /// <summary>Normalises over <paramref name="numGroups"/> groups of <paramref name="numChannels"/> / numGroups channels.</summary>
    public GroupNorm(int numGroups, int numChannels, double eps = 1e-5, bool affine = true, DType? dtype = null)
    {
        if (numGroups <= 0 || numChannels % numGroups != 0)
            throw new ArgumentException($"GroupNorm: num_channels ({numChannels}) must be divisible by num_groups ({numGroups})");
        (_groups, _channels, _eps) = (numGroups, numChannels, eps);
        (Weight, Bias) = AffineParameters(numChannels, affine, dtype);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.NDim < 2 || input.Shape[1] != _channels)
            throw new ArgumentException($"GroupNorm: expected an input [N, {_channels}, *], got shape {ShapeMath.Format(input.Shape.ToArray())}");
        RequireDType("GroupNorm", input, Weight, Bias);
        return Functional.GroupNorm(input, _groups, Weight, Bias, _eps);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"{_groups}, {_channels}, eps={_eps}, affine={Py(Weight is not null)}");
}

/// <summary>
/// Instance normalisation (torch.nn.InstanceNorm1d/2d/3d): each channel of each sample normalised
/// over its positions. With track_running_stats, training also keeps running estimates (the
/// batch's mean of the instances' statistics, by momentum) and eval normalises by them.
/// </summary>
public abstract class InstanceNorm : Module<Tensor, Tensor>
{
    readonly string _name;
    readonly int _features, _rank;
    readonly double _eps, _momentum;
    /// <summary>Scale per channel (null unless affine).</summary>
    public readonly Parameter? Weight;
    /// <summary>Shift per channel (null unless affine).</summary>
    public readonly Parameter? Bias;

    private protected InstanceNorm(string name, int rank, int numFeatures, double eps, double momentum, bool affine, bool trackRunningStats, DType? dtype)
    {
        (_name, _rank, _features, _eps, _momentum) = (name, rank, numFeatures, eps, momentum);
        (Weight, Bias) = AffineParameters(numFeatures, affine, dtype);
        if (!trackRunningStats) return;
        // PyTorch's buffers, num_batches_tracked included (its instance norm never advances it).
        RegisterBuffer("running_mean", Tensor.Zeros(numFeatures, dtype));
        RegisterBuffer("running_var", Tensor.Ones(numFeatures, dtype));
        RegisterBuffer("num_batches_tracked", Tensor.From(0L));
    }

    /// <summary>Running mean per channel (null without running statistics).</summary>
    public Tensor? RunningMean => Buffer("running_mean");
    /// <summary>Running variance per channel (null without running statistics).</summary>
    public Tensor? RunningVar => Buffer("running_var");

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.NDim == _rank - 1) return Forward(input.Unsqueeze(0)).Squeeze(0);
        if (input.NDim != _rank || ((Weight is not null || RunningMean is not null) && input.Shape[1] != _features))
            throw new ArgumentException($"{_name}: expected a {_rank}-D input [N, {_features}, ...] (or {_rank - 1}-D unbatched), got shape {ShapeMath.Format(input.Shape.ToArray())}");
        RequireDType(_name, input, Weight, Bias, RunningMean, RunningVar);
        // With running statistics, eval normalises by them (as BatchNorm does); training updates them.
        return Functional.InstanceNorm(input, Weight, Bias, _eps, RunningMean, RunningVar, useInputStats: Training || RunningMean is null, _momentum);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant(
        $"{_features}, eps={_eps}, momentum={_momentum}, affine={Py(Weight is not null)}, track_running_stats={Py(RunningMean is not null)}");
}

/// <summary>Instance normalisation of [N, C, L] (torch.nn.InstanceNorm1d).</summary>
public sealed class InstanceNorm1d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = false, bool trackRunningStats = false,
    DType? dtype = null)
    : InstanceNorm("InstanceNorm1d", 3, numFeatures, eps, momentum, affine, trackRunningStats, dtype);

/// <summary>Instance normalisation of [N, C, H, W] (torch.nn.InstanceNorm2d).</summary>
public sealed class InstanceNorm2d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = false, bool trackRunningStats = false,
    DType? dtype = null)
    : InstanceNorm("InstanceNorm2d", 4, numFeatures, eps, momentum, affine, trackRunningStats, dtype);

/// <summary>Instance normalisation of [N, C, D, H, W] (torch.nn.InstanceNorm3d).</summary>
public sealed class InstanceNorm3d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = false, bool trackRunningStats = false,
    DType? dtype = null)
    : InstanceNorm("InstanceNorm3d", 5, numFeatures, eps, momentum, affine, trackRunningStats, dtype);

/// <summary>
/// Local response normalisation across channels (torch.nn.LocalResponseNorm): each value divided by
/// (k + α/size · Σ x²)^β over the <paramref name="size"/> channels around it.
/// </summary>
public sealed class LocalResponseNorm(int size, double alpha = 1e-4, double beta = 0.75, double k = 1.0) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.LocalResponseNorm(input, size, alpha, beta, k);
    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"{size}, alpha={alpha}, beta={beta}, k={k}");
}

/// <summary>Zeroes whole channels of [N, C, H, W] in training (torch.nn.Dropout2d).</summary>
public sealed class Dropout2d(double p = 0.5, Generator? generator = null) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Dropout2d(input, p, Training, generator);
    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"p={p}, inplace=False");
}

/// <summary>Zeroes whole channels of [N, C, L] in training (torch.nn.Dropout1d).</summary>
public sealed class Dropout1d(double p = 0.5, Generator? generator = null) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Dropout1d(input, p, Training, generator);
    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"p={p}, inplace=False");
}

/// <summary>Rearranges channels into space (torch.nn.PixelShuffle).</summary>
public sealed class PixelShuffle(int upscaleFactor) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.PixelShuffle(input, upscaleFactor);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"upscale_factor={upscaleFactor}";
}

/// <summary>Rearranges space into channels (torch.nn.PixelUnshuffle).</summary>
public sealed class PixelUnshuffle(int downscaleFactor) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.PixelUnshuffle(input, downscaleFactor);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"downscale_factor={downscaleFactor}";
}

/// <summary>Resizes by <see cref="Functional.Interpolate"/> (torch.nn.Upsample).</summary>
public sealed class Upsample(int[]? size = null, double[]? scaleFactor = null, string mode = "nearest", bool? alignCorners = null) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Interpolate(input, size, scaleFactor, mode, alignCorners);
    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        (size is not null ? $"size=({string.Join(", ", size)})" : FormattableString.Invariant($"scale_factor=({string.Join(", ", scaleFactor!)})")) + $", mode='{mode}'";
}
