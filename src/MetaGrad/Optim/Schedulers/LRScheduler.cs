namespace MetaGrad.Optim;

/// <summary>
/// The base of the epoch-driven learning-rate schedulers, with torch.optim.lr_scheduler.LRScheduler's
/// semantics: construction records each group's <c>"initial_lr"</c> (the base lrs) and performs the
/// first step, so <see cref="LastEpoch"/> is 0 and the groups hold the schedule's first lr; each
/// <see cref="Step"/> (called after <c>optimizer.Step()</c>) advances one epoch. Most schedules are
/// written, as in PyTorch, in their recursive form: each lr from the group's current lr.
/// </summary>
public abstract class LRScheduler
{
    double[] _lastLr = [];

    /// <summary>
    /// Prepares the groups; a subclass sets its fields and then calls <see cref="InitialStep"/>.
    /// A <paramref name="lastEpoch"/> other than -1 resumes a schedule: the groups must then already
    /// carry "initial_lr" (from the optimizer's state dict of the interrupted run).
    /// </summary>
    protected LRScheduler(Optimizer optimizer, int lastEpoch = -1)
    {
        Optimizer = optimizer;
        var groups = optimizer.ParamGroups;
        for (int i = 0; i < groups.Count; i++)
        {
            if (lastEpoch == -1) groups[i].SetDefault("initial_lr", groups[i].Lr);
            else if (!groups[i].Has("initial_lr"))
                throw new ArgumentException($"{Name}: param group {i} has no 'initial_lr', which resuming with lastEpoch {lastEpoch} needs; load the optimizer's state dict from the interrupted run first");
        }
        BaseLrs = groups.Select(g => g.Double("initial_lr")).ToArray();
        LastEpoch = lastEpoch;
    }

    /// <summary>The scheduler's name in messages (its class name).</summary>
    protected string Name => GetType().Name;

    /// <summary>The optimizer whose groups' lrs this scheduler sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Each group's lr at the start of the schedule (PyTorch's base_lrs).</summary>
    public IReadOnlyList<double> BaseLrs { get; private set; }

    /// <summary>The index of the last epoch stepped to (0 after construction).</summary>
    public int LastEpoch { get; protected set; }

    /// <summary>How many times the scheduler has stepped, the initial step included (PyTorch's _step_count).</summary>
    protected int StepCount { get; set; }

    /// <summary>The lrs the last step set, one per group.</summary>
    public IReadOnlyList<double> GetLastLr() => _lastLr;

    /// <summary>PyTorch's _initial_step: the first step, which takes <see cref="LastEpoch"/> from -1 to 0. Subclass constructors call it last.</summary>
    protected void InitialStep()
    {
        StepCount = 0;
        Step();
    }

    /// <summary>Re-reads the base lrs from the groups' "initial_lr" (for a schedule that sets them itself).</summary>
    protected void ReadBaseLrs() => BaseLrs = Optimizer.ParamGroups.Select(g => g.Double("initial_lr")).ToArray();

    /// <summary>Advances one epoch and sets every group's lr.</summary>
    public virtual void Step()
    {
        StepCount++;
        LastEpoch++;
        SetLrs(GetLr());
    }

    /// <summary>The lrs for <see cref="LastEpoch"/>, one per group (PyTorch's get_lr).</summary>
    protected abstract double[] GetLr();

    /// <summary>Writes lrs into the groups and remembers them for <see cref="GetLastLr"/>.</summary>
    protected void SetLrs(double[] lrs)
    {
        var groups = Optimizer.ParamGroups;
        for (int i = 0; i < groups.Count; i++) groups[i].Lr = lrs[i];
        _lastLr = groups.Select(g => g.Lr).ToArray();
    }

    /// <summary>The groups' current lrs times a factor (the recursive schedules' usual step).</summary>
    protected double[] CurrentLrs(double factor = 1) => Optimizer.ParamGroups.Select(g => g.Lr * factor).ToArray();

