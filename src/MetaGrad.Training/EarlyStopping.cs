namespace MetaGrad.Training;

/// <summary>Whether a smaller or a larger monitored value is better.</summary>
public enum StopMode
{
    /// <summary>Smaller is better (a loss, a perplexity).</summary>
    Min,
    /// <summary>Larger is better (an accuracy, a BLEU score).</summary>
    Max,
}

/// <summary>
/// Stops training once a monitored value (held-out loss, accuracy) has not improved for
/// <see cref="Patience"/> epochs in a row, as PyTorch Lightning's and Keras's EarlyStopping: an
/// epoch improves when it beats the best so far by more than <see cref="MinDelta"/>. A value that is
/// not finite (a diverged loss) stops at once.
/// <code>
/// var stopping = new EarlyStopping(patience: 3);
/// for (int epoch = 1; epoch &lt;= epochs; epoch++)
/// {
///     ...
///     if (stopping.Step(testLoss)) break;   // stopping.BestEpoch is the one to keep
/// }
/// </code>
/// </summary>
public sealed class EarlyStopping
{
    /// <summary>Waits <paramref name="patience"/> epochs without an improvement of more than <paramref name="minDelta"/> before stopping.</summary>
    public EarlyStopping(int patience, double minDelta = 0, StopMode mode = StopMode.Min)
    {
        if (patience < 0) throw new ArgumentException($"EarlyStopping: patience must be 0 or more, got {patience}");
        if (!(minDelta >= 0)) throw new ArgumentException($"EarlyStopping: minDelta must be 0 or more, got {minDelta}");
        Patience = patience;
        MinDelta = minDelta;
        Mode = mode;
    }

    /// <summary>Epochs without improvement that are tolerated.</summary>
    public int Patience { get; }

    /// <summary>How much better than the best a value must be to count as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>Whether smaller or larger is better.</summary>
    public StopMode Mode { get; }

    /// <summary>Epochs seen (calls of <see cref="Step"/>).</summary>
    public int Epochs { get; private set; }

    /// <summary>The best value so far (NaN before the first epoch).</summary>
    public double Best { get; private set; } = double.NaN;

    /// <summary>The epoch, from 1, that reached <see cref="Best"/> (0 before the first).</summary>
    public int BestEpoch { get; private set; }

    /// <summary>Epochs since the last improvement.</summary>
    public int EpochsWithoutImprovement { get; private set; }

    /// <summary>Whether training should stop.</summary>
    public bool ShouldStop { get; private set; }

    /// <summary>Why it stopped, in words (null while it has not).</summary>
    public string? Reason { get; private set; }

    /// <summary>Records one epoch's <paramref name="value"/>; true when training should stop now.</summary>
    public bool Step(double value)
    {
        Epochs++;
        if (!double.IsFinite(value))
        {
            ShouldStop = true;
            Reason = $"the monitored value is {value} at epoch {Epochs}";
            return true;
        }
        bool improved = BestEpoch == 0 || (Mode == StopMode.Min ? value < Best - MinDelta : value > Best + MinDelta);
        if (improved)
        {
            Best = value;
            BestEpoch = Epochs;
            EpochsWithoutImprovement = 0;
        }
        else if (++EpochsWithoutImprovement >= Patience && !ShouldStop)
        {
            ShouldStop = true;
            Reason = $"no improvement for {EpochsWithoutImprovement} epochs; the best was {Best:G6} at epoch {BestEpoch}";
        }
        return ShouldStop;
    }
}
