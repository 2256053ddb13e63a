using MetaGrad.IO;
using MetaGrad.NN;
using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests.NN;

/// <summary>
/// Against PyTorch 1.13 through a fixture (tests/MetaGrad.Tests/Fixtures/conv_breadth.py wrote
/// Fixtures/pytorch/conv_breadth.pt): transposed convolutions with an output padding at or past the
/// stride (below the dilation), adaptive max pooling's indices with tied values, fractional max
/// pooling with given samples. libtorch through TorchSharp has aborted on dilated transposes and
/// has no fractional pooling. Values, indices and the gradient of every input.
/// </summary>
public class PoolingAndTransposeFixtureTests
{
    static readonly Dictionary<string, Tensor> Reference =
        PyTorchFiles.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch", "conv_breadth.pt")).ToDictionary(e => e.Key, e => e.Value);

    static void Close(Tensor expected, Tensor actual, string what, double tolerance)
    {
        Assert.Equal(expected.Shape.ToArray(), actual.Shape.ToArray());
        Assert.True(actual.AllClose(expected, tolerance, tolerance), $"{what}: max difference {(actual - expected).Abs().Max().Item()}");
    }

    // Runs op on the recorded inputs, compares its output (and indices), then the gradient of
    // Σ output · upstream with respect to every input.
    static void Matches(string name, Func<Tensor[], (Tensor Values, Tensor? Indices)> op, double tolerance = 1e-12)
    {
        var inputs = Enumerable.Range(0, 3).Where(i => Reference.ContainsKey($"{name}.in{i}"))
            .Select(i => Reference[$"{name}.in{i}"].Clone().RequiresGrad_()).ToArray();
        var (y, indices) = op(inputs);
        Close(Reference[$"{name}.out"], y, $"{name} output", tolerance);
        if (Reference.TryGetValue($"{name}.indices", out var expected))
            Assert.Equal(expected.ToArray<long>(), indices!.ToArray<long>());
        (y * Reference[$"{name}.upstream"]).Sum().Backward();
        for (int i = 0; i < inputs.Length; i++)
            Close(Reference[$"{name}.grad{i}"], inputs[i].Grad!, $"{name} gradient of input {i}", tolerance);
    }

    [Fact]
    public void ConvTranspose_WithOutputPaddingPastTheStride_MatchesPyTorch()
    {
        // Output padding (2, 1) with stride (1, 2) and dilation (3, 2): rows past the stride, the
        // padding cropped from one side only; then output padding larger than the padding (zeros).
        Matches("convt2d_a", x => (F.ConvTranspose2d(x[0], x[1], x[2], stride: (1, 2), padding: (1, 0), outputPadding: (2, 1), groups: 2, dilation: (3, 2)), null));
        Matches("convt2d_b", x => (F.ConvTranspose2d(x[0], x[1], stride: (1, 2), padding: (0, 1), outputPadding: (1, 2), dilation: (2, 3)), null));
        Matches("convt1d", x => (F.ConvTranspose1d(x[0], x[1], x[2], stride: 1, padding: 0, outputPadding: 1, dilation: 2), null));
        Matches("convt3d", x => (F.ConvTranspose3d(x[0], x[1], stride: (1, 1, 2), padding: (0, 1, 0), outputPadding: (1, 0, 1), dilation: (2, 2, 1)), null));
    }

    [Fact]
    public void ConvTranspose_RefusesOutputPaddingNotBelowTheStrideOrTheDilation()
    {
        var x = Tensor.Ones([1, 1, 3, 3]);
        var w = Tensor.Ones([1, 1, 2, 2]);
        var error = Assert.Throws<ArgumentException>(() => F.ConvTranspose2d(x, w, stride: 2, outputPadding: (2, 0), dilation: 2));
        Assert.Contains("ConvTranspose2d", error.Message);
        Assert.Contains("smaller than the stride (2, 2) or the dilation (2, 2)", error.Message);
        Assert.Throws<ArgumentException>(() => F.ConvTranspose2d(x, w, outputPadding: (-1, 0)));
        Assert.Contains("ConvTranspose3d", Assert.Throws<ArgumentException>(() =>
            F.ConvTranspose3d(Tensor.Ones([1, 1, 2, 2, 2]), Tensor.Ones([1, 1, 1, 1, 1]), outputPadding: (1, 0, 0))).Message);
    }

    [Fact]
    public void AdaptiveMaxPool_WithIndices_MatchesPyTorchsTieBreaking()
    {
        Matches("amax1d", x => F.AdaptiveMaxPool1dWithIndices(x[0], 4));
        Matches("amax2d", x => F.AdaptiveMaxPool2dWithIndices(x[0], (3, 4)));
        Matches("amax3d", x => F.AdaptiveMaxPool3dWithIndices(x[0], (2, 3, 4)));
        Matches("amax2d", x => new AdaptiveMaxPool2d((3, 4)).ForwardWithIndices(x[0]));
        Matches("amax3d", x => new AdaptiveMaxPool3d((2, 3, 4)).ForwardWithIndices(x[0]));
        Matches("amax1d", x => new AdaptiveMaxPool1d(4).ForwardWithIndices(x[0]));
        Assert.True(new AdaptiveMaxPool1d(4).Forward(Reference["amax1d.in0"]).AllClose(Reference["amax1d.out"], 0, 0));
    }

