namespace MetaGrad.Optim;

/// <summary>
/// Adam for sparse gradients (torch.optim.SparseAdam): the moments of only the rows a step's
/// gradient holds are updated, so rows an embedding did not look up keep their moments and
/// weights. Per step t of a parameter, on its rows r with summed gradient g (negated when maximizing):
/// <code>
/// m[r] ← m[r] + (1 - β1)·(g - m[r])
/// v[r] ← v[r] + (1 - β2)·(g² - v[r])
/// θ[r] ← θ[r] - lr·√(1 - β2^t)/(1 - β1^t) · m[r] / (√v[r] + ε)
/// </code>
/// ε is added before the bias correction here, unlike Adam (PyTorch's formula). Dense gradients
/// are refused, as in PyTorch: use Adam for those parameters.
/// </summary>
public sealed class SparseAdam : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/>; see the groups overload for the options.</summary>
    public SparseAdam(IEnumerable<Tensor> parameters, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, betas, eps, maximize) { }

    /// <summary>Groups whose unset options take these defaults (PyTorch's).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="betas">Decay rates of the first and second moment averages; (0.9, 0.999) when null.</param>
    /// <param name="eps">Added to the denominator for numerical stability.</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    public SparseAdam(IEnumerable<ParamGroup> groups, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8, bool maximize = false)
        : base(groups, new Dictionary<string, object> { ["lr"] = lr, ["betas"] = betas ?? (0.9, 0.999), ["eps"] = eps, ["maximize"] = maximize })
    { }

    /// <inheritdoc/>
    protected override string? Problem(ParamGroup g)
    {
        var (beta1, beta2) = g.Pair("betas");
        return NonNegative(g, "lr", "learning rate")
            ?? NonNegative(g, "eps", "epsilon value")
            ?? UnitInterval(beta1, "beta parameter at index 0", includeOne: false)
            ?? UnitInterval(beta2, "beta parameter at index 1", includeOne: false);
    }

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group) =>
        throw new NotSupportedException($"SparseAdam does not support dense gradients (parameter {ShapeMath.Format(param.Layout.Shape)}), please consider Adam instead");

    /// <inheritdoc/>
    protected override void UpdateSparse(Tensor param, RowSparseGradient grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        var (beta1, beta2) = group.Pair("betas");
        double step = CountStep(state);
        var expAvg = Buffer(state, "exp_avg", param);
        var expAvgSq = Buffer(state, "exp_avg_sq", param);
        var rows = grad.Coalesce();
        var g = group.Bool("maximize") ? -rows.Values : rows.Values;
        var oldAvg = expAvg.IndexSelect(0, rows.Indices);
        var oldAvgSq = expAvgSq.IndexSelect(0, rows.Indices);
        var avgUpdate = (g - oldAvg) * (1 - beta1);
        var avgSqUpdate = (g * g - oldAvgSq) * (1 - beta2);
        AddRows_(expAvg, rows.Indices, avgUpdate);
        AddRows_(expAvgSq, rows.Indices, avgSqUpdate);
        var numerator = avgUpdate + oldAvg;
        var denominator = (avgSqUpdate + oldAvgSq).Sqrt() + group.Double("eps");
        double stepSize = group.Lr * Math.Sqrt(1 - Math.Pow(beta2, step)) / (1 - Math.Pow(beta1, step));
        AddRows_(param, rows.Indices, numerator / denominator * -stepSize);
    }
}
