namespace MetaGrad.NN;

// The margin and embedding losses of torch.nn.functional, each composed from differentiable
// operations in the order libtorch evaluates it (so float32 rounds alike), with libtorch's shape
// checks. Hinges are Relu or Clamp(min: 0) as libtorch uses relu-like (z > 0) or clamp_min (z ≥ 0)
// gradients: clamp_min passes the gradient at the hinge, a strict z > 0 test does not.
public static partial class Losses
{
    static string Shape(Tensor t) => ShapeMath.Format(t.Shape.ToArray());

    /// <summary>
    /// max(0, -y·(x1 - x2) + margin), with y = 1 when x1 should rank higher and -1 when x2 should
    /// (torch.nn.functional.margin_ranking_loss). The three tensors must have the same number of dims and broadcast.
    /// </summary>
    public static Tensor MarginRankingLoss(Tensor input1, Tensor input2, Tensor target, double margin = 0, Reduction reduction = Reduction.Mean)
    {
        if (input1.NDim != input2.NDim || input1.NDim != target.NDim)
            throw new ArgumentException($"MarginRankingLoss: all input tensors should have the same number of dims, but got input1 {Shape(input1)}, input2 {Shape(input2)} and target {Shape(target)}");
        return Reduce((-target * (input1 - input2) + margin).Clamp(min: 0), reduction);
    }

    /// <summary>
    /// x where y = 1, max(0, margin - x) where y = -1 (torch.nn.functional.hinge_embedding_loss); an
    /// entry of y that is neither contributes its part of both terms, as in libtorch.
    /// </summary>
    public static Tensor HingeEmbeddingLoss(Tensor input, Tensor target, double margin = 1.0, Reduction reduction = Reduction.Mean)
    {
        var zeros = Tensor.ZerosLike(input);
        var marginPart = Tensor.Where(target != 1.0, (margin - input).Clamp(min: 0), zeros);
        var selfPart = Tensor.Where(target != -1.0, input, zeros);
        return Reduce(marginPart + selfPart, reduction);
    }

    /// <summary>
    /// log(1 + e^(-y·x)) for labels y = ±1 (torch.nn.functional.soft_margin_loss), in softplus's
    /// stable form: equal to libtorch's log1p(exp(-y·x)) where that is finite, and finite where its exp overflows.
    /// </summary>
    public static Tensor SoftMarginLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        Reduce(Functional.Softplus(-input * target, threshold: double.PositiveInfinity), reduction);

    /// <summary>
    /// 1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1, per row of [N, D]
    /// inputs with a [N] target, or for [D] inputs with a 0-d target (torch.nn.functional.cosine_embedding_loss).
    /// Each squared norm gets 1e-12 before the root, as in libtorch.
    /// </summary>
    public static Tensor CosineEmbeddingLoss(Tensor input1, Tensor input2, Tensor target, double margin = 0, Reduction reduction = Reduction.Mean)
    {
        int dim = target.NDim;
        if (dim > 1) throw new ArgumentException($"CosineEmbeddingLoss: 0-d or 1-d target tensor expected (multi-target is not supported), got {Shape(target)}");
        if (input1.NDim != dim + 1 || input2.NDim != dim + 1)
            throw new ArgumentException($"CosineEmbeddingLoss: a {dim}-d target expects {dim + 1}-d input tensors, but found inputs of shapes {Shape(input1)} and {Shape(input2)}");
        const double Epsilon = 1e-12;
        var prodSum = (input1 * input2).Sum(dim);
        var magSquare1 = (input1 * input1).Sum(dim) + Epsilon;
        var magSquare2 = (input2 * input2).Sum(dim) + Epsilon;
        var cos = prodSum / (magSquare1 * magSquare2).Sqrt();
        var zeros = Tensor.ZerosLike(cos);
        var positive = Tensor.Where(target == 1.0, 1.0 - cos, zeros);
        var negative = Tensor.Where(target == -1.0, (cos - margin).Clamp(min: 0), zeros);
        return Reduce(positive + negative, reduction);
    }

