namespace MetaGrad.NN;

/// <summary>How a loss combines its per-element values.</summary>
public enum Reduction
{
    /// <summary>Keep every value.</summary>
    None,
    /// <summary>The mean (for weighted losses: divided by the total weight).</summary>
    Mean,
    /// <summary>The sum.</summary>
    Sum,
}

/// <summary>
/// The losses of torch.nn.functional, composed from primitives (so every one differentiates
/// twice). Each names itself and the shapes when its inputs do not fit.
/// </summary>
public static partial class Losses
{
    static Tensor Reduce(Tensor loss, Reduction reduction) => reduction switch
    {
        Reduction.None => loss,
        Reduction.Sum => loss.Sum(),
        _ => loss.Mean(),
    };

    static void SameShape(string op, Tensor input, Tensor target)
    {
        if (!input.Shape.SequenceEqual(target.Shape))
            throw new ArgumentException($"{op}: target shape {ShapeMath.Format(target.Shape.ToArray())} must match input shape {ShapeMath.Format(input.Shape.ToArray())}");
    }

    /// <summary>(x - y)².</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        SameShape("MseLoss", input, target);
        return Reduce((input - target).Square(), reduction);
    }

    /// <summary>|x - y|.</summary>
    public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        SameShape("L1Loss", input, target);
        return Reduce((input - target).Abs(), reduction);
    }

    /// <summary>0.5·d²/β where |d| &lt; β, |d| - 0.5β elsewhere (β = 0 is L1).</summary>
    public static Tensor SmoothL1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double beta = 1.0)
    {
        SameShape("SmoothL1Loss", input, target);
        var d = (input - target).Abs();
        if (beta == 0) return Reduce(d, reduction);
        return Reduce(Tensor.Where(d < beta, d.Square() * (0.5 / beta), d - 0.5 * beta), reduction);
    }

    /// <summary>0.5·d² where |d| &lt; δ, δ(|d| - 0.5δ) elsewhere.</summary>
    public static Tensor HuberLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double delta = 1.0)
    {
        SameShape("HuberLoss", input, target);
        var d = (input - target).Abs();
        return Reduce(Tensor.Where(d < delta, d.Square() * 0.5, (d - 0.5 * delta) * delta), reduction);
    }

    /// <summary>-w[y·log x + (1 - y)·log(1 - x)] on probabilities, each log clamped at -100 as PyTorch does.</summary>
    public static Tensor BinaryCrossEntropy(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean)
    {
        SameShape("BinaryCrossEntropy", input, target);
        var loss = Functions.Ops.BinaryCrossEntropy(input, target);
        if (weight is not null) loss = loss * weight;
        return Reduce(loss, reduction);
    }

    /// <summary>
    /// Sigmoid and binary cross-entropy in one stable formula:
    /// (1 - y)·x + (1 + (p - 1)·y)·(log(1 + e^-|x|) + max(-x, 0)), with p the positive weight.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor? weight = null, Tensor? posWeight = null, Reduction reduction = Reduction.Mean)
    {
        SameShape("BinaryCrossEntropyWithLogits", input, target);
        // log(1 + e^-x) as Softplus's stable max(z, 0) + log1p(e^-|z|), with no linear threshold so its
        // value is exactly that formula. As one node its gradient is -σ(-x) everywhere; composed from
        // Abs and Relu it would be 0 at x = 0 (both have subgradient 0 there), not -1/2.
        var softplusNeg = Functional.Softplus(-input, threshold: double.PositiveInfinity);
        var logWeight = posWeight is null ? null : (posWeight - 1.0) * target + 1.0;
        var loss = (1.0 - target) * input + (logWeight is null ? softplusNeg : logWeight * softplusNeg);
        if (weight is not null) loss = loss * weight;
        return Reduce(loss, reduction);
    }

    /// <summary>
    /// Negative log-likelihood of log-probabilities [N, C] (or [N, C, d...]) at class indices,
    /// with optional class weights; ignored targets contribute nothing, and the mean divides by
    /// the total weight of the targets counted.
    /// </summary>
    public static Tensor NllLoss(Tensor input, Tensor target, Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean)
    {
        var (picked, w) = PickTargets("NllLoss", input, target, weight, ignoreIndex);
        var loss = -picked * w;
        return reduction switch
        {
            Reduction.None => loss,
            Reduction.Sum => loss.Sum(),
            _ => loss.Sum() / w.Sum(),
        };
    }

    // The log-probability at each target and the weight of each target (0 where ignored).
    static (Tensor Picked, Tensor Weight) PickTargets(string op, Tensor input, Tensor target, Tensor? weight, int ignoreIndex)
    {
        if (!target.DType.IsInteger())
            throw new ArgumentException($"{op}: expected class indices of dtype Int64, got {target.DType} (use class probabilities with CrossEntropy)");
        bool batched = input.NDim >= 2;
        var x = batched ? input : input.Unsqueeze(0);
        var t = batched ? target : target.Unsqueeze(0);
        int classes = x.Shape[1];
        var expected = x.Shape.Where((_, d) => d != 1).ToArray();
        if (!t.Shape.SequenceEqual(expected))
            throw new ArgumentException($"{op}: expected target of shape {ShapeMath.Format(expected)} for input of shape {ShapeMath.Format(input.Shape.ToArray())}, got {ShapeMath.Format(target.Shape.ToArray())}");
        var ignored = t == (double)ignoreIndex;
        var safe = Tensor.Where(ignored, Tensor.ZerosLike(t), t);
        var ids = safe.ToArray<long>();
        foreach (var id in ids)
            if (id < 0 || id >= classes) throw new ArgumentOutOfRangeException(nameof(target), $"{op}: target {id} is out of bounds for {classes} classes");
        var picked = x.Gather(1, safe.Unsqueeze(1)).Squeeze(1);
        var w = weight is null ? Tensor.OnesLike(picked) : weight.To(x.DType).IndexSelect(0, safe.Reshape(-1)).Reshape(safe.Shape.ToArray());
        w = Tensor.Where(ignored, Tensor.ZerosLike(w), w);
        return batched ? (picked, w) : (picked.Squeeze(0), w.Squeeze(0));
    }

    /// <summary>
    /// Cross-entropy of logits [N, C] (or [N, C, d...], or [C]) against class indices or class
    /// probabilities, with class weights, an ignored index and label smoothing, as torch.nn.functional.cross_entropy.
    /// </summary>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Tensor? weight = null, int ignoreIndex = -100,
        Reduction reduction = Reduction.Mean, double labelSmoothing = 0)
    {
        if (labelSmoothing < 0 || labelSmoothing > 1)
            throw new ArgumentException($"CrossEntropy: label smoothing must be between 0.0 and 1.0, got {labelSmoothing}");
        if (weight is null && labelSmoothing == 0 && Functions.CrossEntropyRows.Serves(input, target))
        {
            // The common case as one node (no log-probabilities stored); the rest below in tensor operations.
            var losses = new Functions.CrossEntropyRows(target, ignoreIndex).Apply(input);
            return reduction switch
            {
                Reduction.None => losses,
                Reduction.Sum => losses.Sum(),
                _ => losses.Sum() / (target != (double)ignoreIndex).Sum().To(input.DType),
            };
        }
        int classDim = input.NDim >= 2 ? 1 : 0;
        var logp = input.LogSoftmax(classDim);
        int classes = input.Shape[classDim];
        // Class weights broadcast along the class dim.
        var wShape = Enumerable.Repeat(1, input.NDim).ToArray();
        wShape[classDim] = classes;
        var wb = weight?.To(input.DType).Reshape(wShape);

        if (target.DType.IsFloatingPoint())
        {
            SameShape("CrossEntropy", input, target);
            var p = labelSmoothing > 0 ? target * (1 - labelSmoothing) + labelSmoothing / classes : target;
            var terms = logp * p;
            if (wb is not null) terms = terms * wb;
            var perSample = -terms.Sum(classDim);
            return reduction switch
            {
                Reduction.None => perSample,
                Reduction.Sum => perSample.Sum(),
                _ => perSample.Sum() / (input.NDim >= 2 ? input.Numel / classes : 1),
            };
        }

        var (picked, w) = PickTargets("CrossEntropy", logp, target, weight, ignoreIndex);
        var nll = -picked * w;
        if (labelSmoothing == 0)
            return reduction switch { Reduction.None => nll, Reduction.Sum => nll.Sum(), _ => nll.Sum() / w.Sum() };

        // Smoothing: mix in the mean negative log-probability over classes, weighted per class.
        var smooth = -(wb is null ? logp : logp * wb).Sum(classDim);
        smooth = Tensor.Where(target == (double)ignoreIndex, Tensor.ZerosLike(smooth), smooth);
        Tensor nllR, smoothR;
        switch (reduction)
        {
            case Reduction.None: nllR = nll; smoothR = smooth; break;
            case Reduction.Sum: nllR = nll.Sum(); smoothR = smooth.Sum(); break;
            default:
                var total = w.Sum();
                nllR = nll.Sum() / total;
                smoothR = smooth.Sum() / total;
                break;
        }
        return nllR * (1 - labelSmoothing) + smoothR * (labelSmoothing / classes);
    }

    /// <summary>
    /// Kullback–Leibler divergence with input as log-probabilities: target·(log target - input)
    /// (or e^t·(t - input) when the target is given as logs). "BatchMean" divides the sum by the batch size.
    /// </summary>
    public static Tensor KlDiv(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool batchMean = false, bool logTarget = false)
    {
        // xlogy(t, t) - t·input, where xlogy is 0 at t = 0 (PyTorch's convention).
        var positive = target > 0.0;
        var tLogT = Tensor.Where(positive, target * Tensor.Where(positive, target, Tensor.OnesLike(target)).Log(), Tensor.ZerosLike(target));
        var loss = logTarget ? target.Exp() * (target - input) : tLogT - target * input;
        if (batchMean) return loss.Sum() / (input.NDim == 0 ? 1 : input.Shape[0]);
        return Reduce(loss, reduction);
    }
}
