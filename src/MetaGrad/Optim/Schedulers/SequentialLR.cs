namespace MetaGrad.Optim;

/// <summary>
/// Runs schedulers one after another, switching at the milestone epochs (torch's SequentialLR): with
/// milestones [m], the first scheduler sets the lr for epochs 0..m-1 and the second from m on,
/// restarted at its own epoch 0 (from the base lrs). Warm-up then cosine is
/// <c>new SequentialLR(opt, [new LinearLR(opt, 0.01, 1, w), new CosineAnnealingLR(opt, n - w)], [w])</c>.
/// The schedulers must be fresh and drive the same optimizer; construction resets the lrs to the
/// initial ones and replays the first scheduler's initial step, as PyTorch does.
/// </summary>
public sealed class SequentialLR : LRScheduler
{
    readonly LRScheduler[] _schedulers;
    readonly int[] _milestones;

    /// <summary>
    /// Runs <paramref name="schedulers"/> in turn, the i-th from epoch milestones[i-1]
    /// (milestones has one entry fewer than schedulers).
    /// </summary>
    public SequentialLR(Optimizer optimizer, IReadOnlyList<LRScheduler> schedulers, IReadOnlyList<int> milestones, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        if (schedulers.Count < 1) throw new ArgumentException("SequentialLR: expects at least one scheduler");
        for (int i = 0; i < schedulers.Count; i++)
        {
            if (schedulers[i] is null) throw new ArgumentNullException(nameof(schedulers), $"SequentialLR: scheduler {i} is null");
            if (!ReferenceEquals(schedulers[i].Optimizer, optimizer))
                throw new ArgumentException($"SequentialLR: scheduler {i} ({schedulers[i].GetType().Name}) drives another optimizer than the one given; all must drive the same one");
        }
        if (milestones.Count != schedulers.Count - 1)
            throw new ArgumentException($"SequentialLR: received {schedulers.Count} schedulers and {milestones.Count} milestones; expected one milestone fewer than schedulers");
        _schedulers = schedulers.ToArray();
        _milestones = milestones.ToArray();
        LastEpoch = lastEpoch + 1;
        StepCount = 1;

        foreach (var group in optimizer.ParamGroups) group.Lr = group.Double("initial_lr");
        // Each scheduler stepped once when it was built; only the first one's step counts.
        foreach (var scheduler in _schedulers) scheduler.UndoStep();
        _schedulers[0].RedoInitialStep();
        SetLrs(_schedulers[0].GetLastLr().ToArray());
    }

    /// <summary>Advances one epoch: the scheduler whose stretch this epoch is in steps, or restarts at its milestone.</summary>
    public override void Step()
    {
        StepCount++;
        LastEpoch++;
        // The number of milestones at or before this epoch (Python's bisect_right) picks the scheduler.
        int index = _milestones.Count(m => m <= LastEpoch);
        var scheduler = _schedulers[index];
        if (index > 0 && _milestones[index - 1] == LastEpoch)
        {
            if (scheduler is CosineAnnealingWarmRestarts restarts) restarts.Step(0.0);
            else scheduler.Restart();
        }
        else scheduler.Step();
        SetLrs(scheduler.GetLastLr().ToArray());
    }

    /// <inheritdoc/>
    protected override double[] GetLr() => CurrentLrs();

    private protected override IReadOnlyList<LRScheduler> Nested => _schedulers;
}
