namespace MetaGrad.NN;

/// <summary>Mean squared error (torch.nn.MSELoss).</summary>
public sealed class MSELoss(Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.MseLoss(input, target, reduction);
}

/// <summary>Mean absolute error (torch.nn.L1Loss).</summary>
public sealed class L1Loss(Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.L1Loss(input, target, reduction);
}

/// <summary>Smooth L1 (torch.nn.SmoothL1Loss).</summary>
public sealed class SmoothL1Loss(Reduction reduction = Reduction.Mean, double beta = 1.0) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.SmoothL1Loss(input, target, reduction, beta);
}

/// <summary>Huber (torch.nn.HuberLoss).</summary>
public sealed class HuberLoss(Reduction reduction = Reduction.Mean, double delta = 1.0) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.HuberLoss(input, target, reduction, delta);
}

/// <summary>Binary cross-entropy on probabilities (torch.nn.BCELoss).</summary>
public sealed class BCELoss(Tensor? weight = null, Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.BinaryCrossEntropy(input, target, weight, reduction);
}

/// <summary>Binary cross-entropy on logits, stable (torch.nn.BCEWithLogitsLoss).</summary>
public sealed class BCEWithLogitsLoss(Tensor? weight = null, Tensor? posWeight = null, Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.BinaryCrossEntropyWithLogits(input, target, weight, posWeight, reduction);
}

/// <summary>Cross-entropy of logits against class indices or probabilities (torch.nn.CrossEntropyLoss).</summary>
public sealed class CrossEntropyLoss(Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean, double labelSmoothing = 0) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.CrossEntropy(input, target, weight, ignoreIndex, reduction, labelSmoothing);
}

/// <summary>Negative log-likelihood of log-probabilities (torch.nn.NLLLoss).</summary>
public sealed class NLLLoss(Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.NllLoss(input, target, weight, ignoreIndex, reduction);
}

/// <summary>Kullback–Leibler divergence (torch.nn.KLDivLoss); batchMean is PyTorch's reduction="batchmean".</summary>
public sealed class KLDivLoss(Reduction reduction = Reduction.Mean, bool batchMean = false, bool logTarget = false) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.KlDiv(input, target, reduction, batchMean, logTarget);
}
