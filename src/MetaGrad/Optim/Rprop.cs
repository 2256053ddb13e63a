namespace MetaGrad.Optim;

/// <summary>
/// Rprop (torch.optim.Rprop): each element moves by its own step size against the sign of its
/// gradient; the step size grows by etaplus while the gradient keeps its sign and shrinks by
/// etaminus when it flips (and that element then skips its move and forgets its gradient), within
/// [min, max] step sizes. The step sizes start at the group's lr. State: "prev" (the last gradient
/// as used) and "step_size".
/// </summary>
public sealed class Rprop : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/>; see the groups overload for the options.</summary>
    public Rprop(IEnumerable<Tensor> parameters, double lr = 1e-2, (double EtaMinus, double EtaPlus)? etas = null,
        (double Min, double Max)? stepSizes = null, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, etas, stepSizes, maximize) { }

    /// <summary>Groups whose unset options take these defaults (PyTorch's).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">The initial step size.</param>
    /// <param name="etas">(etaminus, etaplus), the factors a step size shrinks and grows by; (0.5, 1.2) when null.</param>
    /// <param name="stepSizes">(min, max) step sizes; (1e-6, 50) when null.</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    public Rprop(IEnumerable<ParamGroup> groups, double lr = 1e-2, (double EtaMinus, double EtaPlus)? etas = null,
        (double Min, double Max)? stepSizes = null, bool maximize = false)
        : base(groups, new Dictionary<string, object>
        {
            ["lr"] = lr, ["etas"] = etas ?? (0.5, 1.2), ["step_sizes"] = stepSizes ?? (1e-6, 50.0), ["maximize"] = maximize,
        })
    { }

    /// <inheritdoc/>
    protected override string? Problem(ParamGroup g)
    {
        var (etaMinus, etaPlus) = g.Pair("etas");
        return NonNegative(g, "lr", "learning rate")
            ?? (0 < etaMinus && etaMinus < 1 && etaPlus > 1 ? null : $"invalid eta values: ({etaMinus}, {etaPlus}) (must satisfy 0 < etaminus < 1 < etaplus)");
    }

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        var (etaMinus, etaPlus) = group.Pair("etas");
        var (minStep, maxStep) = group.Pair("step_sizes");
        CountStep(state);
        var prev = Buffer(state, "prev", param);
        var stepSize = Buffer(state, "step_size", param, group.Lr);
        var g = group.Bool("maximize") ? -grad : grad;

        var sign = (g * prev).Sign();
        Tensor Scalar(double v) => Tensor.Scalar(v, param.DType);
        var factor = Tensor.Where(sign > 0.0, Scalar(etaPlus), Tensor.Where(sign < 0.0, Scalar(etaMinus), Scalar(1)));
        stepSize.Mul_(factor).Clamp_(minStep, maxStep);
        // Where the sign flipped, this step neither moves nor remembers the gradient (PyTorch tests factor == etaminus).
        var used = Tensor.Where(factor == etaMinus, Tensor.ZerosLike(g), g);
        param.Add_(used.Sign() * stepSize * -1.0);
        prev.Copy_(used);
    }
}
