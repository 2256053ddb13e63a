namespace MetaGrad.Optim;

/// <summary>
/// RMSprop (torch.optim.RMSprop), optionally centered and with momentum. Per step, with g the
/// gradient (negated when maximizing):
/// <code>
/// g ← g + weight_decay·θ
/// v ← α·v + (1 - α)·g²
/// centered:  ḡ ← lerp(ḡ, g, 1 - α);  d = √(v - ḡ²) + ε      otherwise  d = √v + ε
/// momentum:  b ← momentum·b + g / d;  θ ← θ - lr·b         otherwise  θ ← θ - lr · g / d
/// </code>
/// </summary>
public sealed class RMSprop : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/>; see the groups overload for the options.</summary>
    public RMSprop(IEnumerable<Tensor> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, alpha, eps, weightDecay, momentum, centered, maximize) { }

    /// <summary>Groups whose unset options take these defaults (PyTorch's).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="alpha">Smoothing constant of the squared-gradient average.</param>
    /// <param name="eps">Added to the denominator for numerical stability.</param>
    /// <param name="weightDecay">L2 penalty coefficient, added to the gradient.</param>
    /// <param name="momentum">Momentum factor (0: none).</param>
    /// <param name="centered">Normalise by an estimate of the gradient's variance instead of its second moment.</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    public RMSprop(IEnumerable<ParamGroup> groups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false, bool maximize = false)
        : base(groups, new Dictionary<string, object>
        {
            ["lr"] = lr, ["alpha"] = alpha, ["eps"] = eps, ["weight_decay"] = weightDecay,
            ["momentum"] = momentum, ["centered"] = centered, ["maximize"] = maximize,
        })
    { }

    /// <inheritdoc/>
    protected override string? Problem(ParamGroup g) =>
        NonNegative(g, "lr", "learning rate")
        ?? NonNegative(g, "eps", "epsilon value")
        ?? NonNegative(g, "momentum", "momentum value")
        ?? NonNegative(g, "weight_decay", "weight_decay value")
        ?? NonNegative(g, "alpha", "alpha value");

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        double alpha = group.Double("alpha"), momentum = group.Double("momentum"), weightDecay = group.Double("weight_decay");
        CountStep(state);
        var squareAvg = Buffer(state, "square_avg", param);
        var g = group.Bool("maximize") ? -grad : grad;
        if (weightDecay != 0) g = g + param * weightDecay;

        squareAvg.Mul_(alpha).Add_(g * (1 - alpha) * g);
        Tensor avg;
        if (group.Bool("centered"))
        {
            var gradAvg = Buffer(state, "grad_avg", param);
            Lerp_(gradAvg, g, 1 - alpha);
            avg = (squareAvg - gradAvg * gradAvg).Sqrt();
        }
        else avg = squareAvg.Sqrt();
        avg = avg + group.Double("eps");

        if (momentum > 0)
        {
            var buffer = Buffer(state, "momentum_buffer", param);
            buffer.Mul_(momentum).Add_(g / avg);
            param.Add_(buffer, -group.Lr);
        }
        else param.Add_(g * -group.Lr / avg);
    }
}
