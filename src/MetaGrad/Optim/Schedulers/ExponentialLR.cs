namespace MetaGrad.Optim;

/// <summary>Multiplies each group's lr by gamma every epoch: lr = base·γ^epoch (torch's ExponentialLR).</summary>
public sealed class ExponentialLR : LRScheduler
{
    readonly double _gamma;

    /// <summary>Decays by <paramref name="gamma"/> per epoch.</summary>
    public ExponentialLR(Optimizer optimizer, double gamma, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        _gamma = gamma;
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double[] GetLr() => CurrentLrs(LastEpoch == 0 ? 1 : _gamma);
}
