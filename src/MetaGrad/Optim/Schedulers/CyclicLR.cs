namespace MetaGrad.Optim;

/// <summary>The amplitude policy of <see cref="CyclicLR"/>.</summary>
public enum CyclicMode
{
    /// <summary>A plain triangle: the amplitude stays (base to max) in every cycle.</summary>
    Triangular,
    /// <summary>The amplitude halves every cycle.</summary>
    Triangular2,
    /// <summary>The amplitude is scaled by gamma^iteration.</summary>
    ExpRange,
}

/// <summary>What a custom scale function of <see cref="CyclicLR"/> is given: the cycle number (from 1) or the iteration.</summary>
public enum CyclicScaleMode
{
    /// <summary>scaleFn(cycle), cycle counted from 1.</summary>
    Cycle,
    /// <summary>scaleFn(iteration), the scheduler's last epoch.</summary>
    Iterations,
}

/// <summary>
/// The cyclical learning rate policy (Smith 2017; torch's CyclicLR), stepped once per batch: each
/// group's lr climbs linearly from baseLr to maxLr over stepSizeUp steps and back over
/// stepSizeDown, its amplitude scaled per cycle (triangular, triangular2) or per iteration
/// (exp_range). With cycleMomentum the momentum (SGD's momentum, or Adam's β1) moves the opposite way
/// between maxMomentum and baseMomentum. Construction sets the lrs to baseLr (and the momentum to
/// baseMomentum), then takes the first step.
/// </summary>
public sealed class CyclicLR : LRScheduler
{
    readonly double[] _baseLrs, _maxLrs, _baseMomenta = [], _maxMomenta = [];
    readonly double _totalSize, _stepRatio, _gamma;
    readonly CyclicMode _mode;
    readonly Func<double, double>? _scaleFn;
    readonly CyclicScaleMode _scaleMode;
    readonly bool _cycleMomentum, _useBeta1;

    /// <summary>One range for every group; see the per-group overload for the arguments.</summary>
    public CyclicLR(Optimizer optimizer, double baseLr, double maxLr, int stepSizeUp = 2000, int? stepSizeDown = null,
        CyclicMode mode = CyclicMode.Triangular, double gamma = 1.0, bool cycleMomentum = true,
        double baseMomentum = 0.8, double maxMomentum = 0.9, int lastEpoch = -1,
        Func<double, double>? scaleFn = null, CyclicScaleMode scaleMode = CyclicScaleMode.Cycle)
        : this(optimizer, Repeat(optimizer, baseLr), Repeat(optimizer, maxLr), stepSizeUp, stepSizeDown, mode, gamma, cycleMomentum,
            Repeat(optimizer, baseMomentum), Repeat(optimizer, maxMomentum), lastEpoch, scaleFn, scaleMode) { }

