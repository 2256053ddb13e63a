using MetaGrad.NN;
using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests.NN;

/// <summary>
/// Convolutions and pooling on values worked by hand, finite-difference gradients (first and
/// second order) in float64, and the errors PyTorch raises. Against libtorch: ConvolutionConformance.
/// </summary>
public class ConvolutionTests
{
    static Tensor Range(params int[] shape) => Tensor.Arange(1, shape.Aggregate(1, (a, b) => a * b) + 1, dtype: DType.Float64).Reshape(shape);

    [Fact]
    public void Conv2d_SumsEachWindowTimesTheKernel()
    {
        // 1 2 3 / 4 5 6 / 7 8 9 with a 2×2 kernel of ones: each output is its window's sum.
        var y = F.Conv2d(Range(1, 1, 3, 3), Tensor.Ones([1, 1, 2, 2], DType.Float64));
        Check.Values([12.0, 16, 24, 28], y);
        Check.Shape([1, 1, 2, 2], y);
    }

    [Fact]
    public void Conv2d_PaddingStrideDilationAndBias()
    {
        // Padding 1, stride 2: windows at (-1,-1), (-1,1), (1,-1), (1,1) of the zero-padded image.
        var x = Range(1, 1, 3, 3);
        var w = Tensor.Ones([1, 1, 2, 2], DType.Float64);
        Check.Values([1.0 + 10, 2 + 3 + 10, 4 + 7 + 10, 5 + 6 + 8 + 9 + 10], F.Conv2d(x, w, Tensor.From(new[] { 10.0 }, [1]), stride: 2, padding: 1));
        // Dilation 2 on a 3×3 image with a 2×2 kernel picks the four corners: 1 + 3 + 7 + 9.
        Check.Values([20.0], F.Conv2d(x, w, dilation: 2));
    }

    [Fact]
    public void Conv2d_GroupsConvolveChannelGroupsApart()
    {
        // Two channels, two groups, 1×1 kernels 2 and 3: each output channel scales its own input channel.
        var x = Range(1, 2, 1, 2);
        var w = Tensor.From(new[] { 2.0, 3.0 }, [2, 1, 1, 1]);
        Check.Values([2.0, 4, 9, 12], F.Conv2d(x, w, groups: 2));
    }

    [Fact]
    public void Conv2d_SamePaddingKeepsTheSizeAndPadsTheOddOneAfter()
    {
        // A 1×2 kernel [1, 1] pads one zero on the right (PyTorch): each output is x + its right neighbour.
        var y = F.Conv2d(Range(1, 1, 1, 3), Tensor.Ones([1, 1, 1, 2], DType.Float64), padding: "same");
        Check.Values([3.0, 5, 3], y);
    }

    [Fact]
    public void ConvTranspose2d_SpreadsEachPixelAsAWeightedKernel()
    {
        // Input [1, 2] with kernel [1, 1] and stride 1: [1, 1+2, 2]; with stride 2: [1, 1, 2, 2].
        var x = Tensor.From(new[] { 1.0, 2.0 }, [1, 1, 1, 2]);
        var w = Tensor.Ones([1, 1, 1, 2], DType.Float64);
        Check.Values([1.0, 3, 2], F.ConvTranspose2d(x, w));
        Check.Values([1.0, 1, 2, 2], F.ConvTranspose2d(x, w, stride: 2));
    }

    [Fact]
    public void Pooling_MaxAverageAndAdaptive()
    {
        var x = Range(1, 1, 4, 4);
        Check.Values([6.0, 8, 14, 16], F.MaxPool2d(x, 2));
        Check.Values([3.5, 5.5, 11.5, 13.5], F.AvgPool2d(x, 2));
        Check.Values([8.5], F.AdaptiveAvgPool2d(x, 1));
        Check.Values([16.0], F.AdaptiveMaxPool2d(x, 1));
        var (values, indices) = F.MaxPool2dWithIndices(x, 2);
        Check.Values([6.0, 8, 14, 16], values);
        Assert.Equal([5L, 7, 13, 15], indices.ToArray<long>());
        Check.Values([0.0, 0, 0, 0, 0, 6, 0, 8, 0, 0, 0, 0, 0, 14, 0, 16], F.MaxUnpool2d(values, indices, 2));
    }

    [Fact]
    public void MaxPool2d_GivesTheGradientToTheFirstOfTiedMaxima()
    {
        // PyTorch's rule for pooling (unlike Max over a dim, which splits ties): the first in the window wins.
        var x = Tensor.Zeros([1, 1, 2, 2], DType.Float64).RequiresGrad_();
        F.MaxPool2d(x, 2).Sum().Backward();
        Check.Values([1.0, 0, 0, 0], x.Grad!);
    }

