using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests.NN;

/// <summary>
/// LeakyReLU as one fused node: forward and backward against the composition it replaces
/// (Where(x > 0, x, slope·x)), bit for bit, with NaN, zeros (gradient slope there, as PyTorch),
/// strided inputs and lengths past the thread split; second derivatives by finite differences.
/// </summary>
public class LeakyReluTests
{
    [Theory]
    [InlineData(7)]
    [InlineData(1001)]
    [InlineData(300_001)]
    public void ForwardAndBackward_EqualTheComposition(int length)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Tensor.Randn([length], dtype, generator: new Generator((ulong)length));
            x[0] = 0.0;
            if (length > 1) x[1] = double.NaN;
            var upstream = Tensor.Randn([length], dtype, generator: new Generator(3));
            var fused = x.Clone().RequiresGrad_();
            var composed = x.Clone().RequiresGrad_();
            var y = F.LeakyRelu(fused, 0.2);
            var reference = Tensor.Where(composed > 0.0, composed, composed * 0.2);
            Assert.Equal(Bits(reference), Bits(y));
            (y * upstream).Sum().Backward();
            (reference * upstream).Sum().Backward();
            Assert.Equal(Bits(composed.Grad!), Bits(fused.Grad!));
            Assert.Equal((upstream[0] * 0.2).Item<double>(), fused.Grad![0].Item<double>());   // slope at exactly 0
        }
        var wide = Tensor.Randn([4, 2 * length], generator: new Generator(5));
        var strided = wide[.., TensorIndex.Slice(0, null, 2)];
        Assert.Equal(Bits(Tensor.Where(strided > 0.0, strided, strided * 0.01)), Bits(F.LeakyRelu(strided)));
    }

    [Fact]
    public void SecondDerivatives_MatchFiniteDifferences()
    {
        var x = (Tensor.Rand([3, 4], DType.Float64, generator: new Generator(7)) * 4 - 2).RequiresGrad_();
        Check.Gradients(v => Autograd.Grad([(F.LeakyRelu(v[0], 0.3) * v[0]).Sum()], v, createGraph: true)[0]!, x);
        Check.Gradients(v => F.LeakyRelu(v[0], 0.3), x);
    }

    // Hardswish fused as libtorch computes it (x·min(max(x + 3, 0), 6)/6): within a rounding of the
    // piecewise composition, the gradient's pieces exactly (0 up to -3, x/3 + 1/2 inside, 1 from 3).
    [Theory]
    [InlineData(9)]
    [InlineData(300_001)]
    public void Hardswish_MatchesThePiecewiseFormula_AndLibtorchsKinks(int length)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = (Tensor.Randn([length], dtype, generator: new Generator((ulong)length + 1)) * 4).RequiresGrad_();
            var y = F.Hardswish(x);
            var v = x.Detach().To(DType.Float64).ToArray<double>();
            var expected = v.Select(e => e <= -3 ? 0 : e < 3 ? e * (e + 3) / 6 : e).ToArray();
            Assert.True(y.To(DType.Float64).AllClose(Tensor.From(expected, [length]), 1e-6, 1e-6));
            y.Sum().Backward();
            var slopes = v.Select(e => e <= -3 ? 0 : e < 3 ? e / 3 + 0.5 : 1).ToArray();
            Assert.True(x.Grad!.To(DType.Float64).AllClose(Tensor.From(slopes, [length]), 1e-6, 1e-6));
        }
        var kinks = Tensor.From(new[] { -4.0, -3, -2, 0, 3, 4 }, [6]).RequiresGrad_();
        F.Hardswish(kinks).Sum().Backward();
        Check.Values([0, 0, -1 / 6.0, 0.5, 1, 1], kinks.Grad!);
        var x2 = (Tensor.Rand([3, 4], DType.Float64, generator: new Generator(8)) * 8 - 4).RequiresGrad_();
        Check.Gradients(t => Autograd.Grad([(F.Hardswish(t[0]) * t[0]).Sum()], t, createGraph: true)[0]!, x2);
    }

    static long[] Bits(Tensor t) => t.To(DType.Float64).ToArray<double>().Select(BitConverter.DoubleToInt64Bits).ToArray();
}
