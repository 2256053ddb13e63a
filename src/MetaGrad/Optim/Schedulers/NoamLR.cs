namespace MetaGrad.Optim;

/// <summary>
/// The Transformer's schedule ("Attention Is All You Need"): a linear warm-up, then decay with the
/// inverse square root of the step, lr = base · factor · d_model^-0.5 · min(step^-0.5, step · warmup^-1.5).
/// A LambdaLR: the groups' lrs are multipliers, so give the optimizer lr 1 for the paper's values.
/// Epoch 0 counts as step 1 (as in The Annotated Transformer), so the first update is not wasted on lr 0.
/// </summary>
public sealed class NoamLR : LambdaLR
{
    /// <summary>The schedule for a model of width <paramref name="dModel"/> with <paramref name="warmupSteps"/> steps of warm-up.</summary>
    public NoamLR(Optimizer optimizer, int dModel, int warmupSteps, double factor = 1.0, int lastEpoch = -1)
        : base(optimizer, Lambda(dModel, warmupSteps, factor), lastEpoch) { }

    static Func<int, double> Lambda(int dModel, int warmupSteps, double factor)
    {
        if (dModel <= 0) throw new ArgumentOutOfRangeException(nameof(dModel), $"NoamLR: dModel must be positive, got {dModel}");
        if (warmupSteps <= 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), $"NoamLR: warmupSteps must be positive, got {warmupSteps}");
        return epoch => Rate(epoch, dModel, warmupSteps, factor);
    }

    /// <summary>factor · d_model^-0.5 · min(step^-0.5, step · warmup^-1.5), with step 0 taken as 1.</summary>
    public static double Rate(int step, int dModel, int warmupSteps, double factor = 1.0)
    {
        double s = Math.Max(step, 1);
        return factor * Math.Pow(dModel, -0.5) * Math.Min(Math.Pow(s, -0.5), s * Math.Pow(warmupSteps, -1.5));
    }
}
