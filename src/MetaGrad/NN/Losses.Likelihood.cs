namespace MetaGrad.NN;

// Negative log-likelihoods of a Gaussian and of a Poisson variable, as torch.nn.functional has them.
public static partial class Losses
{
    /// <summary>
    /// ½(log var + (input - target)²/var), plus ½log 2π when <paramref name="full"/>
    /// (torch.nn.functional.gaussian_nll_loss). var has the input's shape, or that shape without its
    /// last dim, or with 1 there (one variance per sample, shared by the last dim). Entries of var
    /// below eps are raised to eps for stability; as in PyTorch, that clamp is invisible to the
    /// gradient (the gradient flows to var as if it were not there).
    /// </summary>
    public static Tensor GaussianNllLoss(Tensor input, Tensor target, Tensor var, bool full = false, double eps = 1e-6, Reduction reduction = Reduction.Mean)
    {
        if (!var.Shape.SequenceEqual(input.Shape))
        {
            var lead = input.Shape.ToArray()[..Math.Max(input.NDim - 1, 0)];
            if (input.NDim > 0 && var.Shape.SequenceEqual(lead)) var = var.Unsqueeze(-1);
            else if (!(var.NDim > 0 && input.NDim > 0 && var.Shape.ToArray()[..^1].SequenceEqual(lead) && var.Shape[^1] == 1))
                throw new ArgumentException($"GaussianNllLoss: var of shape {Shape(var)} is of incorrect size for input of shape {Shape(input)} (expected the input's shape, or it without or with 1 in its last dim)");
        }
        if ((var < 0.0).Any()) throw new ArgumentException("GaussianNllLoss: var has negative entries");
        // PyTorch clamps a clone of var under no_grad: the value is max(var, eps), the gradient the identity.
        var clamped = var + (var.Clamp(min: eps) - var).Detach();
        var loss = ((input - target).Square() / clamped + clamped.Log()) * 0.5;
        if (full) loss = loss + 0.5 * Math.Log(2 * Math.PI);
        return Reduce(loss, reduction);
    }

    /// <summary>
    /// The Poisson negative log-likelihood (torch.nn.functional.poisson_nll_loss): e^input - target·input
    /// when <paramref name="logInput"/> (the input is the log of the rate), else
    /// input - target·log(input + eps). With <paramref name="full"/>, Stirling's approximation of
    /// log(target!), target·log target - target + ½log(2π·target), is added where target &gt; 1.
    /// </summary>
    public static Tensor PoissonNllLoss(Tensor input, Tensor target, bool logInput = true, bool full = false, double eps = 1e-8, Reduction reduction = Reduction.Mean)
    {
        var loss = logInput ? input.Exp() - target * input : input - target * (input + eps).Log();
        if (full)
        {
            // The logs see 1 where target ≤ 1, so the discarded branch stays finite for the gradient.
            var above = target > 1.0;
            var t = Tensor.Where(above, target, Tensor.OnesLike(target));
            var stirling = t * t.Log() - t + (t * (2 * Math.PI)).Log() * 0.5;
            loss = loss + Tensor.Where(above, stirling, Tensor.ZerosLike(stirling));
        }
        return Reduce(loss, reduction);
    }
}
