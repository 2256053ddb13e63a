using MetaGrad.NN;
using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests.NN;

/// <summary>Each loss against a plain double loop written from PyTorch's documented formula, plus a gradient check.</summary>
public class LossTests
{
    static readonly double[,] Logits = { { 1.0, 2.0, 0.5 }, { -1.0, 0.0, 3.0 }, { 0.3, 0.3, 0.3 }, { 2.0, -2.0, 1.0 } };
    static readonly long[] Targets = { 1, 2, 0, 2 };
    static readonly double[] ClassWeights = { 0.2, 1.0, 2.5 };

    static double[] LogSoftmaxRow(int n)
    {
        var row = Enumerable.Range(0, 3).Select(c => Logits[n, c]).ToArray();
        double m = row.Max(), lse = m + Math.Log(row.Sum(v => Math.Exp(v - m)));
        return row.Select(v => v - lse).ToArray();
    }

    static double ReferenceCrossEntropy(double[]? w, long ignore, double eps)
    {
        double nll = 0, smooth = 0, total = 0;
        for (int n = 0; n < 4; n++)
        {
            if (Targets[n] == ignore) continue;
            var lp = LogSoftmaxRow(n);
            double wt = w?[Targets[n]] ?? 1;
            nll += -lp[Targets[n]] * wt;
            smooth += -Enumerable.Range(0, 3).Sum(c => lp[c] * (w?[c] ?? 1));
            total += wt;
        }
        return (1 - eps) * nll / total + eps / 3 * smooth / total;
    }

    [Theory]
    [InlineData(false, -100, 0.0)]
    [InlineData(true, -100, 0.0)]
    [InlineData(true, 2, 0.0)]
    [InlineData(false, -100, 0.1)]
    [InlineData(true, 0, 0.2)]
    public void CrossEntropy_ClassIndices_MatchesReference(bool weighted, int ignore, double smoothing)
    {
        var input = Tensor.From(Logits);
        var weight = weighted ? Tensor.From(ClassWeights) : null;
        var loss = Losses.CrossEntropy(input, Tensor.From(Targets), weight, ignore, labelSmoothing: smoothing);
        Assert.Equal(ReferenceCrossEntropy(weighted ? ClassWeights : null, ignore, smoothing), loss.Item<double>(), 12);
        Check.Gradients(t => Losses.CrossEntropy(t[0], Tensor.From(Targets), weight, ignore, labelSmoothing: smoothing), Tensor.From(Logits, requiresGrad: true));
    }

    [Fact]
    public void CrossEntropy_ClassProbabilities_AndNoneReduction()
    {
        var probs = Tensor.From(new double[,] { { 0.2, 0.8, 0 }, { 0, 0, 1 }, { 1, 0, 0 }, { 0.5, 0.25, 0.25 } });
        var loss = Losses.CrossEntropy(Tensor.From(Logits), probs);
        double expected = 0;
        var p = probs.ToArray<double>();
        for (int n = 0; n < 4; n++) { var lp = LogSoftmaxRow(n); for (int c = 0; c < 3; c++) expected -= p[n * 3 + c] * lp[c]; }
        Assert.Equal(expected / 4, loss.Item<double>(), 12);
        var none = Losses.CrossEntropy(Tensor.From(Logits), Tensor.From(Targets), reduction: Reduction.None);
        Check.Values(Enumerable.Range(0, 4).Select(n => -LogSoftmaxRow(n)[Targets[n]]).ToArray(), none);
        Check.Gradients(t => Losses.CrossEntropy(t[0], probs, labelSmoothing: 0.1, weight: Tensor.From(ClassWeights)), Tensor.From(Logits, requiresGrad: true));
    }

    [Fact]
    public void CrossEntropy_SpatialTargets()
    {
        var x = Check.Input(2, 3, 4);
        var t = Tensor.From(new long[,] { { 0, 1, 2, 1 }, { 2, 2, 0, 1 } });
        var perPosition = Losses.CrossEntropy(x, t, reduction: Reduction.None);
        Check.Shape([2, 4], perPosition);
        var viaFlat = Losses.CrossEntropy(x.Permute(0, 2, 1).Reshape(8, 3), t.Reshape(8), reduction: Reduction.None);
        Assert.True(perPosition.Reshape(8).AllClose(viaFlat, 1e-12, 1e-12));
        Check.Gradients(a => Losses.CrossEntropy(a[0], t), x);
    }

