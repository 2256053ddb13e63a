namespace MetaGrad.Optim;

/// <summary>
/// AdamW (torch.optim.AdamW): Adam with decoupled weight decay, θ ← θ·(1 - lr·weight_decay) before
/// the Adam step instead of an L2 term in the gradient, and weight decay 0.01 by default.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>One group over <paramref name="parameters"/>; the options are Adam's.</summary>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(parameters, lr, betas, eps, weightDecay, amsgrad, maximize, decoupledWeightDecay: true) { }

    /// <summary>Groups whose unset options take these defaults (PyTorch's); the options are Adam's.</summary>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(groups, lr, betas, eps, weightDecay, amsgrad, maximize, decoupledWeightDecay: true) { }
}
