using MetaGrad.NN;

namespace MetaGrad.Distributed;

/// <summary>
/// Batch normalisation whose batch statistics are taken over every rank's batch together
/// (torch.nn.SyncBatchNorm): N ranks of batch B normalise exactly as one process of batch N·B
/// would, which matters when each rank's share is too small for good statistics. In evaluation,
/// or in a world of one, it is plain batch normalisation. Its parameters and buffers have
/// BatchNorm's names (weight, bias, running_mean, running_var, num_batches_tracked), so state
/// dictionaries move between the two.
/// </summary>
/// <remarks>
/// Each training forward makes three small all-reduces (the count, the per-channel sums, the sums
/// of squared deviations), and backward one per statistic: the gradient of a sum over ranks is the
/// sum over ranks of the gradients. Every rank must call it the same number of times.
/// </remarks>
public sealed class SyncBatchNorm : Module<Tensor, Tensor>
{
    readonly Communicator _communicator;
    readonly int _features;
    readonly double _eps;
    readonly double? _momentum;

    /// <summary>Scale γ, initialised to ones (null without affine).</summary>
    public readonly Parameter? Weight;
    /// <summary>Shift β, initialised to zeros (null without affine).</summary>
    public readonly Parameter? Bias;

    /// <param name="numFeatures">Channels, the size of dim 1.</param>
    /// <param name="communicator">The ranks whose batches are normalised together; every one of them holds this layer.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="momentum">Weight of the newest batch in the running statistics; null for a cumulative average.</param>
    /// <param name="affine">Learn a scale and a shift per channel.</param>
    /// <param name="trackRunningStats">Keep running statistics for evaluation.</param>
    /// <param name="dtype">Dtype of the parameters and statistics.</param>
    public SyncBatchNorm(int numFeatures, Communicator communicator, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true,
        DType dtype = DType.Float32)
    {
        if (numFeatures <= 0) throw new ArgumentException($"SyncBatchNorm: numFeatures must be positive, got {numFeatures}");
        (_communicator, _features, _eps, _momentum) = (communicator, numFeatures, eps, momentum);
        if (affine)
        {
            RegisterParameter("weight", Weight = new Parameter(Tensor.Ones([numFeatures], dtype)));
            RegisterParameter("bias", Bias = new Parameter(Tensor.Zeros([numFeatures], dtype)));
        }
        if (trackRunningStats)
        {
            RegisterBuffer("running_mean", Tensor.Zeros(numFeatures, dtype));
            RegisterBuffer("running_var", Tensor.Ones([numFeatures], dtype));
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
        if (input.NDim < 2 || input.Shape[1] != _features)
            throw new ArgumentException($"SyncBatchNorm: expected an input [N, {_features}, ...] of at least 2 dims, got shape {input.Shape}");
        if (input.DType != (Weight?.DType ?? RunningMean?.DType ?? input.DType))
            throw new ArgumentException($"SyncBatchNorm: expected input of dtype {Weight?.DType ?? RunningMean!.DType}, got {input.DType}");
        var dims = Enumerable.Range(0, input.NDim).Where(d => d != 1).ToArray();
        var shape = Enumerable.Range(0, input.NDim).Select(d => d == 1 ? _features : 1).ToArray();
        Tensor mean, variance;
        if (Training || RunningMean is null)
        {
            long local = input.Numel / _features;
            long count = _communicator.AllReduce([local], ReduceOp.Sum, "SyncBatchNorm: all-reduce of the batch size")[0];
            if (Training && count <= 1)
                throw new ArgumentException($"SyncBatchNorm: expected more than 1 value per channel when training, got {count} over all ranks (input shape here {input.Shape})");
            // Two passes (mean, then squared deviations from it) rather than E[x²] − E[x]², which cancels badly.
            mean = new SumOverRanks(_communicator).Apply(input.Sum(dims)) / count;
            var centred = input - mean.Reshape(shape);
            variance = new SumOverRanks(_communicator).Apply((centred * centred).Sum(dims)) / count;
            if (Training && RunningMean is not null) UpdateRunningStatistics(mean, variance, count);
            return Affine(centred / (variance + _eps).Sqrt().Reshape(shape), shape);
        }
        var y = (input - RunningMean.Reshape(shape)) / (RunningVar!.Reshape(shape) + _eps).Sqrt();
        return Affine(y, shape);
    }

    Tensor Affine(Tensor y, int[] shape) => Weight is null ? y : y * Weight.Reshape(shape) + Bias!.Reshape(shape);

    void UpdateRunningStatistics(Tensor mean, Tensor variance, long count)
    {
        using var _ = Autograd.NoGrad();
        var batches = Buffer("num_batches_tracked")!;
        batches.Add_(1.0);
        double factor = _momentum ?? 1.0 / batches.Item<long>();
        var unbiased = variance.Detach() * (count / (double)(count - 1));
        RunningMean!.Mul_(1 - factor).Add_(mean.Detach() * factor);
        RunningVar!.Mul_(1 - factor).Add_(unbiased * factor);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"{_features}, eps={_eps}, momentum={(_momentum is double m ? m.ToString(System.Globalization.CultureInfo.InvariantCulture) : "None")}, affine={Py(Weight is not null)}, track_running_stats={Py(RunningMean is not null)}");

    /// <summary>A sum over ranks that gradients flow through: its backward sums the output's gradient over the ranks too.</summary>
    sealed class SumOverRanks(Communicator communicator) : UnaryFunction
    {
        protected override Tensor Forward(Context ctx, Tensor x)
        {
            var sum = x.Contiguous().Clone();
            communicator.AllReduce(sum);
            return sum;
        }

        protected override Tensor? Backward(Context ctx, Tensor grad)
        {
            var sum = grad.Detach().Contiguous().Clone();
            communicator.AllReduce(sum);
            return sum;
        }
    }
}
