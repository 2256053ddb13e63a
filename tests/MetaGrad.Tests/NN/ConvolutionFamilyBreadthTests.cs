using MetaGrad.NN;
using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests.NN;

/// <summary>
/// The convolution family's later members (3-D pooling and transposed convolution, LP pooling,
/// local response normalisation, instance normalisation with running statistics): values worked
/// by hand, finite-difference gradients in float64, modules with PyTorch's state-dict names.
/// Against libtorch: ConvolutionConformance.
/// </summary>
public class ConvolutionFamilyBreadthTests
{
    static Tensor Range(params int[] shape) => Tensor.Arange(1, shape.Aggregate(1, (a, b) => a * b) + 1, dtype: DType.Float64).Reshape(shape);

    [Fact]
    public void Pooling3d_TakesTheMaxAndMeanOfEachBox()
    {
        // 1..8 in a 2×2×2 box: max 8, mean 4.5; with a ceil-mode stride of 1 over depth 2 and
        // a kernel of 2 along depth the output keeps depth 1.
        var x = Range(1, 1, 2, 2, 2);
        Check.Values([8.0], F.MaxPool3d(x, 2));
        Check.Values([4.5], F.AvgPool3d(x, 2));
        // Padding 1 in depth only, padding left out of the divisor: boxes [pad, 1..4] and [5..8, pad].
        Check.Values([2.5, 6.5], F.AvgPool3d(x, (2, 2, 2), padding: (1, 0, 0), countIncludePad: false));
        Check.Values([1.25, 3.25], F.AvgPool3d(x, (2, 2, 2), padding: (1, 0, 0)));
        Check.Values([10.0 / 3, 26.0 / 3], F.AvgPool3d(x, (2, 2, 2), padding: (1, 0, 0), divisorOverride: 3));
    }

    [Fact]
    public void MaxPool3d_GivesTiedMaximaGradientToTheFirstInDepthHeightWidthOrder()
    {
        // Every value ties: the whole gradient goes to the box's first element, as PyTorch's kernel does.
        var x = Tensor.Ones([1, 1, 2, 2, 2], DType.Float64, requiresGrad: true);
        F.MaxPool3d(x, 2).Sum().Backward();
        Check.Values([1.0, 0, 0, 0, 0, 0, 0, 0], x.Grad!);
    }

    [Fact]
    public void Pooling3d_HasFiniteDifferenceGradients()
    {
        Check.Gradients(t => F.MaxPool3d(t[0], (2, 2, 2), stride: 1, padding: (1, 0, 1)), Check.Input([1, 2, 3, 4, 3], 21));
        Check.Gradients(t => F.MaxPool3d(t[0], (2, 2, 1), stride: 2, dilation: (1, 2, 1), ceilMode: true), Check.Input([2, 1, 3, 5, 2], 22));
        Check.Gradients(t => F.AvgPool3d(t[0], (3, 2, 2), stride: (2, 1, 2), padding: (1, 1, 0), ceilMode: true, countIncludePad: false), Check.Input([1, 2, 4, 3, 3], 23));
    }

    [Fact]
    public void MaxPool3d_IndicesUnpoolAndAdaptivePooling()
    {
        // 1..16 in a 2×2×4 volume, boxes of 2×2×2: maxima 14 and 16 at flat indices 13 and 15.
        var x = Range(1, 1, 2, 2, 4);
        var (values, indices) = F.MaxPool3dWithIndices(x, 2);
        Check.Values([14.0, 16], values);
        Assert.Equal([13L, 15], indices.ToArray<long>());
        var unpooled = F.MaxUnpool3d(values, indices, 2);
        Check.Shape([1, 1, 2, 2, 4], unpooled);
        Check.Values(Enumerable.Range(0, 16).Select(i => i == 13 ? 14.0 : i == 15 ? 16 : 0).ToArray(), unpooled);
        Assert.Contains("outside the output volume", Assert.Throws<ArgumentException>(() => F.MaxUnpool3d(values, indices, 2, outputSize: (2, 2, 3))).Message);
        var module = new MaxPool3d(2);
        Assert.Equal(indices.ToArray<long>(), module.ForwardWithIndices(x).Indices.ToArray<long>());
        Assert.True(new MaxUnpool3d(2).Forward(values, indices).AllClose(unpooled, 0, 0));

        // Adaptive to (1, 1, 1): the mean and the max of the whole volume.
        Check.Values([8.5], F.AdaptiveAvgPool3d(x, 1));
        Check.Values([16.0], F.AdaptiveMaxPool3d(x, 1));
        Check.Values([8.5], new AdaptiveAvgPool3d(1).Forward(x));
        Check.Gradients(t => F.AdaptiveAvgPool3d(t[0], (2, 3, 2)), Check.Input([1, 2, 3, 4, 5], 37));
        Check.Gradients(t => F.AdaptiveMaxPool3d(t[0], (2, 2, 3)), Check.Input([2, 1, 3, 4, 5], 38));
    }

