namespace MetaGrad.Optim;

/// <summary>How <see cref="OneCycleLR"/> moves between two values within a phase.</summary>
public enum AnnealStrategy
{
    /// <summary>Half a cosine: end + (start - end)·(1 + cos(π·pct))/2.</summary>
    Cos,
    /// <summary>A straight line: start + (end - start)·pct.</summary>
    Linear,
}

/// <summary>
/// The 1cycle policy (torch's OneCycleLR), stepped once per batch: the lr rises from
/// maxLr/divFactor to maxLr over the first pctStart of the steps, then falls to
/// initial/finalDivFactor; with threePhase it first falls back to the initial lr, symmetrically,
/// and only then anneals to the minimum. The momentum (SGD's momentum, or Adam's β1) moves the
/// opposite way between maxMomentum and baseMomentum. The phase boundaries live in the groups as
/// "initial_lr", "max_lr", "min_lr", "max_momentum" and "base_momentum", as in PyTorch.
/// </summary>
public sealed class OneCycleLR : LRScheduler
{
    readonly record struct Phase(double EndStep, string StartLr, string EndLr, string StartMomentum, string EndMomentum);

    readonly Phase[] _phases;
    readonly AnnealStrategy _anneal;
    readonly bool _cycleMomentum, _useBeta1;

    /// <summary>The number of steps in the cycle.</summary>
    public int TotalSteps { get; }

    /// <summary>One peak lr for every group; see the per-group overload for the arguments.</summary>
    public OneCycleLR(Optimizer optimizer, double maxLr, int? totalSteps = null, int? epochs = null, int? stepsPerEpoch = null,
        double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true,
        double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4,
        bool threePhase = false, int lastEpoch = -1)
        : this(optimizer, Enumerable.Repeat(maxLr, optimizer.ParamGroups.Count).ToArray(), totalSteps, epochs, stepsPerEpoch,
            pctStart, annealStrategy, cycleMomentum, baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase, lastEpoch) { }

    /// <summary>A cycle with its own peak lr per group.</summary>
    /// <param name="optimizer">The optimizer whose lrs (and momentum) are cycled.</param>
    /// <param name="maxLr">The peak lr of each group.</param>
    /// <param name="totalSteps">Steps in the cycle; or give <paramref name="epochs"/> and <paramref name="stepsPerEpoch"/>.</param>
    /// <param name="epochs">Epochs, with <paramref name="stepsPerEpoch"/>, when <paramref name="totalSteps"/> is not given.</param>
    /// <param name="stepsPerEpoch">Batches per epoch.</param>
    /// <param name="pctStart">The share of the cycle spent rising to the peak.</param>
    /// <param name="annealStrategy">Cosine or linear annealing.</param>
    /// <param name="cycleMomentum">Cycle the momentum inversely to the lr.</param>
    /// <param name="baseMomentum">The momentum at the lr's peak.</param>
    /// <param name="maxMomentum">The momentum at the cycle's ends.</param>
    /// <param name="divFactor">initial lr = maxLr / divFactor.</param>
    /// <param name="finalDivFactor">minimum lr = initial lr / finalDivFactor.</param>
    /// <param name="threePhase">Return to the initial lr before annealing to the minimum.</param>
    /// <param name="lastEpoch">The last step taken, to resume; -1 starts the cycle.</param>
    public OneCycleLR(Optimizer optimizer, double[] maxLr, int? totalSteps = null, int? epochs = null, int? stepsPerEpoch = null,
        double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true,
        double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4,
        bool threePhase = false, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        TotalSteps = CountSteps(totalSteps, epochs, stepsPerEpoch);
        if (!(pctStart >= 0 && pctStart <= 1))
            throw new ArgumentOutOfRangeException(nameof(pctStart), $"OneCycleLR: pctStart must be between 0 and 1, got {pctStart}");
        var groups = optimizer.ParamGroups;
        if (maxLr.Length != groups.Count)
            throw new ArgumentException($"OneCycleLR: expected {groups.Count} values for maxLr (one per param group), got {maxLr.Length}");
        _useBeta1 = optimizer.Defaults.ContainsKey("betas");
        if (cycleMomentum && !_useBeta1 && !optimizer.Defaults.ContainsKey("momentum"))
            throw new ArgumentException($"OneCycleLR: {optimizer.GetType().Name} has neither momentum nor betas to cycle; pass cycleMomentum: false");
        (_anneal, _cycleMomentum) = (annealStrategy, cycleMomentum);

        double warmEnd = pctStart * TotalSteps - 1;
        _phases = threePhase
            ? [new(warmEnd, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
               new(2 * pctStart * TotalSteps - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
               new(TotalSteps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
            : [new(warmEnd, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
               new(TotalSteps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")];

        if (lastEpoch == -1)
            for (int i = 0; i < groups.Count; i++)
            {
                groups[i]["initial_lr"] = maxLr[i] / divFactor;
                groups[i]["max_lr"] = maxLr[i];
                groups[i]["min_lr"] = groups[i].Double("initial_lr") / finalDivFactor;
                if (!cycleMomentum) continue;
                if (_useBeta1) groups[i]["betas"] = (maxMomentum, groups[i].Pair("betas").Item2);
                else groups[i]["momentum"] = maxMomentum;
                groups[i]["max_momentum"] = maxMomentum;
                groups[i]["base_momentum"] = baseMomentum;
            }
        ReadBaseLrs();
        InitialStep();
    }

    static int CountSteps(int? totalSteps, int? epochs, int? stepsPerEpoch)
    {
        if (totalSteps is int total)
            return total > 0 ? total : throw new ArgumentOutOfRangeException(nameof(totalSteps), $"OneCycleLR: expected a positive totalSteps, got {total}");
        if (epochs is not int e || stepsPerEpoch is not int s)
            throw new ArgumentException("OneCycleLR: you must give either totalSteps, or epochs and stepsPerEpoch");
        if (e <= 0) throw new ArgumentOutOfRangeException(nameof(epochs), $"OneCycleLR: expected a positive epochs, got {e}");
        if (s <= 0) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), $"OneCycleLR: expected a positive stepsPerEpoch, got {s}");
        return e * s;
    }

    double Anneal(double start, double end, double pct) => _anneal == AnnealStrategy.Cos
        ? end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1)
        : (end - start) * pct + start;

    /// <inheritdoc/>
    protected override double[] GetLr()
    {
        int stepNum = LastEpoch;
        if (stepNum > TotalSteps)
            throw new InvalidOperationException($"OneCycleLR: tried to step {stepNum} times; the cycle has {TotalSteps} total steps");
        var groups = Optimizer.ParamGroups;
        var lrs = new double[groups.Count];
        for (int g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            double startStep = 0;
            for (int i = 0; i < _phases.Length; i++)
            {
                var phase = _phases[i];
                if (stepNum <= phase.EndStep || i == _phases.Length - 1)
                {
                    double pct = (stepNum - startStep) / (phase.EndStep - startStep);
                    lrs[g] = Anneal(group.Double(phase.StartLr), group.Double(phase.EndLr), pct);
                    if (_cycleMomentum)
                    {
                        double momentum = Anneal(group.Double(phase.StartMomentum), group.Double(phase.EndMomentum), pct);
                        if (_useBeta1) group["betas"] = (momentum, group.Pair("betas").Item2);
                        else group["momentum"] = momentum;
                    }
                    break;
                }
                startStep = phase.EndStep;
            }
        }
        return lrs;
    }
}