    /// <summary>‖x1 - x2 + eps‖_p over the last dim (torch.nn.functional.pairwise_distance).</summary>
    public static Tensor PairwiseDistance(Tensor x1, Tensor x2, double p = 2, double eps = 1e-6, bool keepDim = false) =>
        (x1 - x2 + eps).Norm(p, Math.Max(Math.Max(x1.NDim, x2.NDim) - 1, 0), keepDim);

    /// <summary>
    /// max(0, margin + d(a, p) - d(a, n)) with d the pairwise p-norm distance over the last dim; with
    /// <paramref name="swap"/>, d(a, n) is replaced by min(d(a, n), d(p, n)) (torch.nn.functional.triplet_margin_loss).
    /// </summary>
    public static Tensor TripletMarginLoss(Tensor anchor, Tensor positive, Tensor negative, double margin = 1.0, double p = 2, double eps = 1e-6,
        bool swap = false, Reduction reduction = Reduction.Mean)
    {
        if (anchor.NDim != positive.NDim || anchor.NDim != negative.NDim)
            throw new ArgumentException($"TripletMarginLoss: the anchor, positive and negative tensors are expected to have the same number of dims, but got anchor {Shape(anchor)}, positive {Shape(positive)} and negative {Shape(negative)}");
        var distPos = PairwiseDistance(anchor, positive, p, eps);
        var distNeg = PairwiseDistance(anchor, negative, p, eps);
        if (swap) distNeg = distNeg.Minimum(PairwiseDistance(positive, negative, p, eps));
        return Reduce((distPos - distNeg + margin).Clamp(min: 0), reduction);
    }

    /// <summary>
    /// -[y·log σ(x) + (1 - y)·log σ(-x)], times the class weights, averaged over the classes (the last
    /// dim) of each sample (torch.nn.functional.multilabel_soft_margin_loss).
    /// </summary>
    public static Tensor MultilabelSoftMarginLoss(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean)
    {
        if (input.NDim == 0) throw new ArgumentException("MultilabelSoftMarginLoss: expected an input with a class dim, got a 0-d tensor");
        var loss = -(target * Functional.LogSigmoid(input) + (1.0 - target) * Functional.LogSigmoid(-input));
        if (weight is not null) loss = loss * weight;
        int classDim = input.NDim - 1;
        return Reduce(loss.Sum(classDim) / input.Shape[classDim], reduction);
    }

    // [C] or [N, C] scores with one target per sample, as [N, C]; libtorch's checks and messages.
    static (Tensor X, int Frames, int Classes) Frames(string op, Tensor input)
    {
        bool ok = input.NDim == 0 || (input.NDim == 1 && input.Shape[0] != 0) || (input.NDim == 2 && input.Shape[1] != 0);
        if (!ok) throw new ArgumentException($"{op}: expected a non-empty vector or matrix with an optional 0-dim batch size, but got {Shape(input)}");
        int frames = input.NDim <= 1 ? 1 : input.Shape[0];
        int classes = input.NDim == 0 ? 1 : input.Shape[^1];
        return (input.Reshape(frames, classes), frames, classes);
    }

