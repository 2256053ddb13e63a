using System.Diagnostics;

namespace MetaGrad.Training;

/// <summary>Progress within an epoch, after a batch: how far, the batch's loss, and the pace.</summary>
/// <param name="Batch">Batches done, from 1.</param>
/// <param name="Batches">Batches in the epoch.</param>
/// <param name="Loss">The loss of the batch just done.</param>
/// <param name="Samples">Samples seen so far in the epoch.</param>
/// <param name="Elapsed">Time since the epoch began.</param>
public readonly record struct BatchProgress(int Batch, int Batches, double Loss, int Samples, TimeSpan Elapsed)
{
    /// <summary>Samples a second so far.</summary>
    public double SamplesPerSecond => Samples / Math.Max(Elapsed.TotalSeconds, 1e-9);

    /// <summary>The rest of the epoch at the pace so far.</summary>
    public TimeSpan Remaining => Elapsed * ((double)(Batches - Batch) / Batch);
}

/// <summary>
/// The running figures of one epoch, the loop every training script writes by hand: the clock, the
/// batches and samples seen, and the mean loss. Each <see cref="Step"/> returns the
/// <see cref="BatchProgress"/> a progress display shows.
/// </summary>
public sealed class EpochMeter
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly Action<BatchProgress>? _onStep;
    double _sampleLossSum, _batchLossSum;

    /// <summary>
    /// Starts the epoch's clock; <paramref name="batches"/> is the epoch's length, for the ETA, and
    /// <paramref name="onStep"/> hears of every step (a progress display, a logger).
    /// </summary>
    public EpochMeter(int batches, Action<BatchProgress>? onStep = null)
    {
        if (batches < 1) throw new ArgumentException($"EpochMeter: an epoch needs at least 1 batch, got {batches}");
        Batches = batches;
        _onStep = onStep;
    }

    /// <summary>Batches in the epoch.</summary>
    public int Batches { get; }

    /// <summary>Batches done.</summary>
    public int Batch { get; private set; }

    /// <summary>Samples seen.</summary>
    public int Samples { get; private set; }

    /// <summary>Time since the epoch began.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>The mean loss per sample: each batch's mean loss weighted by its size (NaN before the first batch).</summary>
    public double MeanLoss => _sampleLossSum / Samples;

    /// <summary>The mean of the batches' losses, each batch counting once (NaN before the first batch).</summary>
    public double MeanBatchLoss => _batchLossSum / Batch;

    /// <summary>Counts a batch of <paramref name="samples"/> whose mean loss was <paramref name="loss"/>.</summary>
    public BatchProgress Step(double loss, int samples)
    {
        if (samples < 1) throw new ArgumentException($"EpochMeter.Step: a batch needs at least 1 sample, got {samples}");
        Batch++;
        Samples += samples;
        _sampleLossSum += loss * samples;
        _batchLossSum += loss;
        // Past the announced length (a loader that ran longer) the ETA would go negative: stretch the epoch.
        var progress = new BatchProgress(Batch, Math.Max(Batches, Batch), loss, Samples, _clock.Elapsed);
        _onStep?.Invoke(progress);
        return progress;
    }
}
