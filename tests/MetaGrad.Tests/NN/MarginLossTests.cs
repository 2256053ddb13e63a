using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>
/// The margin, embedding and likelihood losses: values worked by hand from PyTorch's formulas,
/// finite differences in float64, shape checks that name the loss, and the modules.
/// </summary>
public class MarginLossTests
{
    static Tensor D(double[] values, params int[] shape) => Tensor.From(values, shape);

    [Fact]
    public void MarginRanking_IsTheHingeOfTheSignedDifference()
    {
        var x1 = D([1, 2, 0.5], 3);
        var x2 = D([0, 3, 0.5], 3);
        var y = D([1, 1, -1], 3);
        // max(0, -y(x1 - x2) + 0.5): -1 + 0.5 → 0, 1 + 0.5, 0 + 0.5.
        Check.Values([0, 1.5, 0.5], Losses.MarginRankingLoss(x1, x2, y, 0.5, Reduction.None));
        Check.Values([2.0 / 3], Losses.MarginRankingLoss(x1, x2, y, 0.5));
        var e = Assert.Throws<ArgumentException>(() => Losses.MarginRankingLoss(x1, x2, D([1], 1, 1)));
        Assert.Contains("MarginRankingLoss", e.Message);
    }

    [Fact]
    public void HingeEmbedding_TakesXForPositivesAndTheMarginHingeForNegatives()
    {
        var x = D([0.3, 0.3, 2, -1], 4);
        var y = D([1, -1, -1, 1], 4);
        Check.Values([0.3, 0.7, 0, -1], Losses.HingeEmbeddingLoss(x, y, reduction: Reduction.None));
    }

    [Fact]
    public void SoftMargin_IsFiniteWhereTheNaiveFormulaOverflows()
    {
        var x = D([0, 2, -1000], 3);
        var y = D([1, -1, 1], 3);
        Check.Values([Math.Log(2), Math.Log(1 + Math.Exp(2)), 1000], Losses.SoftMarginLoss(x, y, Reduction.None));
    }

    [Fact]
    public void CosineEmbedding_UsesOneMinusCosOrTheMarginHinge()
    {
        var a = D([1, 0, 1, 1], 2, 2);
        var b = D([1, 1, -1, 1], 2, 2);
        // cos = 1/√2 for the first row, 0 for the second.
        var loss = Losses.CosineEmbeddingLoss(a, b, D([1, -1], 2), margin: -0.5, reduction: Reduction.None);
        Check.Values([1 - 1 / Math.Sqrt(2), 0.5], loss, 1e-11);
        Assert.Throws<ArgumentException>(() => Losses.CosineEmbeddingLoss(a, b, D([1], 1, 1)));
        var e = Assert.Throws<ArgumentException>(() => Losses.CosineEmbeddingLoss(a, b, Tensor.Scalar(1.0, DType.Float64)));
        Assert.Contains("CosineEmbeddingLoss", e.Message);
    }

    [Fact]
    public void TripletMargin_ComparesTheTwoDistancesAndSwaps()
    {
        var anchor = D([0, 0], 1, 2);
        var positive = D([3, 4], 1, 2);
        var negative = D([3, 0], 1, 2);
        double dp = Math.Sqrt(Math.Pow(-3 + 1e-6, 2) + Math.Pow(-4 + 1e-6, 2)), dn = Math.Sqrt(Math.Pow(-3 + 1e-6, 2) + 1e-12);
        Check.Values([1 + dp - dn], Losses.TripletMarginLoss(anchor, positive, negative), 1e-11);
        // d(p, n) = 4 is larger than d(a, n) = 3: the swap keeps d(a, n).
        Check.Values([1 + dp - dn], Losses.TripletMarginLoss(anchor, positive, negative, swap: true), 1e-11);
        Assert.Throws<ArgumentException>(() => Losses.TripletMarginLoss(anchor, positive, D([1, 2], 2)));
    }