    /// <summary>
    /// The multi-class hinge: for each sample, Σ over classes i ≠ y of w[y]·max(0, margin - x[y] + x[i])^p,
    /// divided by the number of classes (torch.nn.functional.multi_margin_loss; p is 1 or 2, and
    /// the weight multiplies after the power, as libtorch computes it). Input [C] or [N, C], target 0-d/[1] or [N].
    /// </summary>
    public static Tensor MultiMarginLoss(Tensor input, Tensor target, int p = 1, double margin = 1, Tensor? weight = null, Reduction reduction = Reduction.Mean)
    {
        const string op = "MultiMarginLoss";
        if (p != 1 && p != 2) throw new ArgumentException($"{op}: only p == 1 and p == 2 are supported, got {p}");
        if (!target.DType.IsInteger()) throw new ArgumentException($"{op}: expected class indices of dtype Int64, got {target.DType}");
        var (x, frames, classes) = Frames(op, input);
        if (target.NDim > 1 || target.Numel != frames)
            throw new ArgumentException($"{op}: inconsistent target size, expected {frames} but got {Shape(target)}");
        if (weight is not null && (weight.NDim > 1 || weight.Numel != classes))
            throw new ArgumentException($"{op}: inconsistent weight size, expected {classes} but got {Shape(weight)}");
        var t = target.Reshape(frames).To(DType.Int64);
        foreach (var id in t.ToArray<long>())
            if (id < 0 || id >= classes) throw new ArgumentOutOfRangeException(nameof(target), $"{op}: target {id} is out of range for {classes} classes");

        var atTarget = x.Gather(1, t.Unsqueeze(1));
        // libtorch counts a class only where z > 0: Relu's gradient (0 at the hinge), not clamp_min's.
        var z = ((margin - atTarget) + x).Relu();
        var h = p == 1 ? z : z * z;
        if (weight is not null) h = h * weight.To(x.DType).Reshape(classes).IndexSelect(0, t).Unsqueeze(1);
        var others = Tensor.Arange(classes) != t.Unsqueeze(1);
        var loss = Tensor.Where(others, h, Tensor.ZerosLike(h)).Sum(1) / classes;
        if (reduction == Reduction.None) return target.NDim == 0 ? loss.Reshape([]) : loss;
        return Reduce(loss, reduction);
    }

    /// <summary>
    /// The multi-label hinge: for each sample, Σ over its target classes j and every non-target
    /// class i of max(0, 1 - (x[j] - x[i])), divided by the number of classes
    /// (torch.nn.functional.multilabel_margin_loss). The target has the input's shape and lists the
    /// target classes first, ended by the first -1; a class listed twice counts twice, as in libtorch.
    /// </summary>
    public static Tensor MultilabelMarginLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        const string op = "MultilabelMarginLoss";
        if (!target.DType.IsInteger()) throw new ArgumentException($"{op}: expected class indices of dtype Int64, got {target.DType}");
        var (x, frames, classes) = Frames(op, input);
        bool fits = input.NDim <= 1 ? target.NDim <= 1 && target.Numel == classes : target.Shape.SequenceEqual(input.Shape);
        if (!fits) throw new ArgumentException($"{op}: inconsistent target size {Shape(target)} for input of size {Shape(input)}");

        // The target lists are data, not differentiated: read them once into how often each class is
        // a target (j) and whether it is one at all (i excluded).
        var ids = target.To(DType.Int64).ToArray<long>();
        var count = new double[frames * classes];
        var other = new double[frames * classes];
        for (int n = 0; n < frames; n++)
        {
            Array.Fill(other, 1.0, n * classes, classes);
            for (int k = 0; k < classes; k++)
            {
                long id = ids[n * classes + k];
                if (id == -1) break;
                if (id < -1 || id >= classes) throw new ArgumentOutOfRangeException(nameof(target), $"{op}: target {id} is out of range for {classes} classes");
                count[n * classes + id]++;
                other[n * classes + id] = 0;
            }
        }
        var pairs = Tensor.From(count, [frames, classes, 1]).To(x.DType) * Tensor.From(other, [frames, 1, classes]).To(x.DType);
        // [n, j, i] = max(0, 1 - x[n, j] + x[n, i]), counted only for target j and non-target i.
        var hinge = ((1.0 - x.Unsqueeze(2)) + x.Unsqueeze(1)).Relu();
        var loss = (hinge * pairs).Sum([1, 2]) / classes;
        if (reduction == Reduction.None) return input.NDim <= 1 ? loss.Reshape([]) : loss;
        return Reduce(loss, reduction);
    }
}
