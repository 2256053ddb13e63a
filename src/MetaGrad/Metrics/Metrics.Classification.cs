namespace MetaGrad;

/// <summary>How per-class scores are combined into one (torchmetrics' and scikit-learn's <c>average</c>).</summary>
public enum Averaging
{
    /// <summary>The unweighted mean of the per-class scores: every class counts the same.</summary>
    Macro,
    /// <summary>The score of the pooled counts: every sample counts the same (for one label per sample, precision = recall = F1 = accuracy).</summary>
    Micro,
}

/// <summary>Precision, recall and F1 together.</summary>
public readonly record struct ClassificationScores(double Precision, double Recall, double F1);

public static partial class Metrics
{
    /// <summary>
    /// The fraction of samples classified right. <paramref name="predictions"/> are class indices of
    /// the targets' shape, or scores [N, C] whose largest entry per row is the prediction.
    /// </summary>
    public static double Accuracy(Tensor predictions, Tensor targets)
    {
        var predicted = Labels("Accuracy", predictions, targets);
        var truth = targets.ToArray<long>();
        return truth.Length == 0 ? double.NaN : truth.Where((t, i) => predicted[i] == t).Count() / (double)truth.Length;
    }

    /// <summary>The fraction of samples whose target is among the <paramref name="k"/> largest of their scores [N, C].</summary>
    public static double TopKAccuracy(Tensor scores, Tensor targets, int k)
    {
        if (scores.NDim != 2 || targets.NDim != 1 || scores.Size(0) != targets.Size(0))
            throw new ArgumentException($"TopKAccuracy: expected scores [N, C] and targets [N], got shapes {scores.Shape} and {targets.Shape}");
        if (k < 1 || k > scores.Size(1)) throw new ArgumentException($"TopKAccuracy: k must be in [1, {scores.Size(1)}], got {k}");
        var top = scores.TopK(k, 1).Indices.ToArray<long>();
        var truth = targets.ToArray<long>();
        int hits = 0;
        for (int i = 0; i < truth.Length; i++)
            if (top.AsSpan(i * k, k).Contains(truth[i])) hits++;
        return truth.Length == 0 ? double.NaN : hits / (double)truth.Length;
    }

    /// <summary>
    /// The confusion matrix [C, C] (Int64): entry [t, p] counts the samples of true class t
    /// predicted as p (rows are the truth, as in scikit-learn and torchmetrics).
    /// </summary>
    public static Tensor ConfusionMatrix(Tensor predictions, Tensor targets, int numClasses)
    {
        var predicted = Labels("ConfusionMatrix", predictions, targets);
        var truth = targets.ToArray<long>();
        var counts = new long[numClasses * numClasses];
        for (int i = 0; i < truth.Length; i++)
        {
            if ((ulong)truth[i] >= (ulong)numClasses || (ulong)predicted[i] >= (ulong)numClasses)
                throw new ArgumentException($"ConfusionMatrix: classes must be in [0, {numClasses}), got target {truth[i]} and prediction {predicted[i]} at sample {i}");
            counts[truth[i] * numClasses + predicted[i]]++;
        }
        return Tensor.From(counts, [numClasses, numClasses]);
    }

    /// <summary>
    /// Precision (right among those predicted as the class), recall (found among those of the
    /// class) and F1 (their harmonic mean), averaged over classes or pooled. A class never
    /// predicted has precision 0 and one never present recall 0 (scikit-learn's zero_division=0).
    /// </summary>
    public static ClassificationScores PrecisionRecallF1(Tensor predictions, Tensor targets, int numClasses, Averaging average = Averaging.Macro)
    {
        var confusion = ConfusionMatrix(predictions, targets, numClasses).ToArray<long>();
        long Cell(int t, int p) => confusion[t * numClasses + p];
        static double Ratio(double a, double b) => b == 0 ? 0 : a / b;
        static double Harmonic(double p, double r) => p + r == 0 ? 0 : 2 * p * r / (p + r);
        if (average == Averaging.Micro)
        {
            double right = Enumerable.Range(0, numClasses).Sum(c => (double)Cell(c, c)), all = confusion.Sum();
            double score = Ratio(right, all);
            return new ClassificationScores(score, score, score);
        }
        double precision = 0, recall = 0, f1 = 0;
        for (int c = 0; c < numClasses; c++)
        {
            double truePositives = Cell(c, c);
            double predictedAs = Enumerable.Range(0, numClasses).Sum(t => (double)Cell(t, c));
            double present = Enumerable.Range(0, numClasses).Sum(p => (double)Cell(c, p));
            double p = Ratio(truePositives, predictedAs), r = Ratio(truePositives, present);
            precision += p;
            recall += r;
            f1 += Harmonic(p, r);
        }
        return new ClassificationScores(precision / numClasses, recall / numClasses, f1 / numClasses);
    }

    /// <summary>Perplexity from a mean negative log-likelihood in nats (a language model's cross-entropy): e^nll.</summary>
    public static double Perplexity(double meanNegativeLogLikelihood) => Math.Exp(meanNegativeLogLikelihood);

    /// <summary>Perplexity of a mean cross-entropy loss tensor (one element).</summary>
    public static double Perplexity(Tensor meanNegativeLogLikelihood) => Math.Exp(meanNegativeLogLikelihood.Item());

    // Predicted class per sample: the indices given, or the arg-max of scores [N, C].
    static long[] Labels(string op, Tensor predictions, Tensor targets)
    {
        if (targets.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"{op}: expected targets as Int64 or Int32 class indices, got {targets.DType}");
        var labels = predictions.DType.IsFloatingPoint() && predictions.NDim == targets.NDim + 1 ? predictions.ArgMax(1) : predictions;
        if (!labels.Shape.Equals(targets.Shape) || labels.DType.IsFloatingPoint())
            throw new ArgumentException($"{op}: expected predictions as class indices of the targets' shape {targets.Shape}, or scores [N, C], got {predictions.DType} of shape {predictions.Shape}");
        return labels.ToArray<long>();
    }
}
