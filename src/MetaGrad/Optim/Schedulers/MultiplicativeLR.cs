namespace MetaGrad.Optim;

/// <summary>
/// Multiplies each group's lr by a function of the epoch at every epoch after the first:
/// lr = lr·λ(epoch) (torch's MultiplicativeLR; LambdaLR scales the base lr instead).
/// </summary>
public sealed class MultiplicativeLR : LRScheduler
{
    readonly Func<int, double>[] _lambdas;

    /// <summary>One function for every group.</summary>
    public MultiplicativeLR(Optimizer optimizer, Func<int, double> lrLambda, int lastEpoch = -1)
        : this(optimizer, Enumerable.Repeat(lrLambda, optimizer.ParamGroups.Count).ToArray(), lastEpoch) { }

    /// <summary>One function per group, in order.</summary>
    public MultiplicativeLR(Optimizer optimizer, IReadOnlyList<Func<int, double>> lrLambdas, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        if (lrLambdas.Count != optimizer.ParamGroups.Count)
            throw new ArgumentException($"MultiplicativeLR: expected {optimizer.ParamGroups.Count} lr lambdas (one per param group), got {lrLambdas.Count}");
        _lambdas = lrLambdas.ToArray();
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double[] GetLr() =>
        LastEpoch > 0 ? Optimizer.ParamGroups.Select((g, i) => g.Lr * _lambdas[i](LastEpoch)).ToArray() : CurrentLrs();

    // PyTorch has no closed form for it: step(0) keeps the current lr.
    /// <inheritdoc/>
    protected override bool RestartsFromBaseLrs => false;
}
