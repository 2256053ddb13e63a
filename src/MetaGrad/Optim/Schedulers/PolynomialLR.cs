namespace MetaGrad.Optim;

/// <summary>
/// Decays each group's lr polynomially to 0 over totalIters epochs (torch's PolynomialLR):
/// lr = base·(1 - min(epoch, totalIters)/totalIters)^power, in PyTorch's recursive form
/// (each epoch's lr is the last one times the ratio of successive factors).
/// </summary>
public sealed class PolynomialLR : LRScheduler
{
    readonly int _totalIters;
    readonly double _power;

    /// <summary>Decays with exponent <paramref name="power"/> over <paramref name="totalIters"/> epochs.</summary>
    public PolynomialLR(Optimizer optimizer, int totalIters = 5, double power = 1.0, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        if (totalIters <= 0) throw new ArgumentOutOfRangeException(nameof(totalIters), $"PolynomialLR: totalIters must be positive, got {totalIters}");
        (_totalIters, _power) = (totalIters, power);
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double[] GetLr()
    {
        if (LastEpoch == 0 || LastEpoch > _totalIters) return CurrentLrs();
        double ratio = (1.0 - (double)LastEpoch / _totalIters) / (1.0 - (double)(LastEpoch - 1) / _totalIters);
        return CurrentLrs(Math.Pow(ratio, _power));
    }
}