    [Fact]
    public void AdaptiveMaxPool_TakesTheLastNaNOfAWindow_AsPyTorchsKernel()
    {
        // Windows [0, 2) and [1, 3) of one row: a NaN wins (PyTorch's `val > max || isnan(val)`), the last one seen.
        var x = Tensor.From(new[] { double.NaN, 5, double.NaN }, [1, 1, 3]);
        var (values, indices) = F.AdaptiveMaxPool1dWithIndices(x, 2);
        Assert.True(values.ToArray<double>().All(double.IsNaN));
        Assert.Equal([0L, 2], indices.ToArray<long>());
        Assert.Equal([1L, 1], F.AdaptiveMaxPool1dWithIndices(Tensor.From(new[] { 1.0, 5, 5 }, [1, 1, 3]), 2).Indices.ToArray<long>());
    }

    [Fact]
    public void FractionalMaxPool_WithGivenSamples_MatchesPyTorch()
    {
        Matches("frac2d", x => F.FractionalMaxPool2dWithIndices(x[0], (3, 2), outputSize: (4, 6), randomSamples: Reference["frac2d.samples"]));
        // float32: PyTorch steps the windows in the input's precision; a ratio gives ⌊size · ratio⌋.
        Matches("frac2d_f32", x => F.FractionalMaxPool2dWithIndices(x[0], 2, outputRatio: (0.5, 0.7), randomSamples: Reference["frac2d_f32.samples"]), 1e-6);
        Matches("frac3d", x => F.FractionalMaxPool3dWithIndices(x[0], (2, 3, 2), outputSize: (3, 4, 5), randomSamples: Reference["frac3d.samples"]));
        Matches("frac2d", x => new FractionalMaxPool2d((3, 2), outputSize: (4, 6)).ForwardWithIndices(x[0], Reference["frac2d.samples"]));
    }

    [Fact]
    public void FractionalMaxPool_WindowsStartWherePyTorchsFormulaSays()
    {
        // One row of 10 into 4 windows of 3 with sample u = 0.5: α = (10 - 3) / 3, starts ⌊(i + u)α⌋ - ⌊uα⌋
        // for i < 3 = 0, 2, 4, and the last window ends at the input's end (start 7).
        var x = Tensor.Arange(0, 10, dtype: DType.Float64).Reshape(1, 1, 1, 10);
        var samples = Tensor.From(new[] { 0.5, 0.5 }, [1, 1, 2]);
        var (values, indices) = F.FractionalMaxPool2dWithIndices(x, (1, 3), outputSize: (1, 4), randomSamples: samples);
        Check.Values([2.0, 4, 6, 9], values);
        Assert.Equal([2L, 4, 6, 9], indices.ToArray<long>());
    }

    [Fact]
    public void FractionalMaxPool_DrawsItsSamplesFromTheGenerator_AndHasFiniteDifferenceGradients()
    {
        var x = Tensor.Randn([2, 3, 10, 9], DType.Float64, generator: new Generator(5));
        var first = F.FractionalMaxPool2dWithIndices(x, 2, outputSize: (5, 4), generator: new Generator(7));
        var again = F.FractionalMaxPool2dWithIndices(x, 2, outputSize: (5, 4), generator: new Generator(7));
        Assert.Equal(first.Indices.ToArray<long>(), again.Indices.ToArray<long>());
        Check.Shape([2, 3, 5, 4], first.Values);
        // Every value is its window's max: the max of the input around its index is itself.
        var flat = x.Flatten(2);
        Assert.True(first.Values.Flatten(2).AllClose(flat.Gather(2, first.Indices.Flatten(2)), 0, 0));
        Check.Shape([3, 3, 4], F.FractionalMaxPool2d(x[0], 2, outputRatio: (0.35, 0.5)));   // unbatched: ⌊10·0.35⌋, ⌊9·0.5⌋

        var samples = Tensor.From(new[] { 0.3, 0.8, 0.1, 0.6 }, [1, 2, 2]);
        Check.Gradients(t => F.FractionalMaxPool2d(t[0], (2, 3), outputSize: (3, 3), randomSamples: samples), Check.Input([1, 2, 5, 6], 41));
        var samples3 = Tensor.From(new[] { 0.3, 0.8, 0.1 }, [1, 1, 3]);
        Check.Gradients(t => F.FractionalMaxPool3d(t[0], 2, outputSize: (2, 3, 2), randomSamples: samples3), Check.Input([1, 1, 4, 5, 4], 42));
        Check.Gradients(t => F.AdaptiveMaxPool2dWithIndices(t[0], (3, 2)).Values, Check.Input([2, 1, 5, 4], 43));
    }

    [Fact]
    public void FractionalMaxPool_RefusesBadArguments_NamingThem()
    {
        var x = Tensor.Ones([1, 1, 6, 6]);
        Assert.Contains("pool height 4 too large relative to input height 6", Assert.Throws<ArgumentException>(() =>
            F.FractionalMaxPool2d(x, 4, outputSize: (4, 2))).Message);
        Assert.Contains("exactly one of outputSize and outputRatio", Assert.Throws<ArgumentException>(() => F.FractionalMaxPool2d(x, 2)).Message);
        Assert.Contains("exactly one of outputSize and outputRatio", Assert.Throws<ArgumentException>(() => new FractionalMaxPool2d(2, outputSize: 3, outputRatio: (0.5, 0.5))).Message);
        Assert.Contains("output ratio must be between 0 and 1", Assert.Throws<ArgumentException>(() => new FractionalMaxPool2d(2, outputRatio: (1.5, 0.5))).Message);
        Assert.Contains("random samples of shape [1, 1, 2]", Assert.Throws<ArgumentException>(() =>
            F.FractionalMaxPool2d(x, 2, outputSize: 3, randomSamples: Tensor.Ones([1, 2, 2]))).Message);
        Assert.Contains("FractionalMaxPool3d: expected [N, C, D, H, W] or [C, D, H, W]", Assert.Throws<ArgumentException>(() => F.FractionalMaxPool3d(Tensor.Ones([6, 6]), 2, outputSize: 2)).Message);
    }
}
