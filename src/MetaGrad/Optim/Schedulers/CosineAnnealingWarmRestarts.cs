namespace MetaGrad.Optim;

/// <summary>
/// SGDR (torch's CosineAnnealingWarmRestarts): cosine annealing from the base lr to etaMin that
/// restarts after T_0 epochs, each period T_mult times longer than the last:
/// lr = η_min + (base - η_min)·(1 + cos(π·T_cur/T_i))/2. <see cref="Step(double)"/> takes a
/// fractional epoch, so the lr can follow batches: <c>scheduler.Step(epoch + i / (double)batches)</c>.
/// </summary>
public sealed class CosineAnnealingWarmRestarts : LRScheduler
{
    readonly int _t0, _tMult;
    readonly double _etaMin;
    double _tI, _tCur;

    /// <summary>First period <paramref name="t0"/> epochs, each next one <paramref name="tMult"/> times longer.</summary>
    public CosineAnnealingWarmRestarts(Optimizer optimizer, int t0, int tMult = 1, double etaMin = 0, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        if (t0 <= 0) throw new ArgumentOutOfRangeException(nameof(t0), $"CosineAnnealingWarmRestarts: expected a positive integer T_0, got {t0}");
        if (tMult < 1) throw new ArgumentOutOfRangeException(nameof(tMult), $"CosineAnnealingWarmRestarts: expected an integer T_mult >= 1, got {tMult}");
        (_t0, _tMult, _etaMin, _tI, _tCur) = (t0, tMult, etaMin, t0, lastEpoch);
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double[] GetLr() =>
        BaseLrs.Select(b => _etaMin + (b - _etaMin) * (1 + Math.Cos(Math.PI * _tCur / _tI)) / 2).ToArray();

    /// <summary>Advances one epoch, restarting when the period ends.</summary>
    public override void Step()
    {
        if (LastEpoch < 0)
        {
            Step(0);
            return;
        }
        StepCount++;
        _tCur += 1;
        if (_tCur >= _tI)
        {
            _tCur -= _tI;
            _tI *= _tMult;
        }
        LastEpoch++;
        SetLrs(GetLr());
    }

    /// <summary>Jumps to a (possibly fractional) epoch, finding its period in closed form.</summary>
    public void Step(double epoch)
    {
        if (!(epoch >= 0)) throw new ArgumentOutOfRangeException(nameof(epoch), $"CosineAnnealingWarmRestarts: expected a non-negative epoch, got {epoch}");
        StepCount++;
        if (epoch >= _t0)
        {
            if (_tMult == 1) _tCur = epoch % _t0;
            else
            {
                // Periods T_0·T_mult^k end at T_0·(T_mult^n - 1)/(T_mult - 1): solve for the period n.
                int n = (int)Math.Log(epoch / _t0 * (_tMult - 1) + 1, _tMult);
                _tCur = epoch - _t0 * (Math.Pow(_tMult, n) - 1) / (_tMult - 1);
                _tI = _t0 * Math.Pow(_tMult, n);
            }
        }
        else
        {
            _tI = _t0;
            _tCur = epoch;
        }
        LastEpoch = (int)Math.Floor(epoch);
        SetLrs(GetLr());
    }

    /// <inheritdoc/>
    protected override void SaveState(Dictionary<string, double> values)
    {
        values["T_i"] = _tI;
        values["T_cur"] = _tCur;
    }

    /// <inheritdoc/>
    protected override void LoadState(IReadOnlyDictionary<string, double> values)
    {
        _tI = Saved(values, "T_i");
        _tCur = Saved(values, "T_cur");
    }
}