    /// <summary>The schedule's progress as plain data; the constructor's arguments are not included.</summary>
    public SchedulerStateDict StateDict()
    {
        var state = new SchedulerStateDict { LastEpoch = LastEpoch, StepCount = StepCount, BaseLrs = BaseLrs.ToArray(), LastLr = _lastLr.ToArray() };
        SaveState(state.Values);
        state.Schedulers = Nested?.Select(s => s.StateDict()).ToList();
        return state;
    }

    /// <summary>Restores progress saved by <see cref="StateDict"/> into a scheduler built with the same arguments.</summary>
    public void LoadStateDict(SchedulerStateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.BaseLrs is null || state.LastLr is null || state.Values is null)
            throw new ArgumentException($"{Name}.LoadStateDict: the state dict's BaseLrs, LastLr and Values must not be null");
        int groups = Optimizer.ParamGroups.Count;
        if (state.BaseLrs.Length != groups || state.LastLr.Length != groups)
            throw new ArgumentException($"{Name}.LoadStateDict: the state dict has {state.BaseLrs.Length} base lrs and {state.LastLr.Length} last lrs, but the optimizer has {groups} param groups");
        if (Nested is { } nested)
        {
            // Checked before anything is loaded, so a refused load leaves every scheduler as it was.
            if (state.Schedulers is null || state.Schedulers.Count != nested.Count)
                throw new ArgumentException($"{Name}.LoadStateDict: the state dict holds {(state.Schedulers is null ? "no" : state.Schedulers.Count.ToString())} schedulers' states; this one runs {nested.Count}");
            for (int i = 0; i < nested.Count; i++) nested[i].LoadStateDict(state.Schedulers[i]);
        }
        LoadState(state.Values);
        LastEpoch = state.LastEpoch;
        StepCount = state.StepCount;
        BaseLrs = state.BaseLrs.ToArray();
        _lastLr = state.LastLr.ToArray();
    }

    /// <summary>The schedulers this one runs (SequentialLR, ChainedScheduler), whose states its state dict carries.</summary>
    private protected virtual IReadOnlyList<LRScheduler>? Nested => null;

    /// <summary>Adds a subclass's own progress (by PyTorch's attribute names) to a state dict.</summary>
    protected virtual void SaveState(Dictionary<string, double> values) { }

    /// <summary>Restores what <see cref="SaveState"/> wrote.</summary>
    protected virtual void LoadState(IReadOnlyDictionary<string, double> values) { }

    /// <summary>A saved value, or a clear error naming the scheduler and the missing key.</summary>
    protected double Saved(IReadOnlyDictionary<string, double> values, string key) =>
        values.TryGetValue(key, out var v) ? v : throw new ArgumentException($"{Name}.LoadStateDict: the state dict has no '{key}'");

    // SequentialLR's hooks into the schedulers it runs (PyTorch's SequentialLR reaches into them the same way).

    /// <summary>Takes the schedule back one epoch: SequentialLR undoes each scheduler's initial step this way.</summary>
    internal void UndoStep() => LastEpoch--;

    /// <summary>Runs the initial step again (SequentialLR's first scheduler, after the lrs are reset).</summary>
    internal void RedoInitialStep() => InitialStep();

    /// <summary>
    /// PyTorch's step(0), which SequentialLR gives a scheduler at its milestone: the schedule restarts
    /// at epoch 0 from the base lrs (PyTorch's closed form at epoch 0), or from the current lr for a
    /// schedule that has no closed form and reads the current lr (<see cref="RestartsFromBaseLrs"/>).
    /// </summary>
    internal virtual void Restart()
    {
        if (RestartsFromBaseLrs)
            for (int i = 0; i < BaseLrs.Count; i++) Optimizer.ParamGroups[i].Lr = BaseLrs[i];
        StepCount++;
        LastEpoch = 0;
        SetLrs(GetLr());
    }

    /// <summary>Whether <see cref="Restart"/> starts from the base lrs (true unless the schedule is defined only relative to the current lr).</summary>
    protected virtual bool RestartsFromBaseLrs => true;
}
