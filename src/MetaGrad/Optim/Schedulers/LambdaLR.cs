namespace MetaGrad.Optim;

/// <summary>Sets each group's lr to its base lr times a function of the epoch: lr = base·λ(epoch) (torch's LambdaLR).</summary>
public class LambdaLR : LRScheduler
{
    readonly Func<int, double>[] _lambdas;

    /// <summary>One function for every group.</summary>
    public LambdaLR(Optimizer optimizer, Func<int, double> lrLambda, int lastEpoch = -1)
        : this(optimizer, Enumerable.Repeat(lrLambda, optimizer.ParamGroups.Count).ToArray(), lastEpoch) { }

    /// <summary>One function per group, in order.</summary>
    public LambdaLR(Optimizer optimizer, IReadOnlyList<Func<int, double>> lrLambdas, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        if (lrLambdas.Count != optimizer.ParamGroups.Count)
            throw new ArgumentException($"{Name}: expected {optimizer.ParamGroups.Count} lr lambdas (one per param group), got {lrLambdas.Count}");
        _lambdas = lrLambdas.ToArray();
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double[] GetLr() => BaseLrs.Select((baseLr, i) => baseLr * _lambdas[i](LastEpoch)).ToArray();
}
