namespace MetaGrad.Optim;

/// <summary>
/// Adadelta (torch.optim.Adadelta). Per step, with g the gradient (negated when maximizing):
/// <code>
/// g ← g + weight_decay·θ
/// v ← ρ·v + (1 - ρ)·g²
/// Δ = √(u + ε) / √(v + ε) · g
/// u ← ρ·u + (1 - ρ)·Δ²
/// θ ← θ - lr·Δ
/// </code>
/// The learning rate only scales Δ, hence PyTorch's default of 1.
/// </summary>
public sealed class Adadelta : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/>; see the groups overload for the options.</summary>
    public Adadelta(IEnumerable<Tensor> parameters, double lr = 1.0, double rho = 0.9, double eps = 1e-6,
        double weightDecay = 0, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, rho, eps, weightDecay, maximize) { }

    /// <summary>Groups whose unset options take these defaults (PyTorch's).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Coefficient that scales Δ before it is applied.</param>
    /// <param name="rho">Decay rate of the running averages of squared gradients and squared updates.</param>
    /// <param name="eps">Added inside both square roots for numerical stability.</param>
    /// <param name="weightDecay">L2 penalty coefficient, added to the gradient.</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    public Adadelta(IEnumerable<ParamGroup> groups, double lr = 1.0, double rho = 0.9, double eps = 1e-6,
        double weightDecay = 0, bool maximize = false)
        : base(groups, new Dictionary<string, object>
        {
            ["lr"] = lr, ["rho"] = rho, ["eps"] = eps, ["weight_decay"] = weightDecay, ["maximize"] = maximize,
        })
    { }

    /// <inheritdoc/>
    protected override string? Problem(ParamGroup g) =>
        NonNegative(g, "lr", "learning rate")
        ?? UnitInterval(g.Double("rho"), "rho value", includeOne: true)
        ?? NonNegative(g, "eps", "epsilon value")
        ?? NonNegative(g, "weight_decay", "weight_decay value");

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        double rho = group.Double("rho"), eps = group.Double("eps"), weightDecay = group.Double("weight_decay");
        CountStep(state);
        var squareAvg = Buffer(state, "square_avg", param);
        var accDelta = Buffer(state, "acc_delta", param);
        var g = group.Bool("maximize") ? -grad : grad;
        if (weightDecay != 0) g = g + param * weightDecay;

        squareAvg.Mul_(rho).Add_(g * (1 - rho) * g);
        var std = (squareAvg + eps).Sqrt();
        var delta = (accDelta + eps).Sqrt() / std * g;
        accDelta.Mul_(rho).Add_(delta * (1 - rho) * delta);
        param.Add_(delta, -group.Lr);
    }
}
