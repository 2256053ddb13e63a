using System.Runtime.Intrinsics;
using MetaGrad.Backends.Cpu;
using MetaGrad.Functions;
using MetaGrad.NN;
using MetaGrad.Tests.Backends;
using Xunit.Abstractions;

namespace MetaGrad.Tests.NN;

/// <summary>
/// The implicit-GEMM convolution (the GEMM's B panels written straight from the image, never the
/// column matrix) held equal to the composed form it replaces (Unfold and a matrix product), on
/// shapes that cut its panels and slices every way: batch 1 (threads share each sample's products)
/// and batches split between threads, panels that span output rows, padding and strides whose
/// windows read outside the image, several K slices and column blocks, and both input-gradient
/// paths (a convolution with the flipped kernel at stride 1, Wᵀ·dy folded back otherwise).
/// </summary>
[Collection(ProcessWideState.Name)]   // switches kernels and the thread count
public class FusedConvolutionTests(ITestOutputHelper output)
{
    // n, c, o, h, w, kernel (h, w), stride (h, w), padding (h, w), dilation (h, w)
    public static TheoryData<int, int, int, int, int, (int, int), (int, int), (int, int), (int, int)> Shapes => new()
    {
        { 1, 1, 1, 5, 5, (3, 3), (1, 1), (0, 0), (1, 1) },
        { 2, 3, 4, 7, 9, (3, 2), (1, 1), (1, 1), (1, 1) },
        { 3, 5, 6, 11, 10, (3, 3), (2, 2), (1, 1), (1, 1) },      // strided: the input gradient folds Wᵀ·dy back
        { 4, 2, 3, 9, 8, (3, 3), (1, 1), (2, 2), (2, 2) },        // dilated, stride 1: the flipped-kernel convolution
        { 2, 4, 5, 6, 6, (2, 2), (1, 1), (3, 2), (1, 1) },        // padding past the kernel: no adjoint convolution
        { 5, 16, 40, 20, 37, (3, 3), (1, 1), (1, 1), (1, 1) },    // panels across output rows, rows of A in 6s and 4s
        { 2, 64, 8, 6, 5, (5, 5), (1, 1), (2, 2), (1, 1) },       // K = 1600: several K slices forwards
        { 3, 3, 7, 40, 40, (3, 3), (1, 1), (1, 1), (1, 1) },      // 1600 positions: several K slices of the weight's gradient
        { 1, 2, 3, 70, 70, (3, 3), (1, 1), (1, 1), (1, 1) },      // 4900 positions: two column blocks
        { 3, 4, 5, 13, 12, (3, 2), (2, 1), (0, 1), (1, 2) },      // stride and dilation differing by dim
        { 2, 3, 2, 9, 9, (1, 1), (3, 3), (0, 0), (1, 1) },        // stride past the kernel: pixels no window reads
        // Whole samples per thread, output rows a whole number of the kernel's vectors: the kernel
        // reads the windows from the zero-bordered image (Gemm.MultiplyShifted). 16 wide: a panel
        // of 32 floats spans two output rows; 31 output channels end in a partial row panel.
        { 4, 16, 31, 16, 16, (3, 3), (1, 1), (1, 1), (1, 1) },
        { 4, 40, 12, 8, 32, (3, 3), (1, 1), (1, 1), (1, 1) },     // K = 360: two K slices
        { 6, 32, 20, 8, 16, (3, 3), (1, 1), (2, 2), (2, 2) },     // dilated
        { 4, 16, 30, 18, 18, (3, 3), (1, 1), (0, 0), (1, 1) },    // no padding: the image itself, rows 18 apart
    };

    static bool RanFused(Tensor y) => y.GradFn is FusedConv2d;

    [Theory, MemberData(nameof(Shapes))]
    public void ValuesAndGradients_EqualTheComposedForm_Float64(int n, int c, int o, int h, int w, (int, int) kernel, (int, int) stride, (int, int) padding, (int, int) dilation) =>
        Compare(n, c, o, h, w, kernel, stride, padding, dilation, DType.Float64, 1e-11);

    [Theory, MemberData(nameof(Shapes))]
    public void ValuesAndGradients_EqualTheComposedForm_Float32(int n, int c, int o, int h, int w, (int, int) kernel, (int, int) stride, (int, int) padding, (int, int) dilation)
    {
        foreach (var _ in VectorWidths.OfGemm(output))
            Compare(n, c, o, h, w, kernel, stride, padding, dilation, DType.Float32, 1e-4);
    }