    [Fact]
    public void NllLoss_IsCrossEntropyOfLogSoftmax()
    {
        var x = Tensor.From(Logits);
        var w = Tensor.From(ClassWeights);
        Assert.Equal(Losses.CrossEntropy(x, Tensor.From(Targets), w).Item<double>(), Losses.NllLoss(x.LogSoftmax(1), Tensor.From(Targets), w).Item<double>(), 12);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Losses.NllLoss(x, Tensor.From(new long[] { 0, 1, 2, 3 })));
        Assert.Contains("target 3 is out of bounds for 3 classes", ex.Message);
    }

    [Fact]
    public void Regression_Losses()
    {
        var x = Tensor.From(new double[] { 0, 1, 2.5, -3 });
        var y = Tensor.From(new double[] { 0.5, 1, 0, -1 });
        Assert.Equal((0.25 + 0 + 6.25 + 4) / 4, Losses.MseLoss(x, y).Item<double>(), 12);
        Assert.Equal((0.5 + 0 + 2.5 + 2) / 4, Losses.L1Loss(x, y).Item<double>(), 12);
        Assert.Equal(0.125 + 0 + 2.0 + 1.5, Losses.SmoothL1Loss(x, y, Reduction.Sum).Item<double>(), 12);
        Assert.Equal((0.125 + 0 + 2 * (2.5 - 1) + 2 * (2 - 1)) / 4, Losses.HuberLoss(x, y, delta: 2).Item<double>(), 12);
        Check.Gradients(t => Losses.SmoothL1Loss(t[0], t[1], beta: 0.7), Check.Input(5), Check.Input([5], 3));
        Check.Gradients(t => Losses.HuberLoss(t[0], t[1], Reduction.None, 0.5), Check.Input(5), Check.Input([5], 4));
        Check.Gradients(t => Losses.MseLoss(t[0], t[1]) + Losses.L1Loss(t[0], t[1], Reduction.Sum), Check.Input(2, 3), Check.Input([2, 3], 9));
        Assert.Throws<ArgumentException>(() => Losses.MseLoss(Tensor.Ones(3), Tensor.Ones(4)));
    }

    [Fact]
    public void BinaryCrossEntropy_WithAndWithoutLogits()
    {
        var logits = Tensor.From(new double[] { -2, 0.5, 3, 100, -100 });
        var target = Tensor.From(new double[] { 0, 1, 1, 0, 1 });
        var posWeight = Tensor.From(new double[] { 2, 2, 2, 2, 2 });
        double Ref(double x, double y, double pw) => -(pw * y * LogSigmoid(x) + (1 - y) * LogSigmoid(-x));
        static double LogSigmoid(double x) => -(Math.Max(-x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x))));
        var xs = logits.ToArray<double>();
        var ys = target.ToArray<double>();
        Assert.Equal(Enumerable.Range(0, 5).Average(i => Ref(xs[i], ys[i], 1)), Losses.BinaryCrossEntropyWithLogits(logits, target).Item<double>(), 10);
        Assert.Equal(Enumerable.Range(0, 5).Average(i => Ref(xs[i], ys[i], 2)), Losses.BinaryCrossEntropyWithLogits(logits, target, posWeight: posWeight).Item<double>(), 10);
        var probs = Tensor.From(new double[] { 0.1, 0.5, 1.0, 0.0 });
        var t = Tensor.From(new double[] { 0, 1, 0, 1 });
        // log(0) is clamped to -100, as in PyTorch, so the last two terms are 100 each.
        Assert.Equal((-Math.Log(0.9) - Math.Log(0.5) + 100 + 100) / 4, Losses.BinaryCrossEntropy(probs, t).Item<double>(), 10);
        Check.Gradients(a => Losses.BinaryCrossEntropyWithLogits(a[0], a[1], posWeight: Tensor.From(new double[] { 3, 0.5, 1 })), Check.Input(2, 3), (Check.Input([2, 3], 2).Detach().Sigmoid()).RequiresGrad_());
        Check.Gradients(a => Losses.BinaryCrossEntropy(a[0].Sigmoid(), Tensor.From(new double[] { 0, 1, 1 })), Check.Input(3));
    }

    [Fact]
    public void BinaryCrossEntropyWithLogits_GradientAtZeroLogitIsSigmoidMinusTarget()
    {
        // A zero-initialised output layer gives logits of exactly 0: the gradient there is σ(0) - y.
        var x = Tensor.Zeros([3], DType.Float64, requiresGrad: true);
        var y = Tensor.From(new[] { 1.0, 0.0, 0.25 });
        Losses.BinaryCrossEntropyWithLogits(x, y, reduction: Reduction.Sum).Backward();
        Check.Values(new[] { -0.5, 0.5, 0.25 }, x.Grad!);
    }

    [Fact]
    public void BinaryCrossEntropy_GradientStaysFiniteAtProbabilitiesZeroAndOne()
    {
        // PyTorch's (x - y) / max(x(1 - x), 1e-12): 0 where the prediction is right, large where wrong.
        var x = Tensor.From(new[] { 0.0, 1.0, 0.0, 1.0 }, requiresGrad: true);
        var y = Tensor.From(new[] { 0.0, 1.0, 1.0, 0.0 });
        var loss = Losses.BinaryCrossEntropy(x, y, reduction: Reduction.None);
        Check.Values(new[] { 0.0, 0.0, 100.0, 100.0 }, loss);
        loss.Sum().Backward();
        Check.Values(new[] { 0.0, 0.0, -1e12, 1e12 }, x.Grad!, tolerance: 1e-3);
    }

    [Fact]
    public void BinaryCrossEntropy_GradientCheck()
    {
        var x = Tensor.From(new[] { 0.1, 0.5, 0.8, 0.95 }, requiresGrad: true);
        var y = Tensor.From(new[] { 0.0, 0.3, 1.0, 0.6 }, requiresGrad: true);
        Check.Gradients(t => Losses.BinaryCrossEntropy(t[0], t[1]), x, y);
    }

    [Fact]
    public void KlDiv_MatchesDefinition()
    {
        var p = Tensor.From(new double[,] { { 0.5, 0.5, 0 }, { 0.1, 0.2, 0.7 } });
        var logq = Tensor.From(new double[,] { { 0.2, 0.3, 0.5 }, { 0.3, 0.3, 0.4 } }).Log();
        var pv = p.ToArray<double>();
        var qv = logq.ToArray<double>();
        double sum = 0;
        for (int i = 0; i < 6; i++) if (pv[i] > 0) sum += pv[i] * (Math.Log(pv[i]) - qv[i]);
        Assert.Equal(sum / 2, Losses.KlDiv(logq, p, batchMean: true).Item<double>(), 12);
        Assert.Equal(sum / 6, Losses.KlDiv(logq, p).Item<double>(), 12);
        Assert.Equal(sum, Losses.KlDiv(logq, (p + 1e-300).Log(), Reduction.Sum, logTarget: true).Item<double>(), 10);
        Check.Gradients(a => Losses.KlDiv(a[0].LogSoftmax(1), p, batchMean: true), Check.Input(2, 3));
    }

    [Fact]
    public void Functional_Helpers()
    {
        Assert.Equal(new long[] { 0, 1, 0, 0, 0, 1, 1, 0, 0 }, F.OneHot(Tensor.From(new long[] { 1, 2, 0 })).ToArray<long>());
        var a = Tensor.From(new double[,] { { 3, 4 }, { 1, 0 } });
        Check.Values([0.6, 0.8, 1, 0], F.Normalize(a));
        Check.Values([0.6, 0], F.CosineSimilarity(a, Tensor.From(new double[,] { { 1, 0 }, { 0, 2 } })));
        var padded = F.Pad(Tensor.From(new double[,] { { 1, 2 } }), [1, 0, 0, 1], value: 9);
        Check.Values([9, 1, 2, 9, 9, 9], padded);
        Check.Values([2], F.Pad(Tensor.From(new double[] { 1, 2, 3 }), [-1, -1]));
        Check.Gradients(t => F.Pad(t[0], [2, -1, 1, 1], 0.5), Check.Input(2, 3));
        Check.Gradients(t => F.CosineSimilarity(t[0], t[1]) + F.Normalize(t[0]).Sum(1), Check.Input(3, 4), Check.Input([3, 4], 8));
        Check.Gradients(t => F.Linear(t[0], t[1], t[2]), Check.Input(2, 3), Check.Input([4, 3], 2), Check.Input([4], 3));
        Check.Gradients(t => F.Embedding(Tensor.From(new long[,] { { 1, 1 }, { 0, 2 } }), t[0]), Check.Input(3, 2));   // (the padding row is deliberately not differentiated: see ModuleTests)
    }
}
