namespace MetaGrad.Optim;

/// <summary>Whether <see cref="ReduceLROnPlateau"/>'s metric should fall (a loss) or rise (an accuracy).</summary>
public enum PlateauMode
{
    /// <summary>Lower is better.</summary>
    Min,
    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>How <see cref="ReduceLROnPlateau"/> measures a significant improvement.</summary>
public enum ThresholdMode
{
    /// <summary>Better than best·(1 ∓ threshold).</summary>
    Rel,
    /// <summary>Better than best ∓ threshold.</summary>
    Abs,
}

/// <summary>
/// Cuts the lr by a factor when a metric has stopped improving for more than <c>patience</c>
/// epochs (torch's ReduceLROnPlateau), then waits <c>cooldown</c> epochs before counting again.
/// Stepped with the metric: <c>scheduler.Step(validationLoss)</c>. It neither sets "initial_lr"
/// nor changes the lr at construction.
/// </summary>
public sealed class ReduceLROnPlateau
{
    readonly PlateauMode _mode;
    readonly ThresholdMode _thresholdMode;
    readonly double _factor, _threshold, _eps;
    readonly int _patience, _cooldown;
    readonly double[] _minLrs;
    double[] _lastLr;

    /// <summary>A plateau detector on the optimizer's groups.</summary>
    /// <param name="optimizer">The optimizer whose lrs are cut.</param>
    /// <param name="mode">Whether the metric should fall or rise.</param>
    /// <param name="factor">new lr = lr·factor; must be below 1.</param>
    /// <param name="patience">Epochs without improvement tolerated before a cut.</param>
    /// <param name="threshold">The least change that counts as an improvement.</param>
    /// <param name="thresholdMode">Relative or absolute threshold.</param>
    /// <param name="cooldown">Epochs after a cut during which bad epochs are not counted.</param>
    /// <param name="minLr">A floor on every group's lr.</param>
    /// <param name="eps">Cuts smaller than this are skipped.</param>
    /// <param name="minLrs">A floor per group, instead of <paramref name="minLr"/>.</param>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10,
        double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double minLr = 0,
        double eps = 1e-8, double[]? minLrs = null)
    {
        if (!(factor < 1.0)) throw new ArgumentOutOfRangeException(nameof(factor), $"ReduceLROnPlateau: factor should be < 1.0, got {factor}");
        int groups = optimizer.ParamGroups.Count;
        if (minLrs is not null && minLrs.Length != groups)
            throw new ArgumentException($"ReduceLROnPlateau: expected {groups} minLrs (one per param group), got {minLrs.Length}");
        Optimizer = optimizer;
        (_mode, _factor, _patience, _threshold, _thresholdMode, _cooldown, _eps) = (mode, factor, patience, threshold, thresholdMode, cooldown, eps);
        _minLrs = minLrs?.ToArray() ?? Enumerable.Repeat(minLr, groups).ToArray();
        Best = mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
        _lastLr = optimizer.ParamGroups.Select(g => g.Lr).ToArray();
    }

    /// <summary>The optimizer whose lrs this scheduler cuts.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The best metric seen (±∞ before the first step).</summary>
    public double Best { get; private set; }

    /// <summary>Consecutive epochs without a significant improvement.</summary>
    public int NumBadEpochs { get; private set; }

    /// <summary>Epochs of cooldown left.</summary>
    public int CooldownCounter { get; private set; }

    /// <summary>Epochs stepped.</summary>
    public int LastEpoch { get; private set; }

    /// <summary>The groups' lrs after the last step.</summary>
    public IReadOnlyList<double> GetLastLr() => _lastLr;

    /// <summary>Records one epoch's metric, cutting the lrs when it has stopped improving.</summary>
    public void Step(double metric)
    {
        LastEpoch++;
        if (IsBetter(metric, Best))
        {
            Best = metric;
            NumBadEpochs = 0;
        }
        else NumBadEpochs++;

        if (CooldownCounter > 0)
        {
            CooldownCounter--;
            NumBadEpochs = 0;   // bad epochs during cooldown do not count
        }
        if (NumBadEpochs > _patience)
        {
            ReduceLr();
            CooldownCounter = _cooldown;
            NumBadEpochs = 0;
        }
        _lastLr = Optimizer.ParamGroups.Select(g => g.Lr).ToArray();
    }

    void ReduceLr()
    {
        var groups = Optimizer.ParamGroups;
        for (int i = 0; i < groups.Count; i++)
        {
            double oldLr = groups[i].Lr, newLr = Math.Max(oldLr * _factor, _minLrs[i]);
            if (oldLr - newLr > _eps) groups[i].Lr = newLr;
        }
    }

    bool IsBetter(double a, double best) => (_mode, _thresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => a < best * (1.0 - _threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => a < best - _threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => a > best * (_threshold + 1.0),
        _ => a > best + _threshold,
    };

    /// <summary>The progress as plain data: last epoch and lrs, and best, num_bad_epochs, cooldown_counter in Values.</summary>
    public SchedulerStateDict StateDict() => new()
    {
        LastEpoch = LastEpoch,
        LastLr = _lastLr.ToArray(),
        Values = new() { ["best"] = Best, ["num_bad_epochs"] = NumBadEpochs, ["cooldown_counter"] = CooldownCounter },
    };

    /// <summary>Restores progress saved by <see cref="StateDict"/>.</summary>
    public void LoadStateDict(SchedulerStateDict state)
    {
        double Get(string key) => state.Values.TryGetValue(key, out var v) ? v : throw new ArgumentException($"ReduceLROnPlateau.LoadStateDict: the state dict has no '{key}'");
        if (state.LastLr.Length != Optimizer.ParamGroups.Count)
            throw new ArgumentException($"ReduceLROnPlateau.LoadStateDict: the state dict has {state.LastLr.Length} last lrs, but the optimizer has {Optimizer.ParamGroups.Count} param groups");
        (Best, NumBadEpochs, CooldownCounter) = (Get("best"), (int)Get("num_bad_epochs"), (int)Get("cooldown_counter"));
        LastEpoch = state.LastEpoch;
        _lastLr = state.LastLr.ToArray();
    }
}
