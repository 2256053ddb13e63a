namespace MetaGrad.Optim;

/// <summary>
/// A scheduler's progress as plain data (PyTorch's scheduler state_dict without the constructor's
/// arguments), ready for a JSON checkpoint. ReduceLROnPlateau's best value starts at ±∞, so a JSON
/// writer must allow named floating-point literals.
/// </summary>
public sealed class SchedulerStateDict
{
    /// <summary>PyTorch's last_epoch.</summary>
    public int LastEpoch { get; set; }

    /// <summary>PyTorch's _step_count.</summary>
    public int StepCount { get; set; }

    /// <summary>PyTorch's base_lrs, one per group.</summary>
    public double[] BaseLrs { get; set; } = [];

    /// <summary>PyTorch's _last_lr, one per group.</summary>
    public double[] LastLr { get; set; } = [];

    /// <summary>A scheduler's own progress by PyTorch's attribute names (T_cur, best, num_bad_epochs...).</summary>
    public Dictionary<string, double> Values { get; set; } = [];

    /// <summary>
    /// The state dicts of the schedulers a SequentialLR or ChainedScheduler runs, in order
    /// (PyTorch's <c>_schedulers</c> entry); null for every other scheduler.
    /// </summary>
    public List<SchedulerStateDict>? Schedulers { get; set; }
}
