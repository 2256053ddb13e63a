namespace MetaGrad.Optim;

/// <summary>
/// Adagrad (torch.optim.Adagrad). Per step t, with g the gradient (negated when maximizing):
/// <code>
/// g ← g + weight_decay·θ
/// clr = lr / (1 + (t - 1)·lr_decay)
/// s ← s + g²                     (s starts at initial_accumulator_value)
/// θ ← θ - clr · g / (√s + ε)
/// </code>
/// As in PyTorch, the state (step 0 and the accumulator) exists from construction, so a state
/// dict taken before the first step already holds it.
/// </summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/>; see the groups overload for the options.</summary>
    public Adagrad(IEnumerable<Tensor> parameters, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize) { }

    /// <summary>Groups whose unset options take these defaults (PyTorch's).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="lrDecay">Learning-rate decay per step.</param>
    /// <param name="weightDecay">L2 penalty coefficient, added to the gradient.</param>
    /// <param name="initialAccumulatorValue">Starting value of the sum of squared gradients.</param>
    /// <param name="eps">Added to the denominator for numerical stability.</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    public Adagrad(IEnumerable<ParamGroup> groups, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : base(groups, new Dictionary<string, object>
        {
            ["lr"] = lr, ["lr_decay"] = lrDecay, ["weight_decay"] = weightDecay,
            ["initial_accumulator_value"] = initialAccumulatorValue, ["eps"] = eps, ["maximize"] = maximize,
        })
    {
        foreach (var group in ParamGroups)
            foreach (var p in group.Params)
                Initialise(StateFor(p), p, group);
    }

    static Tensor Initialise(Dictionary<string, Tensor> state, Tensor param, ParamGroup group)
    {
        if (!state.ContainsKey("step")) state["step"] = Tensor.Scalar(0, DType.Float64);
        return Buffer(state, "sum", param, group.Double("initial_accumulator_value"));
    }

    /// <inheritdoc/>
    protected override string? Problem(ParamGroup g) =>
        NonNegative(g, "lr", "learning rate")
        ?? NonNegative(g, "lr_decay", "lr_decay value")
        ?? NonNegative(g, "weight_decay", "weight_decay value")
        ?? NonNegative(g, "initial_accumulator_value", "initial_accumulator_value value")
        ?? NonNegative(g, "eps", "epsilon value");

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        var sum = Initialise(state, param, group);   // groups added after construction start here
        double step = CountStep(state);
        var g = group.Bool("maximize") ? -grad : grad;
        double weightDecay = group.Double("weight_decay");
        if (weightDecay != 0) g = g + param * weightDecay;
        double clr = group.Lr / (1 + (step - 1) * group.Double("lr_decay"));
        sum.Add_(g * g);
        var std = sum.Sqrt() + group.Double("eps");
        param.Add_(g * -clr / std);
    }

    /// <summary>
    /// The same rule on the rows the gradient holds (summed per row first, as the squares must be of
    /// the sums); untouched rows would not move under the dense rule either. Weight decay would touch
    /// every row: not supported, as in PyTorch.
    /// </summary>
    protected override void UpdateSparse(Tensor param, RowSparseGradient grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        if (group.Double("weight_decay") != 0)
            throw new NotSupportedException($"Adagrad: weight_decay is not compatible with sparse gradients (parameter {ShapeMath.Format(param.Layout.Shape)})");
        var sum = Initialise(state, param, group);
        double step = CountStep(state);
        double clr = group.Lr / (1 + (step - 1) * group.Double("lr_decay"));
        var rows = grad.Coalesce();
        var g = group.Bool("maximize") ? -rows.Values : rows.Values;
        AddRows_(sum, rows.Indices, g * g);
        var std = sum.IndexSelect(0, rows.Indices).Sqrt() + group.Double("eps");
        AddRows_(param, rows.Indices, g * -clr / std);
    }
}