    [Fact]
    public void GaussianNll_ClampsTheVarianceButLetsItsGradientThrough()
    {
        var input = D([1, 2], 2);
        var target = D([0, 2], 2);
        var var = D([0.5, 0], 2).RequiresGrad_();
        var loss = Losses.GaussianNllLoss(input, target, var, full: true, eps: 1e-3, reduction: Reduction.None);
        double c = 0.5 * Math.Log(2 * Math.PI);
        Check.Values([0.5 * (Math.Log(0.5) + 1 / 0.5) + c, 0.5 * Math.Log(1e-3) + c], loss);
        loss.Sum().Backward();
        // d/dv ½(log v + d²/v) = ½(1/v - d²/v²), at the clamped value 1e-3 for the second.
        Check.Values([0.5 * (2 - 4), 0.5 / 1e-3], var.Grad!);
        Check.Shape([3, 2], Losses.GaussianNllLoss(Tensor.Zeros([3, 2]), Tensor.Zeros([3, 2]), Tensor.Ones([3]), reduction: Reduction.None));
        Assert.Throws<ArgumentException>(() => Losses.GaussianNllLoss(Tensor.Zeros([3, 2]), Tensor.Zeros([3, 2]), Tensor.Ones([2])));
        var e = Assert.Throws<ArgumentException>(() => Losses.GaussianNllLoss(input, target, D([1, -1], 2)));
        Assert.Contains("negative", e.Message);
    }

    [Fact]
    public void PoissonNll_AddsStirlingOnlyAboveOne()
    {
        var input = D([0, 1], 2);
        var target = D([1, 3], 2);
        Check.Values([1, Math.E - 3], Losses.PoissonNllLoss(input, target, reduction: Reduction.None));
        double stirling = 3 * Math.Log(3) - 3 + 0.5 * Math.Log(2 * Math.PI * 3);
        Check.Values([1, Math.E - 3 + stirling], Losses.PoissonNllLoss(input, target, full: true, reduction: Reduction.None));
        Check.Values([2 - 3 * Math.Log(2 + 1e-8)], Losses.PoissonNllLoss(D([2], 1), D([3], 1), logInput: false));
    }

