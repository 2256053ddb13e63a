namespace MetaGrad.Optim;

/// <summary>
/// RAdam (torch.optim.RAdam, Liu et al. 2019): Adam whose adaptive step is switched on, and scaled
/// by the variance rectification r_t, only once the approximated SMA length ρ_t exceeds 5; before
/// that it takes plain momentum steps. Per step t, with g the gradient:
/// <code>
/// g ← g + weight_decay·θ
/// m ← lerp(m, g, 1 - β1);   v ← β2·v + (1 - β2)·g²;   m̂ = m / (1 - β1^t)
/// ρ∞ = 2/(1 - β2) - 1;   ρ_t = ρ∞ - 2t·β2^t / (1 - β2^t)
/// ρ_t &gt; 5:  r_t = √((ρ_t - 4)(ρ_t - 2)ρ∞ / ((ρ∞ - 4)(ρ∞ - 2)ρ_t));   θ ← θ - m̂·lr·√(1 - β2^t)/(√v + ε)·r_t
/// else:     θ ← θ - m̂·lr
/// </code>
/// </summary>
public sealed class RAdam : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/>; see the groups overload for the options.</summary>
    public RAdam(IEnumerable<Tensor> parameters, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8, double weightDecay = 0)
        : this([new ParamGroup(parameters)], lr, betas, eps, weightDecay) { }

    /// <summary>Groups whose unset options take these defaults (PyTorch's).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="betas">Decay rates of the first and second moment averages; (0.9, 0.999) when null.</param>
    /// <param name="eps">Added to the denominator for numerical stability.</param>
    /// <param name="weightDecay">L2 penalty coefficient, added to the gradient.</param>
    public RAdam(IEnumerable<ParamGroup> groups, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8, double weightDecay = 0)
        : base(groups, new Dictionary<string, object>
        {
            ["lr"] = lr, ["betas"] = betas ?? (0.9, 0.999), ["eps"] = eps, ["weight_decay"] = weightDecay,
        })
    { }

    /// <inheritdoc/>
    protected override string? Problem(ParamGroup g) => AdamFamilyProblem(g);

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        var (beta1, beta2) = group.Pair("betas");
        double lr = group.Lr, weightDecay = group.Double("weight_decay");
        double step = CountStep(state);
        var expAvg = Buffer(state, "exp_avg", param);
        var expAvgSq = Buffer(state, "exp_avg_sq", param);
        var g = weightDecay != 0 ? grad + param * weightDecay : grad;

        Lerp_(expAvg, g, 1 - beta1);
        expAvgSq.Mul_(beta2).Add_(g * (1 - beta2) * g);
        double biasCorrection1 = 1 - Math.Pow(beta1, step), biasCorrection2 = 1 - Math.Pow(beta2, step);
        var corrected = expAvg / biasCorrection1;
        double rhoInf = 2 / (1 - beta2) - 1;
        double rhoT = rhoInf - 2 * step * Math.Pow(beta2, step) / biasCorrection2;
        if (rhoT > 5)
        {
            double rect = Math.Sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
            var adaptiveLr = Math.Sqrt(biasCorrection2) / (expAvgSq.Sqrt() + group.Double("eps"));
            param.Add_(corrected * lr * adaptiveLr * rect, -1.0);
        }
        else param.Add_(corrected * lr, -1.0);
    }
}
