using MetaGrad.NN;
using TorchSharp;
using static MetaGrad.Conformance.Interop.TorchBridge;
using TT = TorchSharp.torch.Tensor;
using TF = TorchSharp.torch.nn.functional;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// MetaGrad.NN.Losses against torch.nn.functional in TorchSharp: the loss and the gradient of the
/// input, for every reduction, in float32 and float64, on the same seeded data. With reduction
/// none the backward pass starts from a non-uniform upstream gradient, so each element's gradient
/// is checked on its own.
/// </summary>
public class LossConformanceTests
{
    internal static (double Rtol, double Atol) Tolerance(DType dtype) => dtype == DType.Float32 ? (1e-5, 1e-6) : (1e-12, 1e-14);

    internal static torch.nn.Reduction TorchReduction(Reduction r) => r switch
    {
        Reduction.None => torch.nn.Reduction.None,
        Reduction.Sum => torch.nn.Reduction.Sum,
        _ => torch.nn.Reduction.Mean,
    };

    /// <summary>The same data on both sides: values drawn in double, then cast to the dtype on each side.</summary>
    sealed class Data(DType dtype, int seed)
    {
        readonly Random _random = new(seed);
        public readonly DType DType = dtype;

        double Normal() => Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());

        public Tensor Randn(double scale, params int[] shape) =>
            Tensor.From(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => scale * Normal()).ToArray(), shape).To(DType);

        public Tensor Uniform(double low, double high, params int[] shape) =>
            Tensor.From(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => low + (high - low) * _random.NextDouble()).ToArray(), shape).To(DType);

        public Tensor Classes(int classes, params int[] shape) =>
            Tensor.From(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => (long)_random.Next(classes)).ToArray(), shape);
    }

    /// <summary>One comparison: the input both sides differentiate, and the loss on each side as a function of it.</summary>
    sealed record Setup(Tensor Input, Func<Tensor, Tensor> Ours, Func<TT, TT> Theirs);

    static readonly Dictionary<string, Func<Data, Reduction, Setup>> Cases = new()
    {
        ["MSE"] = (d, r) => Regression(d, x => (y => Losses.MseLoss(y, x, r)), x => (y => TF.mse_loss(y, x, TorchReduction(r)))),
        ["L1"] = (d, r) => Regression(d, x => (y => Losses.L1Loss(y, x, r)), x => (y => TF.l1_loss(y, x, TorchReduction(r)))),
        ["SmoothL1"] = (d, r) => Regression(d, x => (y => Losses.SmoothL1Loss(y, x, r)), x => (y => TF.smooth_l1_loss(y, x, TorchReduction(r)))),
        ["SmoothL1-beta0.5"] = (d, r) => Regression(d, x => (y => Losses.SmoothL1Loss(y, x, r, beta: 0.5)), x => (y => TF.smooth_l1_loss(y, x, TorchReduction(r), beta: 0.5))),
        ["Huber"] = (d, r) => Regression(d, x => (y => Losses.HuberLoss(y, x, r)), x => (y => TF.huber_loss(y, x, reduction: TorchReduction(r)))),
        ["Huber-delta2"] = (d, r) => Regression(d, x => (y => Losses.HuberLoss(y, x, r, delta: 2.0)), x => (y => TF.huber_loss(y, x, 2.0, TorchReduction(r)))),
        ["BCE"] = (d, r) =>
        {
            var input = d.Uniform(0.02, 0.98, 4, 5);
            var target = d.Uniform(0, 1, 4, 5);
            return new(input, x => Losses.BinaryCrossEntropy(x, target, reduction: r), x => TF.binary_cross_entropy(x, ToTorch(target), reduction: TorchReduction(r)));
        },
        ["BCE-weight"] = (d, r) =>
        {
            var input = d.Uniform(0.02, 0.98, 4, 5);
            var target = d.Uniform(0, 1, 4, 5);
            var weight = d.Uniform(0.5, 2, 5);
            return new(input, x => Losses.BinaryCrossEntropy(x, target, weight, r), x => TF.binary_cross_entropy(x, ToTorch(target), ToTorch(weight), TorchReduction(r)));
        },
        // Probabilities at 0 and 1, where PyTorch clamps each log at -100.
        ["BCE-saturated"] = (d, r) =>
        {
            var input = Tensor.From(new double[] { 0, 1, 0, 1, 0.5, 0, 1, 0.25 }, [2, 4]).To(d.DType);
            var target = Tensor.From(new double[] { 0, 1, 1, 0, 1, 0.3, 0.6, 0 }, [2, 4]).To(d.DType);
            return new(input, x => Losses.BinaryCrossEntropy(x, target, reduction: r), x => TF.binary_cross_entropy(x, ToTorch(target), reduction: TorchReduction(r)));
        },
        ["BCEWithLogits-extreme"] = (d, r) =>
        {
            var input = Tensor.From(new double[] { -200, 200, -50, 50, 0, 30, -30, 90 }, [2, 4]).To(d.DType);
            var target = Tensor.From(new double[] { 0, 1, 1, 0, 1, 0.3, 0.6, 0 }, [2, 4]).To(d.DType);
            var posWeight = Tensor.From(new double[] { 2, 0.5, 3, 1 }, [4]).To(d.DType);
            return new(input, x => Losses.BinaryCrossEntropyWithLogits(x, target, posWeight: posWeight, reduction: r),
                x => TF.binary_cross_entropy_with_logits(x, ToTorch(target), reduction: TorchReduction(r), pos_weights: ToTorch(posWeight)));
        },
        ["CrossEntropy-extreme-logits"] = (d, r) =>
        {
            var input = Tensor.From(new double[] { 1000, -1000, 0, 5, -80, 80, 90, -90, 0, 0, 0, 0 }, [3, 4]).To(d.DType);
            var target = Tensor.From(new long[] { 1, 2, 3 }, [3]);
            return new(input, x => Losses.CrossEntropy(x, target, reduction: r, labelSmoothing: 0.1), x => TF.cross_entropy(x, ToTorch(target), reduction: TorchReduction(r), label_smoothing: 0.1));
        },
        ["BCEWithLogits"] = (d, r) =>
        {
            var input = d.Randn(4, 4, 5);   // large logits, where the naive formula overflows
            var target = d.Uniform(0, 1, 4, 5);
            return new(input, x => Losses.BinaryCrossEntropyWithLogits(x, target, reduction: r), x => TF.binary_cross_entropy_with_logits(x, ToTorch(target), reduction: TorchReduction(r)));
        },
        ["BCEWithLogits-weight-posWeight"] = (d, r) =>
        {
            var input = d.Randn(4, 4, 5);
            var target = d.Uniform(0, 1, 4, 5);
            var weight = d.Uniform(0.5, 2, 5);
            var posWeight = d.Uniform(0.5, 3, 5);
            return new(input, x => Losses.BinaryCrossEntropyWithLogits(x, target, weight, posWeight, r),
                x => TF.binary_cross_entropy_with_logits(x, ToTorch(target), ToTorch(weight), TorchReduction(r), ToTorch(posWeight)));
        },
        ["CrossEntropy"] = (d, r) =>
        {
            var input = d.Randn(2, 6, 4);
            var target = d.Classes(4, 6);
            return new(input, x => Losses.CrossEntropy(x, target, reduction: r), x => TF.cross_entropy(x, ToTorch(target), reduction: TorchReduction(r)));
        },
        ["CrossEntropy-weight-ignore"] = (d, r) =>
        {
            var input = d.Randn(2, 6, 4);
            var target = Tensor.From(new long[] { 0, 3, 1, 1, 2, 3 }, [6]);
            var weight = d.Uniform(0.5, 2, 4);
            return new(input, x => Losses.CrossEntropy(x, target, weight, ignoreIndex: 1, reduction: r),
                x => TF.cross_entropy(x, ToTorch(target), ToTorch(weight), ignore_index: 1, reduction: TorchReduction(r)));
        },
        ["CrossEntropy-smoothing-weight-ignore"] = (d, r) =>
        {
            var input = d.Randn(2, 6, 4);
            var target = Tensor.From(new long[] { 0, -100, 1, 3, 2, 3 }, [6]);
            var weight = d.Uniform(0.5, 2, 4);
            return new(input, x => Losses.CrossEntropy(x, target, weight, reduction: r, labelSmoothing: 0.1),
                x => TF.cross_entropy(x, ToTorch(target), ToTorch(weight), reduction: TorchReduction(r), label_smoothing: 0.1));
        },
        ["CrossEntropy-probabilities-smoothing-weight"] = (d, r) =>
        {
            var input = d.Randn(2, 6, 4);
            var target = d.Randn(1, 6, 4).Softmax(1);
            var weight = d.Uniform(0.5, 2, 4);
            return new(input, x => Losses.CrossEntropy(x, target, weight, reduction: r, labelSmoothing: 0.2),
                x => TF.cross_entropy(x, ToTorch(target), ToTorch(weight), reduction: TorchReduction(r), label_smoothing: 0.2));
        },
        ["CrossEntropy-spatial-weight-ignore-smoothing"] = (d, r) =>
        {
            var input = d.Randn(2, 3, 4, 5);
            var target = Tensor.From(new long[] { 0, 1, 2, 3, -100, 3, 2, 1, 0, 0, 1, -100, 2, 3, 3 }, [3, 5]);
            var weight = d.Uniform(0.5, 2, 4);
            return new(input, x => Losses.CrossEntropy(x, target, weight, reduction: r, labelSmoothing: 0.05),
                x => TF.cross_entropy(x, ToTorch(target), ToTorch(weight), reduction: TorchReduction(r), label_smoothing: 0.05));
        },
        ["CrossEntropy-unbatched"] = (d, r) =>
        {
            var input = d.Randn(2, 5);
            var target = Tensor.From(3L);
            return new(input, x => Losses.CrossEntropy(x, target, reduction: r), x => TF.cross_entropy(x, ToTorch(target), reduction: TorchReduction(r)));
        },
        ["NLL-weight"] = (d, r) =>
        {
            var input = d.Randn(2, 6, 4).LogSoftmax(1);
            var target = d.Classes(4, 6);
            var weight = d.Uniform(0.5, 2, 4);
            return new(input, x => Losses.NllLoss(x, target, weight, reduction: r), x => TF.nll_loss(x, ToTorch(target), ToTorch(weight), TorchReduction(r)));
        },
        ["NLL-spatial"] = (d, r) =>
        {
            var input = d.Randn(2, 3, 4, 5).LogSoftmax(1);
            var target = d.Classes(4, 3, 5);
            return new(input, x => Losses.NllLoss(x, target, reduction: r), x => TF.nll_loss(x, ToTorch(target), reduction: TorchReduction(r)));
        },
        // TorchSharp's nll_loss has no ignore_index: its side is libtorch's per-element NLL with the
        // ignored entries masked out, reduced as PyTorch documents (mean: by the weight counted).
        ["NLL-weight-ignore"] = (d, r) =>
        {
            var input = d.Randn(2, 6, 4).LogSoftmax(1);
            long[] ids = [2, -100, 0, 3, -100, 1];
            var target = Tensor.From(ids, [6]);
            var weight = d.Uniform(0.5, 2, 4);
            return new(input, x => Losses.NllLoss(x, target, weight, reduction: r), x =>
            {
                var kept = torch.tensor(ids.Select(i => i != -100).ToArray()).to_type(x.dtype);
                var safe = torch.tensor(ids.Select(i => i == -100 ? 0L : i).ToArray());
                var perElement = TF.nll_loss(x, safe, ToTorch(weight), torch.nn.Reduction.None) * kept;
                return r switch
                {
                    Reduction.None => perElement,
                    Reduction.Sum => perElement.sum(),
                    _ => perElement.sum() / (ToTorch(weight).index_select(0, safe) * kept).sum(),
                };
            });
        },
        ["KLDiv"] = (d, r) => KlDiv(d, r, batchMean: false, logTarget: false),
        ["KLDiv-logTarget"] = (d, r) => KlDiv(d, r, batchMean: false, logTarget: true),
        ["KLDiv-batchmean"] = (d, r) => KlDiv(d, r, batchMean: true, logTarget: false),
        ["KLDiv-batchmean-logTarget"] = (d, r) => KlDiv(d, r, batchMean: true, logTarget: true),
    };

    static Setup Regression(Data d, Func<Tensor, Func<Tensor, Tensor>> ours, Func<TT, Func<TT, TT>> theirs)
    {
        var input = d.Randn(1.5, 4, 5);   // differences on both sides of SmoothL1's β and Huber's δ
        var target = d.Randn(1, 4, 5);
        return new(input, ours(target), theirs(ToTorch(target)));
    }

    /// <summary>KL divergence of log-probabilities from a target with a zero (xlogy's 0·log 0 = 0); batchmean is PyTorch's sum / batch size.</summary>
    static Setup KlDiv(Data d, Reduction r, bool batchMean, bool logTarget)
    {
        var input = d.Randn(1, 4, 5).LogSoftmax(1);
        var probabilities = d.Randn(1, 4, 5).Softmax(1) * Tensor.From(new double[] { 1, 1, 0, 1, 1 }, [5]).To(d.DType);
        var target = logTarget ? d.Randn(1, 4, 5).LogSoftmax(1) : probabilities.Detach();
        return new(input, x => Losses.KlDiv(x, target, r, batchMean, logTarget), x => batchMean
            ? TF.kl_div(x, ToTorch(target), logTarget, torch.nn.Reduction.Sum) / 4
            : TF.kl_div(x, ToTorch(target), logTarget, TorchReduction(r)));
    }

    public static TheoryData<string, DType, Reduction> All()
    {
        var data = new TheoryData<string, DType, Reduction>();
        foreach (var name in Cases.Keys)
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                foreach (var reduction in name.Contains("batchmean") ? [Reduction.Sum] : new[] { Reduction.None, Reduction.Mean, Reduction.Sum })
                    data.Add(name, dtype, reduction);
        return data;
    }

    [Theory]
    [MemberData(nameof(All))]
    public void LossAndInputGradientMatchLibtorch(string name, DType dtype, Reduction reduction)
    {
        using var scope = torch.NewDisposeScope();
        var data = new Data(dtype, seed: name.Length * 31 + (int)reduction);
        var setup = Cases[name](data, reduction);
        var (rtol, atol) = Tolerance(dtype);

        var x = setup.Input.Detach().Clone();
        x.RequiresGrad = true;
        var tx = ToTorch(setup.Input).requires_grad_();
        var ours = setup.Ours(x);
        var theirs = setup.Theirs(tx);
        string what = $"{name} {dtype} {reduction}";
        AssertClose(theirs, ours, rtol, atol, $"{what}: loss");

        // A non-uniform upstream gradient, so that every element's gradient is seen on its own.
        var upstream = ours.NDim == 0 ? null : data.Uniform(0.5, 1.5, ours.Shape.ToArray());
        if (upstream is null) { ours.Backward(); theirs.backward(); }
        else { (ours * upstream).Sum().Backward(); (theirs * ToTorch(upstream)).sum().backward(); }
        Assert.NotNull(x.Grad);
        AssertClose(tx.grad!, x.Grad!, rtol, atol, $"{what}: input gradient");
    }
}
