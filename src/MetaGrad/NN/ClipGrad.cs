namespace MetaGrad.NN;

/// <summary>Gradient clipping (torch.nn.utils.clip_grad_norm_ and clip_grad_value_).</summary>
public static class ClipGrad
{
    /// <summary>
    /// Scales all gradients together so their combined p-norm is at most maxNorm; returns the
    /// norm before clipping. Scaling uses maxNorm / (norm + 1e-6), as PyTorch does.
    /// </summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = false)
    {
        // Read unseen: nothing here keeps them, so ZeroGrad may still give their buffers back.
        var grads = parameters.Select(p => p.GradUnseen).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        using var _ = Autograd.NoGrad();
        double total = double.IsPositiveInfinity(normType)
            ? grads.Max(g => g.Abs().Max().To(DType.Float64).Item<double>())
            : Math.Pow(grads.Sum(g => Math.Pow(g.Norm(normType).To(DType.Float64).Item<double>(), normType)), 1 / normType);
        if (errorIfNonfinite && !double.IsFinite(total))
            throw new InvalidOperationException($"ClipGradNorm: the total norm of order {normType} of the gradients is non-finite ({total})");
        double coefficient = maxNorm / (total + 1e-6);
        if (coefficient < 1)
            foreach (var g in grads) g.Mul_(coefficient);
        return total;
    }

    /// <summary>Clamps every gradient element to [-clipValue, clipValue].</summary>
    public static void ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        using var _ = Autograd.NoGrad();
        foreach (var p in parameters)
            p.GradUnseen?.Clamp_(-clipValue, clipValue);
    }
}
