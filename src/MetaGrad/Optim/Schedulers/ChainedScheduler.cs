namespace MetaGrad.Optim;

/// <summary>
/// Steps several schedulers together at every epoch, so their effects compose
/// (torch's ChainedScheduler): e.g. a ConstantLR warm-up and an ExponentialLR decay at once.
/// The schedulers are built first (each applies its initial step) and must drive the same optimizer.
/// </summary>
public sealed class ChainedScheduler : LRScheduler
{
    readonly LRScheduler[] _schedulers;

    /// <summary>Chains <paramref name="schedulers"/>, stepped in the order given.</summary>
    public ChainedScheduler(IReadOnlyList<LRScheduler> schedulers) : base(First(schedulers).Optimizer, lastEpoch: -1)
    {
        for (int i = 0; i < schedulers.Count; i++)
        {
            if (schedulers[i] is null) throw new ArgumentNullException(nameof(schedulers), $"ChainedScheduler: scheduler {i} is null");
            if (!ReferenceEquals(schedulers[i].Optimizer, Optimizer))
                throw new ArgumentException($"ChainedScheduler: scheduler {i} ({schedulers[i].GetType().Name}) drives another optimizer than scheduler 0; all must drive the same one");
        }
        _schedulers = schedulers.ToArray();
        // The schedulers took their initial steps when built: nothing to apply, only to record.
        LastEpoch = 0;
        StepCount = 1;
        SetLrs(CurrentLrs());
    }

    static LRScheduler First(IReadOnlyList<LRScheduler> schedulers) =>
        schedulers.Count > 0 && schedulers[0] is { } first ? first : throw new ArgumentException("ChainedScheduler: expects at least one scheduler");

    /// <summary>Steps every scheduler once, in order.</summary>
    public override void Step()
    {
        StepCount++;
        LastEpoch++;
        foreach (var scheduler in _schedulers) scheduler.Step();
        SetLrs(CurrentLrs());
    }

    /// <inheritdoc/>
    protected override double[] GetLr() => CurrentLrs();

    private protected override IReadOnlyList<LRScheduler> Nested => _schedulers;
}
