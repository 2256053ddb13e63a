using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>CTC loss: alignments counted by hand, finite-difference gradients, and the inputs it refuses.</summary>
public class CtcLossTests
{
    [Fact]
    public void TwoSteps_SumTheThreeAlignmentsOfOneLabel()
    {
        // Probabilities per step over (blank, a): the alignments of "a" in two steps are a-, -a, aa.
        var p = Tensor.From(new double[] { 0.6, 0.4, 0.3, 0.7 }, [2, 1, 2]);
        var loss = Losses.CtcLoss(p.Log(), Tensor.From(new long[] { 1 }, [1, 1]), Tensor.From(new long[] { 2 }, [1]),
            Tensor.From(new long[] { 1 }, [1]), reduction: Reduction.Sum);
        Assert.Equal(-Math.Log(0.4 * 0.3 + 0.6 * 0.7 + 0.4 * 0.7), loss.Item(), 12);
        // "aa" needs a blank between: three steps, one alignment (a, -, a).
        var q = Tensor.From(new double[] { 0.5, 0.5, 0.9, 0.1, 0.2, 0.8 }, [3, 1, 2]);
        var repeated = Losses.CtcLoss(q.Log(), Tensor.From(new long[] { 1, 1 }, [1, 2]), Tensor.From(new long[] { 3 }, [1]),
            Tensor.From(new long[] { 2 }, [1]), reduction: Reduction.Sum);
        Assert.Equal(-Math.Log(0.5 * 0.9 * 0.8), repeated.Item(), 12);
    }

    [Fact]
    public void Gradient_MatchesFiniteDifferences_AndImpossibleTargetsCostInfinity()
    {
        var targets = Tensor.From(new long[] { 1, 2, 2, 3, 1, 0 }, [2, 3]);
        var inputLengths = Tensor.From(new long[] { 5, 4 }, [2]);
        var targetLengths = Tensor.From(new long[] { 3, 2 }, [2]);
        Check.Gradients(x => Losses.CtcLoss(x[0].LogSoftmax(2), targets, inputLengths, targetLengths, reduction: Reduction.None),
            Check.Input([5, 2, 4], 1));
        var tooShort = Losses.CtcLoss(Tensor.Zeros([2, 1, 3], DType.Float64), Tensor.From(new long[] { 1, 1 }, [1, 2]),
            Tensor.From(new long[] { 2 }, [1]), Tensor.From(new long[] { 2 }, [1]), reduction: Reduction.None);
        Assert.Equal(double.PositiveInfinity, tooShort.Item());
    }

    [Fact]
    public void BadInputs_AreRefusedWithTheirReason()
    {
        var lp = Tensor.Zeros([3, 1, 4]);
        var one = Tensor.From(new long[] { 1 }, [1]);
        Assert.Contains("other than the blank", Assert.Throws<ArgumentException>(() => Losses.CtcLoss(lp, Tensor.From(new long[] { 0 }, [1, 1]), one, one)).Message);
        Assert.Contains("input length 5", Assert.Throws<ArgumentException>(() => Losses.CtcLoss(lp, Tensor.From(new long[] { 1 }, [1, 1]), Tensor.From(new long[] { 5 }, [1]), one)).Message);
        Assert.Contains("[T, N, C]", Assert.Throws<ArgumentException>(() => Losses.CtcLoss(Tensor.Zeros(3), one, one, one)).Message);
    }
}