    // Float windows inside the image are compared eight at a time (gathers and masks); float64 runs
    // the scalar loop. Both pick the same winners, ties to the first and NaN over any number,
    // on rows wide enough for whole vectors, an overlapping last one, and scalar edges, and on
    // rows too short for eight, taken across rows.
    [Theory]
    [InlineData(2, 2, 2, 2, 0, 0, 1, 1, 28, 28)]
    [InlineData(3, 3, 1, 1, 1, 1, 1, 1, 9, 21)]
    [InlineData(3, 3, 2, 2, 1, 1, 2, 2, 13, 40)]
    [InlineData(2, 3, 1, 2, 0, 1, 1, 1, 7, 35)]
    [InlineData(2, 2, 2, 2, 0, 0, 1, 1, 10, 10)]      // rows of 5: eight windows at a time across rows
    [InlineData(3, 2, 2, 3, 0, 0, 1, 2, 11, 9)]
    public void MaxPool2d_VectorWindows_PickTheScalarLoopsWinners(int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int h, int w)
    {
        var g = new Generator(11);
        // Few levels, so that windows often tie; a few NaNs.
        var x = (Tensor.Rand([2, 3, h, w], DType.Float64, generator: g) * 4).Floor();
        var flat = x.ToArray<double>();
        for (int i = 0; i < flat.Length; i += 37) flat[i] = double.NaN;
        x = Tensor.From(flat, [2, 3, h, w]);
        var (values64, indices64) = F.MaxPool2dWithIndices(x, (kh, kw), (sh, sw), (ph, pw), (dh, dw));
        var (values32, indices32) = F.MaxPool2dWithIndices(x.To(DType.Float32), (kh, kw), (sh, sw), (ph, pw), (dh, dw));
        Assert.Equal(indices64.ToArray<long>(), indices32.ToArray<long>());
        Assert.Equal(values64.ToArray<double>(), values32.To(DType.Float64).ToArray<double>());
    }

    [Fact]
    public void MaxPool2d_AWindowOfPaddingAlone_IsMinusInfinityAtPyTorchsIndex()
    {
        // Width 1, kernel (1, 2), dilation 2, padding (0, 1): the window's columns are -1 and 1, both
        // padding. PyTorch gives -inf and the index of the first column at or past 0 by the
        // dilation's steps (column 1, past the edge); the gradient reaches no pixel.
        var x = Tensor.From(new[] { 5.0, 6 }, [1, 1, 2, 1]).RequiresGrad_();
        var (values, indices) = F.MaxPool2dWithIndices(x, (1, 2), stride: 1, padding: (0, 1), dilation: (1, 2));
        Check.Values([double.NegativeInfinity, double.NegativeInfinity], values);
        Assert.Equal([1L, 2], indices.ToArray<long>());
        F.MaxPool2d(x, (1, 2), stride: 1, padding: (0, 1), dilation: (1, 2)).Exp().Sum().Backward();
        Check.Values([0.0, 0], x.Grad!);
    }

    [Fact]
    public void GatherAndScatterAddAlongContiguousRows_EqualTheGeneralPath()
    {
        // The fast path takes contiguous operands gathered along the last dim; a transposed copy of
        // the same values goes the general way.
        var x = Check.Input([3, 4, 7], 12).Detach();
        var index = Tensor.From(new long[] { 6, 0, 0, 3, 5, 1, 2, 2, 4, 6, 6, 0 }, [3, 4, 1]).Expand(3, 4, 5).Contiguous();
        var strided = x.Transpose(0, 1).Contiguous().Transpose(0, 1);
        Assert.False(strided.IsContiguous);
        Check.Values(strided.Gather(2, index).ToArray<double>(), x.Gather(2, index));
        var src = Check.Input([3, 4, 5], 13).Detach();
        Check.Values(strided.ScatterAdd(2, index, src).ToArray<double>(), x.ScatterAdd(2, index, src));
        Assert.Contains("out of bounds", Assert.Throws<ArgumentOutOfRangeException>(() => x.Gather(2, index + 7L)).Message);
    }

    [Fact]
    public void AvgPool2d_CountIncludePadAndCeilMode()
    {
        var x = Range(1, 1, 3, 3);
        // Padding 1, kernel 2, stride 2: the corner window holds 1 and three zeros of padding.
        Check.Values([0.25, 1.25, 2.75, 7.0], F.AvgPool2d(x, 2, padding: 1));
        Check.Values([1.0, 2.5, 5.5, 7.0], F.AvgPool2d(x, 2, padding: 1, countIncludePad: false));
        // Ceil mode on 3×3 with kernel 2: the last window hangs off the edge and divides by what it covers.
        Check.Values([3.0, 4.5, 7.5, 9.0], F.AvgPool2d(x, 2, ceilMode: true));
    }

