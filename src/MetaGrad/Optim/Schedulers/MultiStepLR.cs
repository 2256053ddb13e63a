namespace MetaGrad.Optim;

/// <summary>
/// Multiplies each group's lr by gamma at each milestone epoch: lr = base·γ^(milestones ≤ epoch)
/// (torch's MultiStepLR). A milestone listed twice decays twice.
/// </summary>
public sealed class MultiStepLR : LRScheduler
{
    readonly Dictionary<int, int> _milestones;
    readonly double _gamma;

    /// <summary>Decays by <paramref name="gamma"/> at each epoch in <paramref name="milestones"/>.</summary>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        _milestones = milestones.GroupBy(m => m).ToDictionary(g => g.Key, g => g.Count());
        _gamma = gamma;
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double[] GetLr() =>
        CurrentLrs(_milestones.TryGetValue(LastEpoch, out int count) ? Math.Pow(_gamma, count) : 1);
}