    /// <summary>A cycle with its own range per group.</summary>
    /// <param name="optimizer">The optimizer whose lrs (and momentum) are cycled.</param>
    /// <param name="baseLr">The lower lr of each group, where each cycle starts.</param>
    /// <param name="maxLr">The upper lr of each group (reached only where the amplitude is not scaled down).</param>
    /// <param name="stepSizeUp">Steps in the rising half of a cycle.</param>
    /// <param name="stepSizeDown">Steps in the falling half (default: stepSizeUp).</param>
    /// <param name="mode">How the amplitude changes from cycle to cycle.</param>
    /// <param name="gamma">ExpRange's factor per iteration.</param>
    /// <param name="cycleMomentum">Cycle the momentum inversely to the lr.</param>
    /// <param name="baseMomentum">The momentum at the lr's peak, per group.</param>
    /// <param name="maxMomentum">The momentum at the cycle's ends, per group.</param>
    /// <param name="lastEpoch">The last step taken, to resume; -1 starts the cycle.</param>
    /// <param name="scaleFn">A custom amplitude policy, in place of <paramref name="mode"/>: the amplitude's scale for a cycle or an iteration.</param>
    /// <param name="scaleMode">Whether <paramref name="scaleFn"/> is given the cycle number or the iteration.</param>
    public CyclicLR(Optimizer optimizer, double[] baseLr, double[] maxLr, int stepSizeUp = 2000, int? stepSizeDown = null,
        CyclicMode mode = CyclicMode.Triangular, double gamma = 1.0, bool cycleMomentum = true,
        double[]? baseMomentum = null, double[]? maxMomentum = null, int lastEpoch = -1,
        Func<double, double>? scaleFn = null, CyclicScaleMode scaleMode = CyclicScaleMode.Cycle)
        : base(StartAtBaseLr(optimizer, baseLr, lastEpoch), lastEpoch)
    {
        (_scaleFn, _scaleMode) = (scaleFn, scaleMode);
        var groups = optimizer.ParamGroups;
        _baseLrs = PerGroup(optimizer, "baseLr", baseLr);
        _maxLrs = PerGroup(optimizer, "maxLr", maxLr);
        double up = stepSizeUp, down = stepSizeDown ?? stepSizeUp;
        if (up + down <= 0) throw new ArgumentOutOfRangeException(nameof(stepSizeUp), $"CyclicLR: a cycle must have at least one step, got stepSizeUp {up} and stepSizeDown {down}");
        (_totalSize, _stepRatio, _mode, _gamma) = (up + down, up / (up + down), mode, gamma);

        _cycleMomentum = cycleMomentum;
        if (cycleMomentum)
        {
            _useBeta1 = optimizer.Defaults.ContainsKey("betas");
            if (!_useBeta1 && !optimizer.Defaults.ContainsKey("momentum"))
                throw new ArgumentException($"CyclicLR: {optimizer.GetType().Name} has neither momentum nor betas to cycle; pass cycleMomentum: false");
            var baseMomenta = PerGroup(optimizer, "baseMomentum", baseMomentum ?? Repeat(optimizer, 0.8));
            if (lastEpoch == -1)
                for (int i = 0; i < groups.Count; i++) SetMomentum(groups[i], baseMomenta[i]);
            _baseMomenta = groups.Select(Momentum).ToArray();
            _maxMomenta = PerGroup(optimizer, "maxMomentum", maxMomentum ?? Repeat(optimizer, 0.9));
        }
        InitialStep();
    }

    static double[] Repeat(Optimizer optimizer, double value) => Enumerable.Repeat(value, optimizer.ParamGroups.Count).ToArray();

    static double[] PerGroup(Optimizer optimizer, string name, double[] values) =>
        values.Length == optimizer.ParamGroups.Count ? values.ToArray()
            : throw new ArgumentException($"CyclicLR: expected {optimizer.ParamGroups.Count} values for {name} (one per param group), got {values.Length}");

    // PyTorch sets the lrs to base_lr before the base class records them as "initial_lr".
    static Optimizer StartAtBaseLr(Optimizer optimizer, double[] baseLr, int lastEpoch)
    {
        var lrs = PerGroup(optimizer, "baseLr", baseLr);
        if (lastEpoch == -1)
            for (int i = 0; i < lrs.Length; i++) optimizer.ParamGroups[i].Lr = lrs[i];
        return optimizer;
    }

    double Momentum(ParamGroup group) => _useBeta1 ? group.Pair("betas").Item1 : group.Double("momentum");

    void SetMomentum(ParamGroup group, double value)
    {
        if (_useBeta1) group["betas"] = (value, group.Pair("betas").Item2);
        else group["momentum"] = value;
    }

    // The amplitude's scale: per cycle for the triangles, per iteration for exp_range; a custom
    // function replaces the mode, as in PyTorch.
    double Scale(double cycle) => _scaleFn is { } f ? f(_scaleMode == CyclicScaleMode.Cycle ? cycle : LastEpoch) : _mode switch
    {
        CyclicMode.Triangular => 1.0,
        CyclicMode.Triangular2 => 1 / Math.Pow(2.0, cycle - 1),
        _ => Math.Pow(_gamma, LastEpoch),
    };

    /// <inheritdoc/>
    protected override double[] GetLr()
    {
        double cycle = Math.Floor(1 + LastEpoch / _totalSize);
        double x = 1.0 + LastEpoch / _totalSize - cycle;
        double scaleFactor = x <= _stepRatio ? x / _stepRatio : (x - 1) / (_stepRatio - 1);
        double scale = Scale(cycle);
        var lrs = _baseLrs.Select((b, i) => b + (_maxLrs[i] - b) * scaleFactor * scale).ToArray();
        if (_cycleMomentum)
        {
            var groups = Optimizer.ParamGroups;
            for (int i = 0; i < groups.Count; i++)
                SetMomentum(groups[i], _maxMomenta[i] - (_maxMomenta[i] - _baseMomenta[i]) * scaleFactor * scale);
        }
        return lrs;
    }
}
