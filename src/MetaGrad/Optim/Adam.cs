namespace MetaGrad.Optim;

/// <summary>
/// Adam (torch.optim.Adam), with AMSGrad, maximize, and L2 or decoupled weight decay. Per step t,
/// with g the gradient (negated when maximizing), in PyTorch's order:
/// <code>
/// θ ← θ·(1 - lr·weight_decay)           decoupled (AdamW), or else  g ← g + weight_decay·θ
/// m ← lerp(m, g, 1 - β1)                 (= β1·m + (1 - β1)·g)
/// v ← β2·v + (1 - β2)·g²
/// v̂ ← max(v̂, v) with AMSGrad (the raw second moment), else v
/// θ ← θ - (lr / (1 - β1^t)) · m / (√v̂ / √(1 - β2^t) + ε)
/// </code>
/// ε is added after the bias correction of √v̂, so it is not scaled by it.
/// </summary>
public class Adam : Optimizer
{
    /// <summary>One group over <paramref name="parameters"/>; see the groups overload for the options.</summary>
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false, bool maximize = false, bool decoupledWeightDecay = false)
        : this([new ParamGroup(parameters)], lr, betas, eps, weightDecay, amsgrad, maximize, decoupledWeightDecay) { }

    /// <summary>Groups whose unset options take these defaults (PyTorch's).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="betas">Decay rates of the first and second moment averages; (0.9, 0.999) when null.</param>
    /// <param name="eps">Added to the denominator for numerical stability.</param>
    /// <param name="weightDecay">Weight decay: an L2 term in the gradient, or decoupled (see <paramref name="decoupledWeightDecay"/>).</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    /// <param name="decoupledWeightDecay">Shrink the weights directly, as AdamW does, instead of adding to the gradient.</param>
    public Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false, bool maximize = false, bool decoupledWeightDecay = false)
        : base(groups, new Dictionary<string, object>
        {
            ["lr"] = lr, ["betas"] = betas ?? (0.9, 0.999), ["eps"] = eps, ["weight_decay"] = weightDecay,
            ["amsgrad"] = amsgrad, ["maximize"] = maximize, ["decoupled_weight_decay"] = decoupledWeightDecay,
        })
    { }

    /// <inheritdoc/>
    protected override string? Problem(ParamGroup g) => AdamFamilyProblem(g);

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group)
    {
        double lr = group.Lr, eps = group.Double("eps"), weightDecay = group.Double("weight_decay");
        var (beta1, beta2) = group.Pair("betas");
        bool amsgrad = group.Bool("amsgrad");
        double step = CountStep(state);
        var expAvg = Buffer(state, "exp_avg", param);
        var expAvgSq = Buffer(state, "exp_avg_sq", param);
        double biasCorrection1 = 1 - Math.Pow(beta1, step);
        double biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, step));
        var maxExpAvgSq = amsgrad ? Buffer(state, "max_exp_avg_sq", param) : null;
        if (CanFuse(param, grad, expAvg, expAvgSq, maxExpAvgSq))
        {
            // One pass instead of about fifteen; bit-identical to the operations below.
            Functions.Ops.AdamUpdate_(param, grad, expAvg, expAvgSq, maxExpAvgSq, new Backends.AdamCoefficients(
                lr, beta1, beta2, eps, weightDecay, group.Bool("decoupled_weight_decay"), group.Bool("maximize"), biasCorrection1, biasCorrection2Sqrt));
            return;
        }
        UpdateUnfused(param, grad, expAvg, expAvgSq, maxExpAvgSq, group, lr, eps, weightDecay, beta1, beta2, biasCorrection1, biasCorrection2Sqrt);
    }

    /// <summary>Set false to run the step as separate tensor operations (the reference the fused kernel is tested against).</summary>
    internal bool Fused { get; set; } = true;

    bool CanFuse(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq) =>
        Fused && param.DType.IsFloatingPoint() && Functions.Ops.HasFusedAdam(param)
        && new[] { param, grad, expAvg, expAvgSq, maxExpAvgSq }.All(t => t is null || (t.IsContiguous && t.DType == param.DType && t.Numel == param.Numel));

    static void UpdateUnfused(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq, ParamGroup group,
        double lr, double eps, double weightDecay, double beta1, double beta2, double biasCorrection1, double biasCorrection2Sqrt)
    {
        var g = group.Bool("maximize") ? -grad : grad;

        if (weightDecay != 0)
        {
            if (group.Bool("decoupled_weight_decay")) param.Mul_(1 - lr * weightDecay);
            else g = g + param * weightDecay;
        }
        Lerp_(expAvg, g, 1 - beta1);
        expAvgSq.Mul_(beta2).Add_(g * (1 - beta2) * g);

        var second = expAvgSq;
        if (maxExpAvgSq is not null)
        {
            second = maxExpAvgSq;
            second.Copy_(second.Maximum(expAvgSq));
        }
        var denom = second.Sqrt() / biasCorrection2Sqrt + eps;
        param.Add_(expAvg * (-lr / biasCorrection1) / denom);
    }
}
