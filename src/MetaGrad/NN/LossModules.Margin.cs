namespace MetaGrad.NN;

/// <summary>A module with three inputs (the ranking, embedding and triplet losses, the Gaussian NLL).</summary>
public abstract class Module<TIn1, TIn2, TIn3, TOut> : Module
{
    /// <summary>Computes the output.</summary>
    public abstract TOut Forward(TIn1 input1, TIn2 input2, TIn3 input3);

    /// <summary>Forward inside the module's hooks (PyTorch's <c>module(a, b, c)</c>); hooks see the inputs as a tuple.</summary>
    public TOut Call(TIn1 input1, TIn2 input2, TIn3 input3) =>
        HasHooks ? CallWithHooks((input1, input2, input3), p => Forward(p.Item1, p.Item2, p.Item3)) : Forward(input1, input2, input3);
}

/// <summary>max(0, -y·(x1 - x2) + margin) (torch.nn.MarginRankingLoss).</summary>
public sealed class MarginRankingLoss(double margin = 0, Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input1, Tensor input2, Tensor target) => Losses.MarginRankingLoss(input1, input2, target, margin, reduction);
}

/// <summary>x where y = 1, max(0, margin - x) where y = -1 (torch.nn.HingeEmbeddingLoss).</summary>
public sealed class HingeEmbeddingLoss(double margin = 1.0, Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.HingeEmbeddingLoss(input, target, margin, reduction);
}

/// <summary>log(1 + e^(-y·x)) (torch.nn.SoftMarginLoss).</summary>
public sealed class SoftMarginLoss(Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.SoftMarginLoss(input, target, reduction);
}

/// <summary>1 - cos where y = 1, max(0, cos - margin) where y = -1 (torch.nn.CosineEmbeddingLoss).</summary>
public sealed class CosineEmbeddingLoss(double margin = 0, Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input1, Tensor input2, Tensor target) => Losses.CosineEmbeddingLoss(input1, input2, target, margin, reduction);
}

/// <summary>max(0, margin + d(a, p) - d(a, n)) (torch.nn.TripletMarginLoss).</summary>
public sealed class TripletMarginLoss(double margin = 1.0, double p = 2, double eps = 1e-6, bool swap = false, Reduction reduction = Reduction.Mean)
    : Module<Tensor, Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor anchor, Tensor positive, Tensor negative) =>
        Losses.TripletMarginLoss(anchor, positive, negative, margin, p, eps, swap, reduction);
}

/// <summary>The Gaussian negative log-likelihood; Forward takes input, target and var (torch.nn.GaussianNLLLoss).</summary>
public sealed class GaussianNLLLoss(bool full = false, double eps = 1e-6, Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target, Tensor var) => Losses.GaussianNllLoss(input, target, var, full, eps, reduction);
}

/// <summary>The Poisson negative log-likelihood (torch.nn.PoissonNLLLoss).</summary>
public sealed class PoissonNLLLoss(bool logInput = true, bool full = false, double eps = 1e-8, Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.PoissonNllLoss(input, target, logInput, full, eps, reduction);
}

/// <summary>Per-class logistic losses averaged over the classes (torch.nn.MultiLabelSoftMarginLoss).</summary>
public sealed class MultiLabelSoftMarginLoss(Tensor? weight = null, Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.MultilabelSoftMarginLoss(input, target, weight, reduction);
}

/// <summary>The multi-class hinge (torch.nn.MultiMarginLoss).</summary>
public sealed class MultiMarginLoss(int p = 1, double margin = 1, Tensor? weight = null, Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.MultiMarginLoss(input, target, p, margin, weight, reduction);
}

/// <summary>The multi-label hinge over target and non-target classes (torch.nn.MultiLabelMarginLoss).</summary>
public sealed class MultiLabelMarginLoss(Reduction reduction = Reduction.Mean) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Losses.MultilabelMarginLoss(input, target, reduction);
}

/// <summary>
/// The CTC loss (torch.nn.CTCLoss) of log-probabilities [T, N, C] against unaligned targets; see
/// <see cref="Losses.CtcLoss"/>.
/// </summary>
public sealed class CTCLoss(int blank = 0, Reduction reduction = Reduction.Mean, bool zeroInfinity = false) : Module
{
    /// <summary>The loss of <paramref name="logProbs"/> against <paramref name="targets"/> with their lengths.</summary>
    public Tensor Forward(Tensor logProbs, Tensor targets, Tensor inputLengths, Tensor targetLengths) =>
        Losses.CtcLoss(logProbs, targets, inputLengths, targetLengths, blank, reduction, zeroInfinity);
}
