namespace MetaGrad.Optim;

/// <summary>
/// Anneals each group's lr along a cosine from its base lr to etaMin over tMax epochs (torch's
/// CosineAnnealingLR), in PyTorch's recursive form, which equals the closed form
/// η_min + (base - η_min)·(1 + cos(π·epoch/tMax))/2 while nothing else changes the lr, and
/// follows any outside change (the chainable form). Past tMax the cosine climbs back up.
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    readonly int _tMax;
    readonly double _etaMin;

    /// <summary>Half a cosine period of <paramref name="tMax"/> epochs, down to <paramref name="etaMin"/>.</summary>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        if (tMax <= 0) throw new ArgumentOutOfRangeException(nameof(tMax), $"CosineAnnealingLR: tMax must be a positive number of epochs, got {tMax}");
        (_tMax, _etaMin) = (tMax, etaMin);
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double[] GetLr()
    {
        var groups = Optimizer.ParamGroups;
        if (LastEpoch == 0) return CurrentLrs();
        // A resumed schedule's first step has no previous lr of its own to go on.
        if (StepCount == 1 && LastEpoch > 0)
            return BaseLrs.Select(b => _etaMin + (b - _etaMin) * (1 + Math.Cos(LastEpoch * Math.PI / _tMax)) / 2).ToArray();
        // Leaving the minimum, where the ratio below would divide by 1 + cos(π) = 0.
        if ((LastEpoch - 1 - _tMax) % (2 * _tMax) == 0)
            return groups.Select((g, i) => g.Lr + (BaseLrs[i] - _etaMin) * (1 - Math.Cos(Math.PI / _tMax)) / 2).ToArray();
        return groups.Select(g =>
            (1 + Math.Cos(Math.PI * LastEpoch / _tMax)) / (1 + Math.Cos(Math.PI * (LastEpoch - 1) / _tMax)) * (g.Lr - _etaMin) + _etaMin).ToArray();
    }
}