    // The 512-bit kernels over twelve rows of the weight run each output's multiply-adds in the
    // order the 6-row kernels do: switching them off changes no bit of the output or gradients.
    [Theory, MemberData(nameof(Shapes))]
    public void TwelveRowKernels_GiveTheBitsOfTheSixRowKernels(int n, int c, int o, int h, int w, (int, int) kernel, (int, int) stride, (int, int) padding, (int, int) dilation)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            output.WriteLine("Vector512 is not accelerated on this machine: the twelve-row kernels cannot run here.");
            return;
        }
        var g = new Generator((ulong)(n * 1000 + c * 100 + o * 10 + h + w + 1));
        var x = Tensor.Randn([n, c, h, w], generator: g).RequiresGrad_();
        var weight = Tensor.Randn([o, c, kernel.Item1, kernel.Item2], generator: g).RequiresGrad_();
        var bias = Tensor.Randn([o], generator: g).RequiresGrad_();
        Tensor[] Run()
        {
            var y = Functional.Conv2d(x, weight, bias, stride, padding, dilation);
            var grads = Autograd.Grad([y], [x, weight, bias], [y.Detach()]);
            return [y, grads[0]!, grads[1]!, grads[2]!];
        }
        try
        {
            Gemm.UseTwelveRows = true;
            var twelve = Run();
            Gemm.UseTwelveRows = false;
            var six = Run();
            for (int i = 0; i < 4; i++) Assert.Equal(six[i].ToArray<float>(), twelve[i].ToArray<float>());
        }
        finally
        {
            Gemm.UseTwelveRows = Gemm.TwelveRowsByDefault;
        }
    }

    static void Compare(int n, int c, int o, int h, int w, (int, int) kernel, (int, int) stride, (int, int) padding, (int, int) dilation, DType dtype, double tolerance)
    {
        var g = new Generator((ulong)(n * 1000 + c * 100 + o * 10 + h + w));
        // The input as a transposed view: the kernel reads it dense either way.
        var x = Tensor.Randn([n, c, w, h], dtype, generator: g).Transpose(2, 3).RequiresGrad_();
        var weight = Tensor.Randn([o, c, kernel.Item1, kernel.Item2], dtype, generator: g).RequiresGrad_();
        var bias = Tensor.Randn([o], dtype, generator: g).RequiresGrad_();
        var fused = Functional.Conv2d(x, weight, bias, stride, padding, dilation);
        Assert.True(RanFused(fused));
        var windows = new MetaGrad.Backends.Windows2d(kernel.Item1, kernel.Item2, dilation.Item1, dilation.Item2, padding.Item1, padding.Item2, stride.Item1, stride.Item2);
        var composed = Functional.ComposedConv2d(x, weight, bias, windows, groups: 1);
        Assert.Equal(composed.Shape.ToArray(), fused.Shape.ToArray());
        Assert.True(fused.AllClose(composed, tolerance, tolerance), "output");
        var gradOutput = Tensor.Randn(fused.Shape.ToArray(), dtype, generator: g);
        var fusedGrads = Autograd.Grad([fused], [x, weight, bias], [gradOutput]);
        var composedGrads = Autograd.Grad([composed], [x, weight, bias], [gradOutput]);
        string[] names = ["input", "weight", "bias"];
        for (int i = 0; i < 3; i++)
            Assert.True(fusedGrads[i]!.AllClose(composedGrads[i]!, tolerance, tolerance), $"grad of {names[i]}");
    }

    // Depthwise (groups = channels): n, channels, multiplier (outputs per channel), h, w, kernel,
    // stride, padding, dilation. Rows narrower and wider than the kernel's vectors, strides that
    // split rows into phases, padding past half the kernel, batch 1 and one plane per thread.
    public static TheoryData<int, int, int, int, int, (int, int), (int, int), (int, int), (int, int)> DepthwiseShapes => new()
    {
        { 2, 3, 1, 7, 9, (3, 3), (1, 1), (1, 1), (1, 1) },
        { 1, 4, 2, 12, 37, (3, 3), (1, 1), (1, 1), (1, 1) },    // multiplier 2, a row of 37: four vectors, a partial one
        { 3, 5, 1, 11, 10, (3, 3), (2, 2), (1, 1), (1, 1) },    // stride 2: columns in two phases
        { 2, 2, 3, 13, 14, (5, 3), (3, 2), (2, 1), (1, 2) },    // stride 3, dilation 2 across phases
        { 2, 6, 1, 9, 8, (7, 7), (1, 1), (3, 3), (1, 1) },      // ConvNeXt's 7×7
        { 1, 3, 1, 5, 6, (2, 2), (1, 1), (3, 2), (1, 1) },      // padding past the kernel
        { 4, 8, 1, 33, 70, (3, 3), (1, 1), (0, 0), (2, 2) },    // wide rows, no padding, dilated
    };

    [Theory, MemberData(nameof(DepthwiseShapes))]
    public void Depthwise_ValuesAndGradients_EqualTheComposedForm(int n, int c, int multiplier, int h, int w, (int, int) kernel, (int, int) stride, (int, int) padding, (int, int) dilation)
    {
        foreach (var (dtype, tolerance) in new[] { (DType.Float64, 1e-11), (DType.Float32, 1e-4) })
        {
            var g = new Generator((ulong)(n * 1000 + c * 100 + multiplier * 10 + h + w));
            var x = Tensor.Randn([n, c, w, h], dtype, generator: g).Transpose(2, 3).RequiresGrad_();
            var weight = Tensor.Randn([c * multiplier, 1, kernel.Item1, kernel.Item2], dtype, generator: g).RequiresGrad_();
            var bias = Tensor.Randn([c * multiplier], dtype, generator: g).RequiresGrad_();
            var fused = Functional.Conv2d(x, weight, bias, stride, padding, dilation, groups: c);
            Assert.True(RanFused(fused));
            var windows = new MetaGrad.Backends.Windows2d(kernel.Item1, kernel.Item2, dilation.Item1, dilation.Item2, padding.Item1, padding.Item2, stride.Item1, stride.Item2);
            var composed = Functional.ComposedConv2d(x, weight, bias, windows, groups: c);
            Assert.Equal(composed.Shape.ToArray(), fused.Shape.ToArray());
            Assert.True(fused.AllClose(composed, tolerance, tolerance), $"output ({dtype})");
            var gradOutput = Tensor.Randn(fused.Shape.ToArray(), dtype, generator: g);
            var fusedGrads = Autograd.Grad([fused], [x, weight, bias], [gradOutput]);
            var composedGrads = Autograd.Grad([composed], [x, weight, bias], [gradOutput]);
            string[] names = ["input", "weight", "bias"];
            for (int i = 0; i < 3; i++)
                Assert.True(fusedGrads[i]!.AllClose(composedGrads[i]!, tolerance, tolerance), $"grad of {names[i]} ({dtype})");
        }
    }

    [Fact]
    public void Depthwise_HasFiniteDifferenceGradients_AndSecondDerivatives()
    {
        Check.Gradients(t => Functional.Conv2d(t[0], t[1], t[2], stride: 2, padding: 1, groups: 3), Check.Input([2, 3, 5, 6], 41), Check.Input([6, 1, 3, 3], 42), Check.Input([6], 43));
        // createGraph: the fused node's backward falls back to the composed form, groups and all.
        var x = Check.Input([1, 2, 4, 5], 44);
        var w = Check.Input([2, 1, 3, 3], 45);
        Check.Gradients(t =>
        {
            var y = Functional.Conv2d(t[0], t[1], padding: 1, groups: 2);
            var gx = Autograd.Grad([(y * y).Sum()], [t[0]], createGraph: true)[0]!;
            return (gx * gx).Sum();
        }, x, w);
    }

    // Other grouped convolutions: one fused node, each (sample, group) a one-group convolution of
    // the group's channels where they lie, with its group's slice of the weight.
    [Theory]
    [InlineData(2, 4, 6, 2, 9, 11, 3, 1, 1)]
    [InlineData(3, 6, 3, 3, 8, 8, 3, 2, 1)]       // stride 2, one output channel per group
    [InlineData(1, 8, 8, 4, 16, 16, 3, 1, 1)]     // rows of whole vectors: the shifted kernel per group
    [InlineData(2, 4, 12, 2, 7, 7, 3, 1, 1)]      // a group that widens (2 → 6 channels): the input's gradient folded back (col2im)
    [InlineData(4, 64, 64, 2, 8, 8, 3, 1, 1)]     // 32 output channels a group: the weight's gradient as dWᵀ, samples split between threads
    [InlineData(3, 6, 6, 6, 9, 9, 3, 1, 1)]       // depthwise ones go to their own kernel
    [InlineData(2, 3, 6, 3, 40, 40, 33, 1, 1)]    // one channel a group past the depthwise kernel's 1,024 taps
    public void Grouped_ValuesAndGradients_EqualTheComposedForm(int n, int c, int o, int groups, int h, int w, int kernel, int stride, int padding)
    {
        foreach (var (dtype, tolerance) in new[] { (DType.Float64, 1e-11), (DType.Float32, 1e-4) })
        {
            var g = new Generator((ulong)(n * 100 + c * 10 + groups));
            var x = Tensor.Randn([n, c, h, w], dtype, generator: g).RequiresGrad_();
            var weight = Tensor.Randn([o, c / groups, kernel, kernel], dtype, generator: g).RequiresGrad_();
            var bias = Tensor.Randn([o], dtype, generator: g).RequiresGrad_();
            var fused = Functional.Conv2d(x, weight, bias, stride, padding, groups: groups);
            Assert.True(fused.GradFn is Functions.FusedConv2d { Groups: var ran } && ran == groups, "one fused node for all the groups");
            var windows = new MetaGrad.Backends.Windows2d(kernel, kernel, 1, 1, padding, padding, stride, stride);
            var composed = Functional.ComposedConv2d(x, weight, bias, windows, groups);
            Assert.True(fused.AllClose(composed, tolerance, tolerance), $"output ({dtype})");
            var gradOutput = Tensor.Randn(fused.Shape.ToArray(), dtype, generator: g);
            var fusedGrads = Autograd.Grad([fused], [x, weight, bias], [gradOutput]);
            var composedGrads = Autograd.Grad([composed], [x, weight, bias], [gradOutput]);
            for (int i = 0; i < 3; i++) Assert.True(fusedGrads[i]!.AllClose(composedGrads[i]!, tolerance, tolerance), $"gradient {i} ({dtype})");
        }
        Check.Gradients(t => Functional.Conv2d(t[0], t[1], padding: 1, groups: 2), Check.Input([1, 4, 3, 4], 46), Check.Input([2, 2, 3, 3], 47));
    }

    // Grouped: each gradient alone (the weight's partials per group and thread, the input's by the
    // adjoint convolution or col2im) equals the composed form's, one and two threads.
    [Theory]
    [InlineData(8, 8, 4)]    // two channels in and out a group: the input's gradient by the adjoint convolution
    [InlineData(4, 12, 2)]   // a widening group (2 → 6 channels): by col2im
    public void Grouped_EachGradientAlone_EqualsTheComposedForm(int c, int o, int groups)
    {
        var g = new Generator(8);
        var x = Tensor.Randn([5, c, 7, 6], DType.Float64, generator: g);
        var weight = Tensor.Randn([o, x.Shape[1] / groups, 3, 3], DType.Float64, generator: g);
        var bias = Tensor.Randn([o], DType.Float64, generator: g);
        var windows = new MetaGrad.Backends.Windows2d(3, 3, 1, 1, 1, 1, 1, 1);
        var upstream = Tensor.Randn([5, o, 7, 6], DType.Float64, generator: new Generator(9));
        foreach (int threads in new[] { 1, 2 })
        {
            using var _ = ThreadScope.Of(threads);
            foreach (int wanted in new[] { 0, 1, 2 })
            {
                Tensor[] inputs = [x.Detach().RequiresGrad_(), weight.Detach().RequiresGrad_(), bias.Detach().RequiresGrad_()];
                var fused = Functional.Conv2d(inputs[0], inputs[1], inputs[2], padding: 1, groups: groups);
                var composed = Functional.ComposedConv2d(inputs[0], inputs[1], inputs[2], windows, groups);
                var expected = Autograd.Grad([composed], [inputs[wanted]], [upstream])[0]!;
                Assert.True(Autograd.Grad([fused], [inputs[wanted]], [upstream])[0]!.AllClose(expected, 1e-11, 1e-11), $"gradient {wanted} alone, {threads} threads");
            }
        }
    }

    [Fact]
    public void OnlyTheGradientsAskedFor_AreComputed_AndEqualTheComposedForm()
    {
        var g = new Generator(3);
        var x = Tensor.Randn([3, 2, 6, 7], DType.Float64, generator: g);
        var weight = Tensor.Randn([4, 2, 3, 3], DType.Float64, generator: g).RequiresGrad_();
        var bias = Tensor.Randn([4], DType.Float64, generator: g);
        var y = Functional.Conv2d(x, weight, bias, padding: 1);
        var expected = Functional.ComposedConv2d(x, weight, bias, new MetaGrad.Backends.Windows2d(3, 3, 1, 1, 1, 1, 1, 1), 1);
        var gradOutput = Tensor.Randn(y.Shape.ToArray(), DType.Float64, generator: g);
        Assert.True(Autograd.Grad([y], [weight], [gradOutput])[0]!.AllClose(Autograd.Grad([expected], [weight], [gradOutput])[0]!, 1e-12, 1e-12));
    }

    // A padded copy large enough to come from the tensor pool is not cleared whole, only its
    // border: a pooled buffer of that length left full of NaN by an earlier user must not show
    // through. Output rows 30 wide take the written panels, 32 wide the shifted kernel.
    [Theory]
    [InlineData(30)]
    [InlineData(32)]
    public void PaddedCopyFromAReusedBuffer_ReadsZerosAtTheBorder(int size)
    {
        const int c = 32;
        int padded = c * (size + 2) * (size + 2);
        Assert.True(padded >= BufferPool<float>.MinLength, "the padded copy comes from the pool");
        var g = new Generator(11);
        var x = Tensor.Randn([2, c, size, size], generator: g);
        var weight = Tensor.Randn([7, c, 3, 3], generator: g);
        var bias = Tensor.Randn([7], generator: g);
        var expected = Functional.ComposedConv2d(x, weight, bias, new MetaGrad.Backends.Windows2d(3, 3, 1, 1, 1, 1, 1, 1), 1);
        foreach (var _ in VectorWidths.OfGemm(output))
        {
            var poisoned = BufferPool<float>.Rent(padded, clear: false);
            poisoned.AsSpan().Fill(float.NaN);
            BufferPool<float>.Return(poisoned);
            var y = Functional.Conv2d(x, weight, bias, padding: 1);
            Assert.True(y.AllClose(expected, 1e-4, 1e-4));
        }
    }

    // No input channels: nothing to multiply, the composed form's output is the bias everywhere.
    [Fact]
    public void NoInputChannels_GivesTheBias()
    {
        var y = Functional.Conv2d(Tensor.Zeros([2, 0, 5, 5]), Tensor.Zeros([3, 0, 3, 3]), Tensor.From(new float[] { 1, 2, 3 }, [3]), padding: 1);
        Assert.Equal([2, 3, 5, 5], y.Shape.ToArray());
        Assert.True(y.AllClose(Tensor.From(new float[] { 1, 2, 3 }, [3]).Reshape(1, 3, 1, 1).Expand(2, 3, 5, 5), 0, 0));
    }

    [Fact]
    public void Gradients_AgainstFiniteDifferences()
    {
        Check.Gradients(t => Functional.Conv2d(t[0], t[1], t[2], padding: 1), Check.Input([2, 3, 5, 6], 1), Check.Input([4, 3, 3, 3], 2), Check.Input([4], 3));
        Check.Gradients(t => Functional.Conv2d(t[0], t[1], t[2], stride: 2, dilation: (1, 2)), Check.Input([3, 2, 7, 8], 4), Check.Input([3, 2, 2, 3], 5), Check.Input([3], 6));
    }

    // createGraph: the backward falls back to the composed form's graph, so a gradient penalty works.
    [Fact]
    public void SecondDerivatives_EqualTheComposedForm()
    {
        var g = new Generator(5);
        var x = Tensor.Randn([2, 3, 6, 5], DType.Float64, generator: g).RequiresGrad_();
        var weight = Tensor.Randn([4, 3, 3, 3], DType.Float64, generator: g).RequiresGrad_();
        var bias = Tensor.Randn([4], DType.Float64, generator: g).RequiresGrad_();
        var windows = new MetaGrad.Backends.Windows2d(3, 3, 1, 1, 1, 1, 1, 1);
        Tensor Penalty(Tensor y)
        {
            var gx = Autograd.Grad([y.Tanh().Sum()], [x], createGraph: true)[0]!;
            return gx.Square().Sum();
        }
        var fused = Autograd.Grad([Penalty(Functional.Conv2d(x, weight, bias, padding: 1))], [x, weight, bias], allowUnused: true);
        var composed = Autograd.Grad([Penalty(Functional.ComposedConv2d(x, weight, bias, windows, 1))], [x, weight, bias], allowUnused: true);
        for (int i = 0; i < 2; i++) Assert.True(fused[i]!.AllClose(composed[i]!, 1e-10, 1e-10));
        Assert.True(fused[2]!.AllClose(composed[2]!, 1e-10, 1e-10));
    }
}
