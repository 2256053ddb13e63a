namespace MetaGrad.NN;

/// <summary>
/// Normalises over the trailing <c>normalizedShape</c> dims: (x - mean) / √(var + eps), then an
/// elementwise affine transform (torch.nn.LayerNorm). Composed from primitives.
/// </summary>
public sealed class LayerNorm : Module<Tensor, Tensor>
{
    readonly int[] _shape;
    readonly double _eps;
    /// <summary>Scale, initialised to ones (null without elementwise affine).</summary>
    public readonly Parameter? Weight;
    /// <summary>Shift, initialised to zeros (null without elementwise affine or bias).</summary>
    public readonly Parameter? Bias;

    /// <summary>A layer norm over the trailing dims of the given shape.</summary>
    public LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true, DType? dtype = null)
    {
        _shape = normalizedShape;
        _eps = eps;
        if (elementwiseAffine)
        {
            Weight = new Parameter(Tensor.Ones(normalizedShape, dtype));
            if (bias) Bias = new Parameter(Tensor.Zeros(normalizedShape, dtype));
        }
        RegisterParameter("weight", Weight);
        RegisterParameter("bias", Bias);
    }

    /// <summary>A layer norm over the last dim.</summary>
    public LayerNorm(int normalizedShape, double eps = 1e-5) : this([normalizedShape], eps) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        RequireDType("LayerNorm", input, Weight, Bias);
        return Functional.LayerNorm(input, _shape, Weight, Bias, _eps);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"({string.Join(", ", _shape)},), eps={_eps}, elementwise_affine={Py(Weight is not null)}");
}

/// <summary>
/// Batch normalisation over the channel dim 1 (torch.nn.BatchNorm1d/2d/3d): batch statistics over
/// every other dim in training, with running estimates (unbiased variance, exponential moving
/// average with momentum, or a cumulative average when momentum is null) used in eval.
/// </summary>
public abstract class BatchNorm : Module<Tensor, Tensor>
{
    readonly int _features;
    readonly double _eps;
    readonly double? _momentum;
    readonly string _name, _expected;
    readonly int[] _ranks;
    /// <summary>Scale γ, initialised to ones.</summary>
    public readonly Parameter? Weight;
    /// <summary>Shift β, initialised to zeros.</summary>
    public readonly Parameter? Bias;

    private protected BatchNorm(string name, int[] ranks, string expected, int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats,
        DType? dtype)
    {
        (_name, _ranks, _expected, _features, _eps, _momentum) = (name, ranks, expected, numFeatures, eps, momentum);
        (Weight, Bias) = AffineParameters(numFeatures, affine, dtype);
        if (trackRunningStats)
        {
            RegisterBuffer("running_mean", Tensor.Zeros(numFeatures, dtype));
            RegisterBuffer("running_var", Tensor.Ones(numFeatures, dtype));
            RegisterBuffer("num_batches_tracked", Tensor.From(0L));
        }
    }

    /// <summary>Running mean (null without running statistics).</summary>
    public Tensor? RunningMean => Buffer("running_mean");
    /// <summary>Running variance (null without running statistics).</summary>
    public Tensor? RunningVar => Buffer("running_var");

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (!_ranks.Contains(input.NDim) || input.Shape[1] != _features)
            throw new ArgumentException($"{_name}: expected {string.Format(_expected, _features)}, got shape {ShapeMath.Format(input.Shape.ToArray())}");
        RequireDType(_name, input, Weight, Bias, RunningMean, RunningVar);
        var dims = Enumerable.Range(0, input.NDim).Where(d => d != 1).ToArray();
        var shape = Enumerable.Range(0, input.NDim).Select(d => d == 1 ? _features : 1).ToArray();
        if (Training || RunningMean is null)
        {
            int count = dims.Aggregate(1, (n, d) => n * input.Shape[d]);
            if (Training && count <= 1)
                throw new ArgumentException($"{_name}: expected more than 1 value per channel when training, got input of shape {ShapeMath.Format(input.Shape.ToArray())}");
            var (output, mean, variance) = Functions.Ops.BatchNormTraining(input, Weight, Bias, _eps);
            if (Training && RunningMean is not null) UpdateRunningStatistics(mean, variance, count);
            return output;
        }
        var y = (input - RunningMean.Reshape(shape)) / (RunningVar!.Reshape(shape) + _eps).Sqrt();
        if (Weight is not null) y = y * Weight.Reshape(shape) + Bias!.Reshape(shape);
        return y;
    }

    void UpdateRunningStatistics(Tensor mean, Tensor variance, int count)
    {
        using var _ = Autograd.NoGrad();
        var batches = Buffer("num_batches_tracked")!;
        batches.Add_(1.0);
        double factor = _momentum ?? 1.0 / batches.Item<long>();
        var unbiased = variance.Reshape(_features) * (count / (double)(count - 1));
        RunningMean!.Mul_(1 - factor).Add_(mean.Reshape(_features) * factor);
        RunningVar!.Mul_(1 - factor).Add_(unbiased * factor);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"{_features}, eps={_eps}, momentum={(_momentum is double m ? m.ToString(System.Globalization.CultureInfo.InvariantCulture) : "None")}, affine={Py(Weight is not null)}, track_running_stats={Py(RunningMean is not null)}");
}

/// <summary>Batch normalisation of [N, C] or [N, C, L] (torch.nn.BatchNorm1d).</summary>
public sealed class BatchNorm1d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true,
    DType? dtype = null)
    : BatchNorm("BatchNorm1d", [2, 3], "a 2-D or 3-D input [N, {0}(, L)]", numFeatures, eps, momentum, affine, trackRunningStats, dtype);

/// <summary>Batch normalisation of images [N, C, H, W] (torch.nn.BatchNorm2d).</summary>
public sealed class BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true,
    DType? dtype = null)
    : BatchNorm("BatchNorm2d", [4], "a 4-D input [N, {0}, H, W]", numFeatures, eps, momentum, affine, trackRunningStats, dtype);

/// <summary>Batch normalisation of volumes [N, C, D, H, W] (torch.nn.BatchNorm3d).</summary>
public sealed class BatchNorm3d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true,
    DType? dtype = null)
    : BatchNorm("BatchNorm3d", [5], "a 5-D input [N, {0}, D, H, W]", numFeatures, eps, momentum, affine, trackRunningStats, dtype);

/// <summary>
/// Root-mean-square normalisation over the trailing <c>normalizedShape</c> dims (torch.nn.RMSNorm):
/// x / √(mean(x²) + eps) · weight, with no centring and no bias. eps defaults to the input dtype's
/// machine epsilon, as PyTorch's.
/// </summary>
public sealed class RMSNorm : Module<Tensor, Tensor>
{
    readonly int[] _shape;
    readonly double? _eps;
    /// <summary>Scale, initialised to ones (null without elementwise affine).</summary>
    public readonly Parameter? Weight;

    /// <summary>An RMS norm over the trailing dims of the given shape.</summary>
    public RMSNorm(int[] normalizedShape, double? eps = null, bool elementwiseAffine = true, DType? dtype = null)
    {
        (_shape, _eps) = (normalizedShape, eps);
        if (elementwiseAffine) Weight = new Parameter(Tensor.Ones(normalizedShape, dtype));
        RegisterParameter("weight", Weight);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        RequireDType("RMSNorm", input, Weight);
        return Functional.RmsNorm(input, _shape, Weight, _eps);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"({string.Join(", ", _shape)},), eps={(_eps is double e ? e.ToString(System.Globalization.CultureInfo.InvariantCulture) : "None")}, elementwise_affine={Py(Weight is not null)}");
}
