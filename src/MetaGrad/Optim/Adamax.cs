namespace MetaGrad.Optim;

/// <summary>
/// Adamax (torch.optim.Adamax), Adam with the infinity norm in place of the second moment. Per step
/// t, with g the gradient (negated when maximizing):
/// <code>
/// g ← g + weight_decay·θ
/// m ← lerp(m, g, 1 - β1)
/// u ← max(β2·u, |g| + ε)
/// θ ← θ - (lr / (1 - β1^t)) · m / u
/// </code>
/// </summary>
public sealed class Adamax : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/>; see the groups overload for the options.</summary>
    public Adamax(IEnumerable<Tensor> parameters, double lr = 2e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 0, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, betas, eps, weightDecay, maximize) { }

    /// <summary>Groups whose unset options take these defaults (PyTorch's).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="betas">Decay rates of the first moment and of the infinity norm; (0.9, 0.999) when null.</param>
    /// <param name="eps">Added to |g| for numerical stability.</param>
    /// <param name="weightDecay">L2 penalty coefficient, added to the gradient.</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    public Adamax(IEnumerable<ParamGroup> groups, double lr = 2e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 0, bool maximize = false)
        : base(groups, new Dictionary<string, object>
        {
            ["lr"] = lr, ["betas"] = betas ?? (0.9, 0.999), ["eps"] = eps, ["weight_decay"] = weightDecay, ["maximize"] = maximize,
        })
    { }

    /// <inheritdoc/>
    protected override string? Problem(ParamGroup g) => AdamFamilyProblem(g);

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        var (beta1, beta2) = group.Pair("betas");
        double weightDecay = group.Double("weight_decay");
        double step = CountStep(state);
        var expAvg = Buffer(state, "exp_avg", param);
        var expInf = Buffer(state, "exp_inf", param);
        var g = group.Bool("maximize") ? -grad : grad;
        if (weightDecay != 0) g = g + param * weightDecay;

        Lerp_(expAvg, g, 1 - beta1);
        expInf.Copy_((expInf * beta2).Maximum(g.Abs() + group.Double("eps")));
        double clr = group.Lr / (1 - Math.Pow(beta1, step));
        param.Add_(expAvg / expInf * -clr);
    }
}