    // PyTorch's adaptive windows: cell i of n over a size covers [⌊i·size/n⌋, ⌈(i+1)·size/n⌉).
    [Theory]
    [InlineData(3, 5, 4, 2, 3, 2)]
    [InlineData(4, 3, 7, 3, 3, 5)]    // outputs as large as the input and larger: overlapping windows
    public void AdaptivePooling3d_IsEachWindowsMeanAndMax(int d, int h, int w, int od, int oh, int ow)
    {
        var x = Tensor.Randn([2, 3, d, h, w], DType.Float64, generator: new Generator(39));
        var mean = F.AdaptiveAvgPool3d(x, (od, oh, ow));
        var max = F.AdaptiveMaxPool3d(x, (od, oh, ow));
        Check.Shape([2, 3, od, oh, ow], max);
        static Range Window(int i, int n, int size) => (i * size / n)..(((i + 1) * size + n - 1) / n);
        for (int i = 0; i < od; i++)
            for (int j = 0; j < oh; j++)
                for (int k = 0; k < ow; k++)
                {
                    var box = x[.., .., Window(i, od, d), Window(j, oh, h), Window(k, ow, w)].Flatten(2);
                    Assert.True(max[.., .., i, j, k].AllClose(box.Max(2), 0, 0), $"max at ({i}, {j}, {k})");
                    Assert.True(mean[.., .., i, j, k].AllClose(box.Mean([2]), 1e-12, 1e-12), $"mean at ({i}, {j}, {k})");
                }
    }

    [Fact]
    public void MaxPool1d_IndicesAndUnpool()
    {
        // [3, 1, 4, 1, 5, 9] in windows of 2: maxima 3, 4, 9 at 0, 2, 5; unpooled back into zeros.
        var x = Tensor.From(new double[] { 3, 1, 4, 1, 5, 9 }, [1, 1, 6]);
        var (values, indices) = F.MaxPool1dWithIndices(x, 2);
        Check.Values([3.0, 4, 9], values);
        Assert.Equal([0L, 2, 5], indices.ToArray<long>());
        Check.Values([3.0, 0, 4, 0, 0, 9], F.MaxUnpool1d(values, indices, 2));
        Check.Values([3.0, 0, 4, 0, 0, 9], new MaxUnpool1d(2).Forward(values, indices));
        Assert.Equal(indices.ToArray<long>(), new MaxPool1d(2).ForwardWithIndices(x).Indices.ToArray<long>());
        Check.Values([3.0, 0, 4, 0, 0, 9, 0], F.MaxUnpool1d(values, indices, 2, outputSize: 7));
    }

    [Fact]
    public void LpPool_IsThePNormOfEachWindow()
    {
        // [3, 4] → √(9 + 16) = 5; [1, 2, 2] with p = 1 → 5.
        Check.Values([5.0], F.LpPool1d(Tensor.From(new double[] { 3, 4 }, [1, 1, 2]), 2, 2));
        Check.Values([5.0], F.LpPool2d(Tensor.From(new double[] { 1, 2, 2, 0 }, [1, 1, 2, 2]), 1, 2));
        Check.Gradients(t => F.LpPool2d(t[0], 2, (2, 3), stride: (1, 2), ceilMode: true), Check.Input([1, 2, 4, 5], 24));
        Check.Gradients(t => F.LpPool1d(t[0].Abs() + 0.5, 1.5, 3, stride: 2), Check.Input([2, 2, 7], 25));
    }

    [Fact]
    public void LocalResponseNorm_DividesByTheNeighbouringChannelsSquares()
    {
        // One position, channels [1, 2, 3], size 3, α 3, β 1, k 1: channel 0 sees 0² + 1² + 2² (the
        // zero padding counted in the average), so it is divided by 1 + 3·5/3 = 6; channel 1 by
        // 1 + 3·14/3 = 15; channel 2 by 1 + 3·13/3 = 14.
        var y = F.LocalResponseNorm(Tensor.From(new double[] { 1, 2, 3 }, [1, 3, 1]), 3, alpha: 3, beta: 1, k: 1);
        Check.Values([1.0 / 6, 2.0 / 15, 3.0 / 14], y);
        Check.Gradients(t => F.LocalResponseNorm(t[0], 3, alpha: 0.5, beta: 0.75, k: 2), Check.Input([2, 5, 3], 26));
        Check.Gradients(t => F.LocalResponseNorm(t[0], 2, alpha: 0.5), Check.Input([1, 4, 2, 3], 27));
        var module = new LocalResponseNorm(2, alpha: 0.5);
        Assert.True(module.Forward(Range(1, 4, 2, 3)).AllClose(F.LocalResponseNorm(Range(1, 4, 2, 3), 2, alpha: 0.5), 0, 0));
    }

