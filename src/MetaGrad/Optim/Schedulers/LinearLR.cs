namespace MetaGrad.Optim;

/// <summary>
/// Scales each group's lr linearly from startFactor·base to endFactor·base over totalIters epochs,
/// then holds it (torch's LinearLR, the usual warm-up):
/// lr = base·(start + (end - start)·min(epoch, totalIters)/totalIters), computed recursively as PyTorch does.
/// </summary>
public sealed class LinearLR : LRScheduler
{
    readonly double _startFactor, _endFactor;
    readonly int _totalIters;

    /// <summary>Ramps the factor from <paramref name="startFactor"/> to <paramref name="endFactor"/> over <paramref name="totalIters"/> epochs.</summary>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        if (!(startFactor > 0 && startFactor <= 1))
            throw new ArgumentOutOfRangeException(nameof(startFactor), $"LinearLR: startFactor must be in (0, 1], got {startFactor}");
        if (!(endFactor >= 0 && endFactor <= 1))
            throw new ArgumentOutOfRangeException(nameof(endFactor), $"LinearLR: endFactor must be in [0, 1], got {endFactor}");
        if (totalIters <= 0) throw new ArgumentOutOfRangeException(nameof(totalIters), $"LinearLR: totalIters must be positive, got {totalIters}");
        (_startFactor, _endFactor, _totalIters) = (startFactor, endFactor, totalIters);
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double[] GetLr()
    {
        if (LastEpoch == 0) return CurrentLrs(_startFactor);
        if (LastEpoch > _totalIters) return CurrentLrs();
        // The ratio of this epoch's factor to the last one's.
        double delta = _endFactor - _startFactor;
        return CurrentLrs(1.0 + delta / (_totalIters * _startFactor + (LastEpoch - 1) * delta));
    }
}
