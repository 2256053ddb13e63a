namespace MetaGrad.Optim;

/// <summary>
/// Multiplies each group's lr by a constant factor until epoch totalIters, then restores it
/// (torch's ConstantLR): lr = base·factor for epoch &lt; totalIters, base after, in PyTorch's recursive form.
/// </summary>
public sealed class ConstantLR : LRScheduler
{
    readonly double _factor;
    readonly int _totalIters;

    /// <summary>Holds the lr at <paramref name="factor"/>·base for <paramref name="totalIters"/> epochs.</summary>
    public ConstantLR(Optimizer optimizer, double factor = 1.0 / 3, int totalIters = 5, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        if (!(factor >= 0 && factor <= 1))
            throw new ArgumentOutOfRangeException(nameof(factor), $"ConstantLR: the constant multiplicative factor must be between 0 and 1, got {factor}");
        (_factor, _totalIters) = (factor, totalIters);
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double[] GetLr()
    {
        if (LastEpoch == 0) return CurrentLrs(_factor);
        if (LastEpoch != _totalIters) return CurrentLrs();
        return CurrentLrs(1.0 / _factor);
    }
}
