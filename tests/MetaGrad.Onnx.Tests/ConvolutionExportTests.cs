using MetaGrad.NN;

namespace MetaGrad.Onnx.Tests;

/// <summary>Convolutions, pooling and batch normalisation (in evaluation) exported and run in ONNX Runtime.</summary>
public class ConvolutionExportTests
{
    static Func<int, Tensor> Images(int seed, params int[] rest) =>
        n => Tensor.Randn([n, .. rest], generator: new Generator((ulong)(seed * 1000 + n)));

    // Running statistics of their own, so that evaluation differs from a fresh layer's identity.
    static T WithRunningStatistics<T>(T norm, int channels, Generator g) where T : BatchNorm
    {
        using (Autograd.NoGrad())
        {
            norm.RunningMean!.Copy_(Tensor.Randn([channels], generator: g));
            norm.RunningVar!.Copy_(Tensor.Rand([channels], generator: g) + 0.5);
        }
        return norm;
    }

    [Fact]
    public void LeNet_MatchesOnnxRuntime_AtTheTracedBatchAndAnother()
    {
        var g = new Generator(10);
        var lenet = new Sequential(
            new Conv2d(1, 6, 5, padding: 2, generator: g), new ReLU(), new MaxPool2d(2),
            new Conv2d(6, 16, 5, generator: g), new ReLU(), new MaxPool2d(2),
            new Flatten(), new Linear(16 * 5 * 5, 120, generator: g), new ReLU(), new Linear(120, 84, generator: g), new ReLU(),
            new Linear(84, 10, generator: g));
        OnnxRuntimeCheck.ExportAndCompare(lenet, Images(10, 1, 28, 28), traced: 2, other: 3);
        // ONNX's own operators, and nothing else: MetaGrad's gather of the pooled maxima becomes MaxPool's output.
        var model = OnnxExport.Build(lenet, xs => [lenet.Forward(xs[0])], [Images(10, 1, 28, 28)(2)]);
        Assert.Equal(["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Reshape", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Identity"],
            model.Nodes.Select(n => n.OpType));
        Assert.All(model.Nodes.Where(n => n.OpType == "MaxPool"), n => Assert.Single(n.Outputs));   // no indices asked for
    }

    [Fact]
    public void StridedDilatedConv_PaddedMaxPool_AveragePools_AndBatchNorm_MatchOnnxRuntime()
    {
        var g = new Generator(11);
        var norm = WithRunningStatistics(new BatchNorm2d(8), 8, g);
        var model = new Sequential(
            new Conv2d(3, 8, (3, 2), stride: (2, 1), padding: (1, 0), dilation: (1, 2), generator: g), norm, new ReLU(),
            new MaxPool2d(3, stride: 2, padding: 1), new AvgPool2d(2, stride: 1), new Conv2d(8, 4, 1, bias: false, generator: g),
            new AdaptiveAvgPool2d((2, 3)), new Flatten(), new Linear(24, 5, generator: g));
        OnnxRuntimeCheck.ExportAndCompare(model, Images(11, 3, 13, 11));
    }

    [Fact]
    public void Conv1d_MaxPool1d_AndBatchNorm1d_MatchOnnxRuntime()
    {
        var g = new Generator(12);
        var norm = WithRunningStatistics(new BatchNorm1d(6), 6, g);
        var model = new Sequential(new Conv1d(4, 6, 3, padding: 1, generator: g), norm, new Tanh(), new MaxPool1d(2), new Conv1d(6, 2, 3, stride: 2, generator: g));
        OnnxRuntimeCheck.ExportAndCompare(model, Images(12, 4, 17));
    }
}

/// <summary>The rest of the convolution family and the other normalisations, exported and run in ONNX Runtime.</summary>
public class ConvolutionFamilyExportTests
{
    static Func<int, Tensor> Images(int seed, params int[] rest) =>
        n => Tensor.Randn([n, .. rest], generator: new Generator((ulong)(seed * 1000 + n)));

    [Fact]
    public void GroupedConv_GroupNorm_InstanceNorm_MatchOnnxRuntime()
    {
        var g = new Generator(13);
        var model = new Sequential(new Conv2d(4, 8, 3, padding: 1, groups: 2, generator: g), new GroupNorm(2, 8), new ReLU(),
            new Conv2d(8, 8, 3, groups: 8, generator: g), new InstanceNorm2d(8, affine: true));
        OnnxRuntimeCheck.ExportAndCompare(model, Images(13, 4, 7, 6));
    }

    [Fact]
    public void ConvTranspose2d_MatchesOnnxRuntime()
    {
        var g = new Generator(14);
        var model = new Sequential(new ConvTranspose2d(3, 4, 3, stride: 2, padding: 1, outputPadding: 1, generator: g), new Tanh(),
            new ConvTranspose2d(4, 2, (2, 3), generator: g));
        OnnxRuntimeCheck.ExportAndCompare(model, Images(14, 3, 5, 4));
    }

    [Fact]
    public void Conv3d_MatchesOnnxRuntime()
    {
        var g = new Generator(15);
        var model = new Sequential(new Conv3d(2, 3, 3, padding: 1, generator: g), new ReLU(), new Conv3d(3, 2, (1, 2, 2), stride: (1, 2, 2), generator: g));
        OnnxRuntimeCheck.ExportAndCompare(model, Images(15, 2, 4, 5, 6));
    }

    [Fact]
    public void RmsNorm_MatchesOnnxRuntime()
    {
        var model = new Sequential(new Linear(6, 6, generator: new Generator(16)), new RMSNorm([6]));
        OnnxRuntimeCheck.ExportAndCompare(model, Images(16, 6));
    }

    [Fact]
    public void AdaptiveMaxPool_AvgPool1d_ConvTranspose1d_MatchOnnxRuntime()
    {
        var g = new Generator(17);
        var images = new Sequential(new Conv2d(2, 3, 3, generator: g), new AdaptiveMaxPool2d((2, 3)), new Flatten());
        OnnxRuntimeCheck.ExportAndCompare(images, Images(17, 2, 9, 10));
        var sequences = new Sequential(new ConvTranspose1d(3, 4, 3, stride: 2, generator: g), new AvgPool1d(3, stride: 2, padding: 1), new Conv1d(4, 2, 2, generator: g));
        OnnxRuntimeCheck.ExportAndCompare(sequences, Images(18, 3, 7));
    }
}