    [Fact]
    public void MultiMargin_SumsTheOtherClassesHingesOverTheClassCount()
    {
        var x = D([0.1, 0.2, 0.4, 0.8], 1, 4);
        var y = Tensor.From(new long[] { 3 }, [1]);
        // The doc's example: (max(0, 1 - 0.8 + 0.1) + max(0, 1 - 0.8 + 0.2) + max(0, 1 - 0.8 + 0.4)) / 4.
        Check.Values([(0.3 + 0.4 + 0.6) / 4], Losses.MultiMarginLoss(x, y), 1e-12);
        var w = D([1, 1, 1, 2], 4);
        Check.Values([(0.09 + 0.16 + 0.36) * 2 / 4], Losses.MultiMarginLoss(x, y, p: 2, weight: w), 1e-12);
        Assert.Throws<ArgumentException>(() => Losses.MultiMarginLoss(x, y, p: 3));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Losses.MultiMarginLoss(x, Tensor.From(new long[] { 4 }, [1])));
        Assert.Contains("MultiMarginLoss", e.Message);
        Check.Shape([], Losses.MultiMarginLoss(D([1, 2, 3], 3), Tensor.From(1L), reduction: Reduction.None));
    }

    [Fact]
    public void MultilabelMargin_PairsEveryTargetWithEveryNonTarget()
    {
        // PyTorch's documented example: targets 3 and 0 (ended by -1) against classes 1 and 2.
        var x = D([0.1, 0.2, 0.4, 0.8], 1, 4);
        var y = Tensor.From(new long[] { 3, 0, -1, 1 }, [1, 4]);
        double expected = ((1 - (0.1 - 0.2)) + (1 - (0.1 - 0.4)) + (1 - (0.8 - 0.2)) + (1 - (0.8 - 0.4))) / 4;
        Check.Values([expected], Losses.MultilabelMarginLoss(x, y), 1e-12);
        Check.Shape([], Losses.MultilabelMarginLoss(D([0.1, 0.2, 0.4, 0.8], 4), Tensor.From(new long[] { 3, 0, -1, 1 }, [4]), Reduction.None));
        var e = Assert.Throws<ArgumentException>(() => Losses.MultilabelMarginLoss(x, Tensor.From(new long[] { 3, 0 }, [1, 2])));
        Assert.Contains("MultilabelMarginLoss", e.Message);
    }

    [Fact]
    public void MultilabelSoftMargin_AveragesTheLogisticLossesOverClasses()
    {
        var x = D([0, 2], 1, 2);
        var y = D([1, 0], 1, 2);
        Check.Values([(Math.Log(2) + Math.Log(1 + Math.Exp(2))) / 2], Losses.MultilabelSoftMarginLoss(x, y), 1e-12);
    }

    [Fact]
    public void Gradients_MatchFiniteDifferences()
    {
        var a = Check.Input([3, 4], 1);
        var b = Check.Input([3, 4], 2);
        var c = Check.Input([3, 4], 3);
        var signs = Tensor.From(new[] { 1.0, -1, -1, 1, 1, -1, 1, -1, 1, 1, -1, -1 }, [3, 4]);
        var rowSigns = Tensor.From(new[] { 1.0, -1, 1 }, [3]);
        Check.Gradients(x => Losses.MarginRankingLoss(x[0], x[1], signs, 0.3), a, b);
        Check.Gradients(x => Losses.HingeEmbeddingLoss(x[0], signs, 0.5), a);
        Check.Gradients(x => Losses.SoftMarginLoss(x[0], signs), a);
        Check.Gradients(x => Losses.CosineEmbeddingLoss(x[0], x[1], rowSigns, 0.1), a, b);
        Check.Gradients(x => Losses.TripletMarginLoss(x[0], x[1], x[2], p: 2), a, b, c);
        Check.Gradients(x => Losses.TripletMarginLoss(x[0], x[1], x[2], p: 3, swap: true), a, b, c);
        var variance = (Check.Input([3, 4], 4).Detach().Abs() + 0.2).RequiresGrad_();
        Check.Gradients(x => Losses.GaussianNllLoss(x[0], x[1], x[2], full: true), a, b, variance);
        Check.Gradients(x => Losses.PoissonNllLoss(x[0], (signs + 1.0) * 1.5, full: true), a);
        Check.Gradients(x => Losses.PoissonNllLoss(x[0], (signs + 1.0) * 1.5, logInput: false), variance);
        Check.Gradients(x => Losses.MultilabelSoftMarginLoss(x[0], (signs + 1.0) * 0.5, Tensor.From(new[] { 1, 2, 0.5, 1 }, [4])), a);
        var classes = Tensor.From(new long[] { 2, 0, 3 }, [3]);
        Check.Gradients(x => Losses.MultiMarginLoss(x[0], classes, 2, 0.8, Tensor.From(new[] { 1, 2, 0.5, 1 }, [4])), a);
        Check.Gradients(x => Losses.MultilabelMarginLoss(x[0], Tensor.From(new long[] { 1, 3, -1, 0, 2, 2, 0, -1, 0, 1, 2, 3 }, [3, 4])), a);
    }

    [Fact]
    public void Modules_CallTheirFunctions()
    {
        var a = Check.Input([3, 4], 1).Detach();
        var b = Check.Input([3, 4], 2).Detach();
        var c = Check.Input([3, 4], 3).Detach();
        var rowSigns = Tensor.From(new[] { 1.0, -1, 1 }, [3]);
        Check.Values(Losses.MarginRankingLoss(a, b, a.Sign(), 0.2, Reduction.Sum).ToArray<double>(), new MarginRankingLoss(0.2, Reduction.Sum).Forward(a, b, a.Sign()));
        Check.Values(Losses.CosineEmbeddingLoss(a, b, rowSigns, 0.1).ToArray<double>(), new CosineEmbeddingLoss(0.1).Forward(a, b, rowSigns));
        Check.Values(Losses.TripletMarginLoss(a, b, c, 0.5, 1, swap: true).ToArray<double>(), new TripletMarginLoss(0.5, 1, swap: true).Forward(a, b, c));
        Check.Values(Losses.GaussianNllLoss(a, b, c.Abs(), true).ToArray<double>(), new GaussianNLLLoss(full: true).Forward(a, b, c.Abs()));
        Check.Values(Losses.HingeEmbeddingLoss(a, b.Sign(), 2).ToArray<double>(), new HingeEmbeddingLoss(2).Forward(a, b.Sign()));
        Check.Values(Losses.SoftMarginLoss(a, b.Sign()).ToArray<double>(), new SoftMarginLoss().Forward(a, b.Sign()));
        Check.Values(Losses.PoissonNllLoss(a, c.Abs(), full: true).ToArray<double>(), new PoissonNLLLoss(full: true).Forward(a, c.Abs()));
        Check.Values(Losses.MultilabelSoftMarginLoss(a, b.Sign().Relu()).ToArray<double>(), new MultiLabelSoftMarginLoss().Forward(a, b.Sign().Relu()));
        var classes = Tensor.From(new long[] { 2, 0, 3 }, [3]);
        Check.Values(Losses.MultiMarginLoss(a, classes, 2).ToArray<double>(), new MultiMarginLoss(2).Forward(a, classes));
        var labels = Tensor.From(new long[] { 1, 3, -1, 0, 2, 2, 0, -1, 0, 1, 2, 3 }, [3, 4]);
        Check.Values(Losses.MultilabelMarginLoss(a, labels).ToArray<double>(), new MultiLabelMarginLoss().Forward(a, labels));
    }
}
