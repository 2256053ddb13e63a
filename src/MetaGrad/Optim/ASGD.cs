namespace MetaGrad.Optim;

/// <summary>
/// Averaged SGD (torch.optim.ASGD, Polyak and Juditsky 1992): SGD with a decaying step
/// η_t = lr/(1 + λ·lr·t)^α and a running average ax of the iterates, which starts averaging at step t0.
/// Per step t, with g the gradient (negated when maximizing):
/// <code>
/// g ← g + weight_decay·θ
/// θ ← θ·(1 - λ·η);   θ ← θ - η·g
/// ax ← ax + μ·(θ - ax)   (ax ← θ while μ = 1)
/// η ← lr/(1 + λ·lr·t)^α;   μ ← 1/max(1, t - t0)
/// </code>
/// η and μ are kept as 0-d Float64 state tensors ("eta", "mu"), like the step count.
/// </summary>
public sealed class ASGD : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/>; see the groups overload for the options.</summary>
    public ASGD(IEnumerable<Tensor> parameters, double lr = 1e-2, double lambd = 1e-4, double alpha = 0.75, double t0 = 1e6,
        double weightDecay = 0, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, lambd, alpha, t0, weightDecay, maximize) { }

    /// <summary>Groups whose unset options take these defaults (PyTorch's).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="lambd">Decay term λ.</param>
    /// <param name="alpha">Power of the step-size decay.</param>
    /// <param name="t0">The step at which averaging starts.</param>
    /// <param name="weightDecay">L2 penalty coefficient, added to the gradient.</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    public ASGD(IEnumerable<ParamGroup> groups, double lr = 1e-2, double lambd = 1e-4, double alpha = 0.75, double t0 = 1e6,
        double weightDecay = 0, bool maximize = false)
        : base(groups, new Dictionary<string, object>
        {
            ["lr"] = lr, ["lambd"] = lambd, ["alpha"] = alpha, ["t0"] = t0, ["weight_decay"] = weightDecay, ["maximize"] = maximize,
        })
    { }

    /// <inheritdoc/>
    protected override string? Problem(ParamGroup g) =>
        NonNegative(g, "lr", "learning rate") ?? NonNegative(g, "weight_decay", "weight_decay value");

    /// <inheritdoc/>
    protected override bool IsScalarState(string name) => name is "eta" or "mu";

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        double lr = group.Lr, lambd = group.Double("lambd"), weightDecay = group.Double("weight_decay");
        if (!state.ContainsKey("eta")) state["eta"] = Tensor.Scalar(lr, DType.Float64);
        if (!state.ContainsKey("mu")) state["mu"] = Tensor.Scalar(1, DType.Float64);
        double step = CountStep(state);
        var ax = Buffer(state, "ax", param);
        double eta = state["eta"].Item<double>(), mu = state["mu"].Item<double>();
        var g = group.Bool("maximize") ? -grad : grad;
        if (weightDecay != 0) g = g + param * weightDecay;

        param.Mul_(1 - lambd * eta);
        param.Add_(g, -eta);
        if (mu != 1) ax.Add_((param - ax) * mu);
        else ax.Copy_(param);
        state["eta"].Fill_(lr / Math.Pow(1 + lambd * lr * step, group.Double("alpha")));
        state["mu"].Fill_(1 / Math.Max(1, step - group.Double("t0")));
    }
}