    [Fact]
    public void ConvTranspose3d_IsTheAdjointOfConv3d_AndHasFiniteDifferenceGradients()
    {
        // ⟨conv3d(x, W), y⟩ = ⟨x, conv_transpose3d(y, W)⟩: the defining property of the transpose.
        var g = new Generator(28);
        var x = Tensor.Randn([2, 3, 5, 4, 6], DType.Float64, generator: g);
        var w = Tensor.Randn([4, 3, 2, 3, 2], DType.Float64, generator: g);
        var forward = F.Conv3d(x, w, stride: (2, 1, 2), padding: (1, 1, 0));
        var y = Tensor.Randn(forward.Shape.ToArray(), DType.Float64, generator: g);
        // Output padding brings the transpose back to the input's size where the stride dropped rows.
        var back = F.ConvTranspose3d(y, w, stride: (2, 1, 2), padding: (1, 1, 0), outputPadding: (1, 0, 0));
        Check.Shape(x.Shape.ToArray(), back);
        Assert.Equal((forward * y).Sum().Item<double>(), (x * back).Sum().Item<double>(), 9);

        Check.Gradients(t => F.ConvTranspose3d(t[0], t[1], t[2], stride: (2, 1, 2), padding: (1, 0, 1), outputPadding: (1, 0, 0)),
            Check.Input([1, 2, 2, 3, 2], 29), Check.Input([2, 2, 2, 2, 2], 30), Check.Input([2], 31));
        Check.Gradients(t => F.ConvTranspose3d(t[0], t[1], groups: 2, dilation: (2, 1, 1)),
            Check.Input([1, 4, 2, 2, 2], 32), Check.Input([4, 1, 2, 2, 1], 33));
    }

    [Fact]
    public void ConvTranspose3dModule_HasPyTorchsShapesAndNames()
    {
        var conv = new ConvTranspose3d(4, 6, (2, 3, 3), stride: 2, groups: 2);
        Assert.Equal(["weight", "bias"], conv.StateDict().Keys);
        Check.Shape([4, 3, 2, 3, 3], conv.Weight);
        Assert.Equal("ConvTranspose3d(4, 6, kernel_size=(2, 3, 3), stride=(2, 2, 2), groups=2)", conv.ToString());
        // D: (3 − 1)·2 + 2 = 6; H and W: (4 − 1)·2 + 3 = 9.
        Check.Shape([1, 6, 6, 9, 9], conv.Forward(Tensor.Zeros([1, 4, 3, 4, 4])));
        Assert.Contains("ConvTranspose3d", Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros([1, 3, 3, 4, 4]))).Message);
    }

    [Fact]
    public void InstanceNorm2d_WithRunningStatistics_TrainsThemAndNormalisesByThemInEval()
    {
        var norm = new InstanceNorm2d(1, trackRunningStats: true, dtype: DType.Float64);
        Assert.Equal(["running_mean", "running_var", "num_batches_tracked"], norm.StateDict().Keys);
        // Two instances: means 2.5 and 5, unbiased variances 5/3 and 20/3.
        var x = Tensor.From(new double[] { 1, 2, 3, 4, 2, 4, 6, 8 }, [2, 1, 2, 2]);
        var trained = norm.Forward(x);
        Assert.True(trained.AllClose(F.InstanceNorm(x), 0, 0), "training normalises each instance by its own statistics");
        Check.Values([0.1 * 3.75], norm.RunningMean!);
        Check.Values([0.9 + 0.1 * 25.0 / 6], norm.RunningVar!);
        Assert.Equal(0L, norm.StateDict()["num_batches_tracked"].Item<long>());   // as PyTorch's, never advanced
        norm.Eval();
        var y = norm.Forward(x);
        double mean = 0.375, std = Math.Sqrt(0.9 + 0.1 * 25.0 / 6 + 1e-5);
        Check.Values(new double[] { 1, 2, 3, 4, 2, 4, 6, 8 }.Select(v => (v - mean) / std).ToArray(), y);
        Check.Values([0.375], norm.RunningMean!);   // eval leaves them
    }

    [Fact]
    public void InstanceNorm_RunningStatisticsPath_HasFiniteDifferenceGradients_AndRefusesOneValuePerChannel()
    {
        var mean = Tensor.From(new double[] { 0.5, -1 }, [2]);
        var variance = Tensor.From(new double[] { 2, 0.5 }, [2]);
        Check.Gradients(t => F.InstanceNorm(t[0], t[1], t[2], runningMean: mean, runningVar: variance, useInputStats: false),
            Check.Input([2, 2, 3], 34), Check.Input([2], 35), Check.Input([2], 36));
        // PyTorch: "Expected more than 1 spatial element when training".
        Assert.Contains("more than 1 spatial element", Assert.Throws<ArgumentException>(() => F.InstanceNorm(Tensor.Zeros([2, 3, 1, 1]))).Message);
    }
}
