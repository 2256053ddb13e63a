namespace MetaGrad.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight
/// decay (torch.optim.SGD). Per step, with g the gradient (negated when maximizing):
/// <code>
/// g ← g + weight_decay·θ
/// b ← g on the first step, else momentum·b + (1 - dampening)·g
/// g ← g + momentum·b with Nesterov, else b
/// θ ← θ - lr·g
/// </code>
/// </summary>
public sealed class SGD : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/>; see the groups overload for the options.</summary>
    public SGD(IEnumerable<Tensor> parameters, double lr = 1e-3, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, momentum, dampening, weightDecay, nesterov, maximize) { }

    /// <summary>Groups whose unset options take these defaults (PyTorch's).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="momentum">Momentum factor (0: plain SGD).</param>
    /// <param name="dampening">Dampening of the gradient's share in the momentum buffer.</param>
    /// <param name="weightDecay">L2 penalty coefficient, added to the gradient.</param>
    /// <param name="nesterov">Nesterov momentum (needs momentum &gt; 0 and zero dampening).</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    public SGD(IEnumerable<ParamGroup> groups, double lr = 1e-3, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : base(groups, new Dictionary<string, object>
        {
            ["lr"] = lr, ["momentum"] = momentum, ["dampening"] = dampening,
            ["weight_decay"] = weightDecay, ["nesterov"] = nesterov, ["maximize"] = maximize,
        })
    { }

    /// <inheritdoc/>
    protected override string? Problem(ParamGroup g) =>
        NonNegative(g, "lr", "learning rate")
        ?? NonNegative(g, "momentum", "momentum value")
        ?? NonNegative(g, "weight_decay", "weight_decay value")
        ?? (g.Bool("nesterov") && (g.Double("momentum") <= 0 || g.Double("dampening") != 0)
            ? $"Nesterov momentum requires a momentum and zero dampening (got momentum {g.Double("momentum")}, dampening {g.Double("dampening")})"
            : null);

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        double momentum = group.Double("momentum"), weightDecay = group.Double("weight_decay");
        var d = group.Bool("maximize") ? -grad : grad;
        if (weightDecay != 0) d = d + param * weightDecay;
        if (momentum != 0)
        {
            // The first step's buffer is the gradient itself: no dampening, as in PyTorch.
            if (state.TryGetValue("momentum_buffer", out var buffer)) buffer.Mul_(momentum).Add_(d, 1 - group.Double("dampening"));
            else state["momentum_buffer"] = buffer = d.Clone();
            d = group.Bool("nesterov") ? d + buffer * momentum : buffer;
        }
        param.Add_(d, -group.Lr);
    }

    /// <summary>Plain SGD on the rows the gradient holds (repeats add up); momentum and weight decay would touch every row.</summary>
    protected override void UpdateSparse(Tensor param, RowSparseGradient grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        if (group.Double("momentum") != 0 || group.Double("weight_decay") != 0)
            throw new NotSupportedException($"SGD: momentum and weight decay are not supported with sparse gradients (parameter {ShapeMath.Format(param.Layout.Shape)}); use them with a dense embedding");
        AddRows_(param, grad.Indices, grad.Values * (group.Bool("maximize") ? group.Lr : -group.Lr));
    }
}
