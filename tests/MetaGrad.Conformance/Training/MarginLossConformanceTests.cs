using MetaGrad.NN;
using TorchSharp;
using static MetaGrad.Conformance.Interop.TorchBridge;
using static MetaGrad.Conformance.Training.LossConformanceTests;
using TT = TorchSharp.torch.Tensor;
using TF = TorchSharp.torch.nn.functional;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// The margin, embedding and likelihood losses of MetaGrad.NN.Losses against torch.nn.functional
/// (and torch.nn.MultiLabelMarginLoss, which TorchSharp has only as a module): the loss and the
/// gradient of every floating input, for every reduction, in float32 and float64, as
/// <see cref="LossConformanceTests"/> does for the classic losses.
/// </summary>
public class MarginLossConformanceTests
{
    // Exactly representable in float, should TorchSharp's float parameter ever be used.
    static readonly double GaussianEps = Math.Pow(2, -20);

    /// <summary>The same seeded data on both sides.</summary>
    sealed class Data(DType dtype, int seed)
    {
        readonly Random _random = new(seed);
        public DType DType => dtype;

        double Normal() => Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());

        Tensor Make(Func<double> next, int[] shape) =>
            Tensor.From(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => next()).ToArray(), shape).To(dtype);

        public Tensor Randn(double scale, params int[] shape) => Make(() => scale * Normal(), shape);
        public Tensor Uniform(double low, double high, params int[] shape) => Make(() => low + (high - low) * _random.NextDouble(), shape);
        public Tensor Signs(params int[] shape) => Make(() => _random.Next(2) == 0 ? -1.0 : 1.0, shape);
        public Tensor Bits(params int[] shape) => Make(() => _random.Next(2), shape);
        public Tensor Classes(int classes, params int[] shape) =>
            Tensor.From(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => (long)_random.Next(classes)).ToArray(), shape);
    }

    /// <summary>The inputs both sides differentiate, and the loss on each side as a function of them.</summary>
    sealed record Setup(Tensor[] Inputs, Func<Tensor[], Tensor> Ours, Func<TT[], TT> Theirs);

    static readonly Dictionary<string, Func<Data, Reduction, Setup>> Cases = new()
    {
        ["MarginRanking"] = (d, r) => Ranking(d, r, 0),
        ["MarginRanking-margin0.5"] = (d, r) => Ranking(d, r, 0.5),
        ["HingeEmbedding"] = (d, r) => Hinge(d, r, 1.0),
        ["HingeEmbedding-margin0.5"] = (d, r) => Hinge(d, r, 0.5),
        ["SoftMargin"] = (d, r) =>
        {
            var y = d.Signs(4, 5);
            return new([d.Randn(2, 4, 5)], x => Losses.SoftMarginLoss(x[0], y, r), x => TF.soft_margin_loss(x[0], ToTorch(y), TorchReduction(r)));
        },
        ["CosineEmbedding"] = (d, r) => Cosine(d, r, 0, batched: true),
        ["CosineEmbedding-margin0.3"] = (d, r) => Cosine(d, r, 0.3, batched: true),
        ["CosineEmbedding-unbatched"] = (d, r) => Cosine(d, r, -0.2, batched: false),
        ["TripletMargin"] = (d, r) => Triplet(d, r, 1.0, 2, swap: false),
        ["TripletMargin-p1-swap"] = (d, r) => Triplet(d, r, 0.5, 1, swap: true),
        ["TripletMargin-p3-swap"] = (d, r) => Triplet(d, r, 2.0, 3, swap: true),
        ["GaussianNLL"] = (d, r) => Gaussian(d, r, [4, 5], full: false),
        ["GaussianNLL-full"] = (d, r) => Gaussian(d, r, [4, 5], full: true),
        ["GaussianNLL-homoscedastic"] = (d, r) => Gaussian(d, r, [4], full: false),
        ["GaussianNLL-homoscedastic-1"] = (d, r) => Gaussian(d, r, [4, 1], full: true),
        // Variances at and below eps: clamped in value, yet the gradient reaches them (PyTorch's no_grad clamp).
        ["GaussianNLL-clamped"] = (d, r) =>
        {
            var input = d.Randn(1, 2, 3);
            var target = d.Randn(1, 2, 3);
            var var = Tensor.From(new[] { 0.0, 1e-9, GaussianEps, 0.5, 2e-6, 1.5 }, [2, 3]).To(input.DType);
            return new([input, var], x => Losses.GaussianNllLoss(x[0], target, x[1], eps: GaussianEps, reduction: r),
                x => TorchGaussianNll(x[0], ToTorch(target), x[1], false, GaussianEps, r));
        },
        ["PoissonNLL"] = (d, r) => Poisson(d, r, logInput: true, full: false),
        ["PoissonNLL-full"] = (d, r) => Poisson(d, r, logInput: true, full: true),
        ["PoissonNLL-rates"] = (d, r) => Poisson(d, r, logInput: false, full: false),
        ["PoissonNLL-rates-full"] = (d, r) => Poisson(d, r, logInput: false, full: true),
        ["MultilabelSoftMargin"] = (d, r) =>
        {
            var y = d.Bits(4, 5);
            return new([d.Randn(2, 4, 5)], x => Losses.MultilabelSoftMarginLoss(x[0], y, reduction: r),
                x => TF.multilabel_soft_margin_loss(x[0], ToTorch(y), reduction: TorchReduction(r)));
        },
        ["MultilabelSoftMargin-weight"] = (d, r) =>
        {
            var y = d.Bits(4, 5);
            var w = d.Uniform(0.5, 2, 5);
            return new([d.Randn(2, 4, 5)], x => Losses.MultilabelSoftMarginLoss(x[0], y, w, r),
                x => TF.multilabel_soft_margin_loss(x[0], ToTorch(y), ToTorch(w), TorchReduction(r)));
        },
        ["MultiMargin"] = (d, r) => MultiMargin(d, r, 1, 1.0, weighted: false, batched: true),
        ["MultiMargin-p2-weight"] = (d, r) => MultiMargin(d, r, 2, 0.7, weighted: true, batched: true),
        ["MultiMargin-unbatched-weight"] = (d, r) => MultiMargin(d, r, 1, 1.5, weighted: true, batched: false),
        ["MultilabelMargin"] = (d, r) =>
        {
            // Targets ended by -1 (or filling the row), a class listed twice, and a row with no target.
            var y = Tensor.From(new long[] { 3, 0, -1, 1, 2, 1, 2, 4, 0, 3, 2, 2, -1, 0, 0, -1, 4, 1, 1, 1 }, [4, 5]);
            return new([d.Randn(1.5, 4, 5)], x => Losses.MultilabelMarginLoss(x[0], y, r),
                x => torch.nn.MultiLabelMarginLoss(TorchReduction(r)).forward(x[0], ToTorch(y)));
        },
        ["MultilabelMargin-unbatched"] = (d, r) =>
        {
            var y = Tensor.From(new long[] { 4, 1, -1, 0, 0 }, [5]);
            return new([d.Randn(1.5, 5)], x => Losses.MultilabelMarginLoss(x[0], y, r),
                x => torch.nn.MultiLabelMarginLoss(TorchReduction(r)).forward(x[0], ToTorch(y)));
        },
    };

    static Setup Ranking(Data d, Reduction r, double margin)
    {
        var y = d.Signs(6);
        return new([d.Randn(1, 6), d.Randn(1, 6)], x => Losses.MarginRankingLoss(x[0], x[1], y, margin, r),
            x => TF.margin_ranking_loss(x[0], x[1], ToTorch(y), margin, TorchReduction(r)));
    }

    static Setup Hinge(Data d, Reduction r, double margin)
    {
        var y = d.Signs(4, 5);
        return new([d.Randn(1.5, 4, 5)], x => Losses.HingeEmbeddingLoss(x[0], y, margin, r),
            x => TF.hinge_embedding_loss(x[0], ToTorch(y), margin, TorchReduction(r)));
    }

    static Setup Cosine(Data d, Reduction r, double margin, bool batched)
    {
        int[] shape = batched ? [5, 4] : [4];
        var y = batched ? d.Signs(5) : d.Signs();
        return new([d.Randn(1, shape), d.Randn(1, shape)], x => Losses.CosineEmbeddingLoss(x[0], x[1], y, margin, r),
            x => TF.cosine_embedding_loss(x[0], x[1], ToTorch(y), margin, TorchReduction(r)));
    }

    static Setup Triplet(Data d, Reduction r, double margin, int p, bool swap) =>
        new([d.Randn(1, 5, 4), d.Randn(1, 5, 4), d.Randn(1, 5, 4)],
            x => Losses.TripletMarginLoss(x[0], x[1], x[2], margin, p, swap: swap, reduction: r),
            x => TF.triplet_margin_loss(x[0], x[1], x[2], margin, p, swap: swap, reduction: TorchReduction(r)));

    /// <summary>
    /// PyTorch 1.13's gaussian_nll_loss, step by step in libtorch's operations. TorchSharp's own port
    /// follows PyTorch 1.9, which summed each sample over its non-batch dims (see DIFFERENCES.md).
    /// </summary>
    static TT TorchGaussianNll(TT input, TT target, TT var, bool full, double eps, Reduction r)
    {
        if (var.dim() == input.dim() - 1) var = var.unsqueeze(-1);
        var clamped = var.clone();
        using (torch.no_grad()) clamped.clamp_(min: eps);
        var loss = 0.5 * (clamped.log() + (input - target).square() / clamped);
        if (full) loss = loss + 0.5 * Math.Log(2 * Math.PI);
        return r switch { Reduction.None => loss, Reduction.Sum => loss.sum(), _ => loss.mean() };
    }

    static Setup Gaussian(Data d, Reduction r, int[] varShape, bool full)
    {
        var target = d.Randn(1, 4, 5);
        return new([d.Randn(1, 4, 5), d.Uniform(0.1, 2, varShape)],
            x => Losses.GaussianNllLoss(x[0], target, x[1], full, GaussianEps, r),
            x => TorchGaussianNll(x[0], ToTorch(target), x[1], full, GaussianEps, r));
    }

    /// <summary>
    /// PyTorch's poisson_nll_loss with log_input false, in libtorch's operations: TorchSharp's
    /// poisson_nll_loss adds an eps of about 0 instead of the one it is given (see DIFFERENCES.md).
    /// </summary>
    static TT TorchPoissonNllOfRates(TT input, TT target, bool full, double eps, Reduction r)
    {
        var loss = input - target * (input + eps).log();
        if (full)
        {
            var stirling = target * target.log() - target + 0.5 * (2 * Math.PI * target).log();
            loss = loss + stirling.masked_fill(target <= 1, 0);
        }
        return r switch { Reduction.None => loss, Reduction.Sum => loss.sum(), _ => loss.mean() };
    }

    static Setup Poisson(Data d, Reduction r, bool logInput, bool full)
    {
        // Counts 0..5 and a fractional count, so the Stirling term meets targets on both sides of 1.
        var target = d.Classes(6, 4, 5).To(d.DType) + Tensor.From(new[] { 0, 0, 0, 0, 0.5 }, [5]).To(d.DType);
        var input = logInput ? d.Randn(1, 4, 5) : d.Uniform(0.1, 3, 4, 5);
        return new([input], x => Losses.PoissonNllLoss(x[0], target, logInput, full, reduction: r),
            x => logInput
                ? TF.poisson_nll_loss(x[0], ToTorch(target), logInput, full, reduction: TorchReduction(r))
                : TorchPoissonNllOfRates(x[0], ToTorch(target), full, 1e-8, r));
    }

    static Setup MultiMargin(Data d, Reduction r, int p, double margin, bool weighted, bool batched)
    {
        var input = batched ? d.Randn(1, 4, 5) : d.Randn(1, 5);
        var target = batched ? d.Classes(5, 4) : Tensor.From(2L);
        var weight = weighted ? d.Uniform(0.5, 2, 5) : null;
        return new([input], x => Losses.MultiMarginLoss(x[0], target, p, margin, weight, r),
            x => TF.multi_margin_loss(x[0], ToTorch(target), p, margin, weight is null ? null : ToTorch(weight), TorchReduction(r)));
    }

    public static TheoryData<string, DType, Reduction> All()
    {
        var data = new TheoryData<string, DType, Reduction>();
        foreach (var name in Cases.Keys)
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                foreach (var reduction in new[] { Reduction.None, Reduction.Mean, Reduction.Sum })
                    data.Add(name, dtype, reduction);
        return data;
    }

    [Theory]
    [MemberData(nameof(All))]
    public void LossAndInputGradientsMatchLibtorch(string name, DType dtype, Reduction reduction)
    {
        using var scope = torch.NewDisposeScope();
        var data = new Data(dtype, seed: name.Length * 31 + (int)reduction);
        var setup = Cases[name](data, reduction);
        var (rtol, atol) = Tolerance(dtype);

        var xs = setup.Inputs.Select(i => i.Detach().Clone().RequiresGrad_()).ToArray();
        var txs = setup.Inputs.Select(i => ToTorch(i).requires_grad_()).ToArray();
        var ours = setup.Ours(xs);
        var theirs = setup.Theirs(txs);
        string what = $"{name} {dtype} {reduction}";
        AssertClose(theirs, ours, rtol, atol, $"{what}: loss");

        // A non-uniform upstream gradient, so that every element's gradient is seen on its own.
        var upstream = ours.NDim == 0 ? null : data.Uniform(0.5, 1.5, ours.Shape.ToArray());
        if (upstream is null) { ours.Backward(); theirs.backward(); }
        else { (ours * upstream).Sum().Backward(); (theirs * ToTorch(upstream)).sum().backward(); }
        for (int i = 0; i < xs.Length; i++)
        {
            Assert.NotNull(xs[i].Grad);
            AssertClose(txs[i].grad!, xs[i].Grad!, rtol, atol, $"{what}: gradient of input {i}");
        }
    }
}
