namespace MetaGrad.Optim;

/// <summary>
/// NAdam (torch.optim.NAdam, Dozat 2016): Adam with Nesterov momentum, whose momentum coefficient
/// μ_t = β1·(1 - ½·0.96^(t·momentum_decay)) warms up over the first steps. Per step t, with g the
/// gradient:
/// <code>
/// g ← g + weight_decay·θ
/// Π ← Π·μ_t                                  (state "mu_product", from 1)
/// m ← lerp(m, g, 1 - β1);   v ← β2·v + (1 - β2)·g²
/// d = √(v / (1 - β2^t)) + ε
/// θ ← θ - lr·(1 - μ_t)/(1 - Π) · g/d - lr·μ_{t+1}/(1 - Π·μ_{t+1}) · m/d
/// </code>
/// </summary>
public sealed class NAdam : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/>; see the groups overload for the options.</summary>
    public NAdam(IEnumerable<Tensor> parameters, double lr = 2e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 0, double momentumDecay = 4e-3)
        : this([new ParamGroup(parameters)], lr, betas, eps, weightDecay, momentumDecay) { }

    /// <summary>Groups whose unset options take these defaults (PyTorch's).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="betas">Decay rates of the first and second moment averages; (0.9, 0.999) when null.</param>
    /// <param name="eps">Added to the denominator for numerical stability.</param>
    /// <param name="weightDecay">L2 penalty coefficient, added to the gradient.</param>
    /// <param name="momentumDecay">How fast the momentum coefficient warms up (PyTorch's momentum_decay).</param>
    public NAdam(IEnumerable<ParamGroup> groups, double lr = 2e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 0, double momentumDecay = 4e-3)
        : base(groups, new Dictionary<string, object>
        {
            ["lr"] = lr, ["betas"] = betas ?? (0.9, 0.999), ["eps"] = eps, ["weight_decay"] = weightDecay, ["momentum_decay"] = momentumDecay,
        })
    { }

    /// <inheritdoc/>
    protected override string? Problem(ParamGroup g) => AdamFamilyProblem(g)
        ?? NonNegative(g, "momentum_decay", "momentum_decay value");

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        var (beta1, beta2) = group.Pair("betas");
        double lr = group.Lr, weightDecay = group.Double("weight_decay"), decay = group.Double("momentum_decay");
        double step = CountStep(state);
        var expAvg = Buffer(state, "exp_avg", param);
        var expAvgSq = Buffer(state, "exp_avg_sq", param);
        // Kept, like "step", as a 0-d Float64 tensor so the state dict carries it.
        if (!state.TryGetValue("mu_product", out var muProductState)) state["mu_product"] = muProductState = Tensor.Scalar(1, DType.Float64);
        var g = weightDecay != 0 ? grad + param * weightDecay : grad;

        double mu = beta1 * (1 - 0.5 * Math.Pow(0.96, step * decay));
        double muNext = beta1 * (1 - 0.5 * Math.Pow(0.96, (step + 1) * decay));
        double muProduct = muProductState.Item<double>() * mu;
        muProductState.Fill_(muProduct);
        double muProductNext = muProduct * muNext;

        Lerp_(expAvg, g, 1 - beta1);
        expAvgSq.Mul_(beta2).Add_(g * (1 - beta2) * g);
        var denom = (expAvgSq / (1 - Math.Pow(beta2, step))).Sqrt() + group.Double("eps");
        param.Add_(g / denom * (-lr * (1 - mu) / (1 - muProduct)));
        param.Add_(expAvg / denom * (-lr * muNext / (1 - muProductNext)));
    }

    /// <inheritdoc/>
    protected override bool IsScalarState(string name) => name == "mu_product";
}