    [Fact]
    public void Dropout2d_ZeroesWholeChannelsAndScalesTheRest()
    {
        var x = Tensor.Ones([8, 16, 3, 3]);
        var y = F.Dropout2d(x, 0.5, generator: new Generator(4));
        var perChannel = y.Reshape(8 * 16, 9);
        // Every channel is all zeros or all 2 (= 1 / (1 - p)), and both kinds occur.
        var sums = perChannel.Sum([1]).ToArray<float>();
        Assert.All(sums, v => Assert.True(v == 0 || v == 18, $"channel sum {v}"));
        Assert.Contains(0f, sums);
        Assert.Contains(18f, sums);
        Assert.Same(x, F.Dropout2d(x, 0.5, training: false));
    }

    [Fact]
    public void Interpolate_NearestAndBilinear()
    {
        var x = Tensor.From(new[] { 1.0, 2.0 }, [1, 1, 1, 2]);
        Check.Values([1.0, 1, 2, 2], F.Interpolate(x, scaleFactor: [1, 2]));
        // Corners aligned: 0 and 1 at the ends, evenly between; centres aligned: PyTorch's (dst + ½)·scale − ½, clamped at 0.
        var ramp = Tensor.From(new[] { 0.0, 1.0 }, [1, 1, 1, 2]);
        Check.Values([0.0, 0.5, 1], F.Interpolate(ramp, size: [1, 3], mode: "bilinear", alignCorners: true));
        Check.Values([0.0, 0.25, 0.75, 1], F.Interpolate(ramp, size: [1, 4], mode: "bilinear"));
        var shuffled = F.PixelShuffle(Range(1, 4, 1, 1), 2);
        Check.Values([1.0, 2, 3, 4], shuffled);
        Check.Values([1.0, 2, 3, 4], F.PixelUnshuffle(shuffled, 2));
    }

    [Fact]
    public void Pad_ReflectReplicateCircular()
    {
        var x = Tensor.From(new[] { 1.0, 2, 3 }, [1, 1, 3]);
        Check.Values([3.0, 2, 1, 2, 3, 2], F.Pad(x, [2, 1], mode: "reflect"));
        Check.Values([1.0, 1, 1, 2, 3, 3], F.Pad(x, [2, 1], mode: "replicate"));
        Check.Values([2.0, 3, 1, 2, 3, 1], F.Pad(x, [2, 1], mode: "circular"));
        Check.Values([double.NegativeInfinity, 1, 2, 3], F.Pad(x, [1, 0], value: double.NegativeInfinity));
    }

    [Fact]
    public void Convolutions_HaveFiniteDifferenceGradients()
    {
        var x = Check.Input([2, 4, 5, 6], 3);
        var w = Check.Input([4, 2, 3, 2], 4);
        var b = Check.Input([4], 5);
        Check.Gradients(t => F.Conv2d(t[0], t[1], t[2], stride: (2, 1), padding: (1, 2), dilation: (1, 2), groups: 2), x, w, b);
        var wt = Check.Input([4, 3, 2, 3], 6);
        Check.Gradients(t => F.ConvTranspose2d(t[0], t[1], stride: 2, padding: 1, outputPadding: 1, dilation: 2), x, wt);
        Check.Gradients(t => F.Conv1d(t[0], t[1], stride: 2, padding: 1), Check.Input([2, 3, 7], 7), Check.Input([2, 3, 3], 8));
    }

    [Fact]
    public void Conv3d_IsASumOfConv2dOverDepth_AndHasFiniteDifferenceGradients()
    {
        // A kernel one deep and one pixel wide of 1s: the output is the sum over channels of the input.
        var x = Range(1, 2, 2, 1, 2);
        Check.Values([1.0 + 5, 2 + 6, 3 + 7, 4 + 8], F.Conv3d(x, Tensor.Ones([1, 2, 1, 1, 1], DType.Float64)));
        // Depth 3 with a kernel 2 deep of 1s and stride 1: adjacent depth planes added.
        Check.Values([1.0 + 2, 2 + 3], F.Conv3d(Range(1, 1, 3, 1, 1), Tensor.Ones([1, 1, 2, 1, 1], DType.Float64)));
        Check.Gradients(t => F.Conv3d(t[0], t[1], t[2], stride: (2, 1, 2), padding: (1, 1, 0), dilation: (1, 2, 1)),
            Check.Input([2, 2, 4, 5, 4], 17), Check.Input([3, 2, 2, 2, 3], 18), Check.Input([3], 19));
        Check.Gradients(t => F.Conv3d(t[0], t[1], samePadding: true), Check.Input([1, 2, 3, 3, 3], 20), Check.Input([2, 2, 2, 3, 2], 21));
        Assert.Equal("Conv3d(2, 4, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1))", new Conv3d(2, 4, 3, padding: 1).ToString());
    }

