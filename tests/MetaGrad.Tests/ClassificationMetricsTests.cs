namespace MetaGrad.Tests;

/// <summary>Accuracy, top-k accuracy, the confusion matrix, precision/recall/F1 and perplexity, on counts worked by hand.</summary>
public class ClassificationMetricsTests
{
    // Truth 0 0 1 1 2 2 2, predicted 0 1 1 1 2 0 2.
    static readonly Tensor Truth = Tensor.From(new long[] { 0, 0, 1, 1, 2, 2, 2 }, [7]);
    static readonly Tensor Predicted = Tensor.From(new long[] { 0, 1, 1, 1, 2, 0, 2 }, [7]);

    [Fact]
    public void Accuracy_FromIndicesOrScores()
    {
        Assert.Equal(5 / 7.0, Metrics.Accuracy(Predicted, Truth), 15);
        var scores = Tensor.From(new float[,] { { 2, 1, 0 }, { 0, 3, 1 } });   // arg-max 0, 1
        Assert.Equal(0.5, Metrics.Accuracy(scores, Tensor.From(new long[] { 0, 2 }, [2])));
        Assert.Contains("class indices", Assert.Throws<ArgumentException>(() => Metrics.Accuracy(Tensor.Ones(3), Truth)).Message);
    }

    [Fact]
    public void TopKAccuracy_CountsTargetsAmongTheLargestScores()
    {
        var scores = Tensor.From(new float[,] { { 0.1f, 0.5f, 0.4f }, { 0.7f, 0.2f, 0.1f }, { 0.3f, 0.2f, 0.5f } });
        var targets = Tensor.From(new long[] { 2, 2, 0 }, [3]);
        Assert.Equal(0.0, Metrics.TopKAccuracy(scores, targets, 1));
        Assert.Equal(2 / 3.0, Metrics.TopKAccuracy(scores, targets, 2), 15);   // row 2's target is its smallest score
        Assert.Equal(1.0, Metrics.TopKAccuracy(scores, targets, 3));
        Assert.Throws<ArgumentException>(() => Metrics.TopKAccuracy(scores, targets, 4));
    }

    [Fact]
    public void ConfusionMatrix_RowsAreTheTruth()
    {
        var m = Metrics.ConfusionMatrix(Predicted, Truth, 3);
        Assert.Equal(DType.Int64, m.DType);
        Assert.Equal([1L, 1, 0, 0, 2, 0, 1, 0, 2], m.ToArray<long>());
        Assert.Contains("[0, 2)", Assert.Throws<ArgumentException>(() => Metrics.ConfusionMatrix(Predicted, Truth, 2)).Message);
    }

    [Fact]
    public void PrecisionRecallF1_MacroAndMicro()
    {
        // Per class: precision 1/2, 2/3, 2/2; recall 1/2, 2/2, 2/3; F1 1/2, 4/5, 4/5.
        var macro = Metrics.PrecisionRecallF1(Predicted, Truth, 3);
        Assert.Equal((0.5 + 2 / 3.0 + 1) / 3, macro.Precision, 15);
        Assert.Equal((0.5 + 1 + 2 / 3.0) / 3, macro.Recall, 15);
        Assert.Equal((0.5 + 0.8 + 0.8) / 3, macro.F1, 15);
        var micro = Metrics.PrecisionRecallF1(Predicted, Truth, 3, Averaging.Micro);
        Assert.Equal(new ClassificationScores(5 / 7.0, 5 / 7.0, 5 / 7.0), micro);
        // A class never predicted and never present scores 0 (zero_division = 0).
        Assert.Equal((0.5 + 2 / 3.0 + 1) / 4, Metrics.PrecisionRecallF1(Predicted, Truth, 4).Precision, 15);
    }

    [Fact]
    public void Perplexity_IsTheExponentialOfTheMeanNll()
    {
        Assert.Equal(Math.Exp(2.5), Metrics.Perplexity(2.5), 12);
        Assert.Equal(10.0, Metrics.Perplexity(Tensor.From(Math.Log(10))), 12);
    }
}
