namespace MetaGrad.Optim;

/// <summary>Multiplies each group's lr by gamma every <c>stepSize</c> epochs: lr = base·γ^⌊epoch/stepSize⌋ (torch's StepLR).</summary>
public sealed class StepLR : LRScheduler
{
    readonly int _stepSize;
    readonly double _gamma;

    /// <summary>Decays by <paramref name="gamma"/> every <paramref name="stepSize"/> epochs.</summary>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), $"StepLR: stepSize must be a positive number of epochs, got {stepSize}");
        (_stepSize, _gamma) = (stepSize, gamma);
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double[] GetLr() => CurrentLrs(LastEpoch == 0 || LastEpoch % _stepSize != 0 ? 1 : _gamma);
}