    [Fact]
    public void Pooling_HasFiniteDifferenceGradients()
    {
        var x = Check.Input([2, 3, 5, 7], 9);
        Check.Gradients(t => F.MaxPool2d(t[0], 3, stride: 2, padding: 1, ceilMode: true), x);
        Check.Gradients(t => F.AvgPool2d(t[0], (2, 3), stride: (2, 2), padding: 1, ceilMode: true, countIncludePad: false), x);
        Check.Gradients(t => F.AdaptiveAvgPool2d(t[0], (3, 4)), x);
        Check.Gradients(t => F.AdaptiveMaxPool2d(t[0], (2, 3)), x);
        Check.Gradients(t => F.Pad(t[0], [2, 1, 1, 3], mode: "reflect"), x);
    }

    [Fact]
    public void Conv2d_InputGradientDifferentiatesAgain()
    {
        // A gradient penalty (WGAN-GP) differentiates the input gradient of a convolution again.
        var x = Check.Input([1, 2, 4, 4], 10);
        var w = Check.Input([3, 2, 3, 3], 11);
        Check.Gradients(t =>
        {
            var y = F.Conv2d(t[0], t[1], padding: 1).Tanh().Sum();
            var gx = Autograd.Grad([y], [t[0]], createGraph: true)[0]!;
            return (gx * gx).Sum();
        }, x, w);
    }

    [Fact]
    public void Conv2d_RefusesBadShapesNamingThem()
    {
        var x = Tensor.Zeros([1, 3, 4, 4]);
        Assert.Contains("divisible by groups", Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros([1, 4, 4, 4]), Tensor.Zeros([3, 2, 3, 3]), groups: 2)).Message);
        Assert.Contains("smaller than the (dilated) kernel", Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Zeros([2, 3, 5, 5]))).Message);
        Assert.Contains("[1, 3, 4, 4]", Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Zeros([2, 4, 3, 3]))).Message);
        Assert.Contains("padding must be non-negative", Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Zeros([2, 3, 3, 3]), padding: -1)).Message);
        Assert.Contains("Conv2d", Assert.Throws<ArgumentException>(() => new Conv2d(3, 4, 3).Forward(Tensor.Zeros([3, 4, 4, 4, 4]))).Message);
    }

    [Fact]
    public void Conv2dModule_HasPyTorchsParameterNamesShapesAndPrint()
    {
        var conv = new Conv2d(3, 8, 5, stride: 2, padding: 1, bias: true);
        Assert.Equal(["weight", "bias"], conv.NamedParameters().Select(p => p.Name));
        Check.Shape([8, 3, 5, 5], conv.Weight);
        Assert.Equal("Conv2d(3, 8, kernel_size=(5, 5), stride=(2, 2), padding=(1, 1))", conv.ToString());
        // U(-1/√fan_in, 1/√fan_in) with fan_in = 3·5·5.
        double bound = 1 / Math.Sqrt(75);
        Assert.True(conv.Weight.Abs().Max().Item<float>() <= bound && conv.Weight.Abs().Max().Item<float>() > bound * 0.8);
        var bn = new BatchNorm2d(8);
        Assert.Equal(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"], bn.StateDict().Keys);
    }

    [Fact]
    public void BatchNorm2d_FusedNodeHasFiniteDifferenceGradients_OfFirstAndSecondOrder()
    {
        var x = Check.Input([3, 2, 2, 3], 14);
        var w = Check.Input([2], 15);
        var b = Check.Input([2], 16);
        Check.Gradients(t => Functions.Ops.BatchNormTraining(t[0], t[1], t[2], 1e-5).Output, x, w, b);
        Check.Gradients(t => Functions.Ops.BatchNormTraining(t[0], null, null, 1e-5).Output, x);
        Check.Gradients(t =>
        {
            var y = Functions.Ops.BatchNormTraining(t[0], t[1], t[2], 1e-5).Output;
            var gx = Autograd.Grad([(y * y * y).Sum()], [t[0]], createGraph: true)[0]!;
            return (gx * gx).Sum();
        }, x, w, b);
    }

    [Fact]
    public void BatchNorm2d_NormalisesEachChannelOverBatchAndSpace()
    {
        var bn = new BatchNorm2d(2, momentum: null);
        var x = Range(2, 2, 2, 2).To(DType.Float32);
        var y = bn.Forward(x);
        // Per channel, mean 0 and (biased) variance 1 over N, H, W.
        var mean = y.Mean([0, 2, 3]);
        var variance = y.Var([0, 2, 3], correction: 0);
        Check.Values([0f, 0f], mean, 1e-5f);
        Check.Values([1f, 1f], variance, 1e-3f);
        // Channel 0 holds 1..4 and 9..12: mean 6.5; momentum None puts the batch's statistics in the running ones.
        Check.Values([6.5f, 10.5f], bn.RunningMean!, 1e-5f);
    }
}
