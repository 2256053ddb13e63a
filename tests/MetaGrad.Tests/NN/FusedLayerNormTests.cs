using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>
/// The layer-normalisation node (per row: the statistics and output in three passes, the
/// backward's closed form in one) held equal to the same formula as recorded tensor operations,
/// for one and two normalized dims, with each of γ and β present or not, strided input, rows
/// shared between threads, and a mean far from zero; checked against finite differences, and its
/// second derivative (through the recorded formula) equal to the composed one.
/// </summary>
[Collection(ProcessWideState.Name)]
public class FusedLayerNormTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public static TheoryData<int[], int, bool, bool, double> Cases => new()
    {
        { [7, 5], 1, true, true, 0 }, { [3, 4, 6], 2, true, true, 0 }, { [3, 4, 6], 1, true, false, 0 },
        { [2, 3, 9], 1, false, true, 0 }, { [5, 17], 1, false, false, 0 }, { [4, 33], 1, true, true, 1000 },
    };

    static (Tensor X, Tensor? Weight, Tensor? Bias) Inputs(int[] shape, int k, bool weight, bool bias, double offset, DType dtype, ulong seed)
    {
        var g = new Generator(seed);
        var x = (Tensor.Randn(shape, dtype, generator: g) * 3 + offset).RequiresGrad_();
        int[] normalized = shape[^k..];
        return (x, weight ? Tensor.Randn(normalized, dtype, generator: g).RequiresGrad_() : null,
            bias ? Tensor.Randn(normalized, dtype, generator: g).RequiresGrad_() : null);
    }

    static Tensor[] Differentiable(Tensor x, Tensor? w, Tensor? b) => [x, .. new[] { w, b }.OfType<Tensor>()];

    [Theory, MemberData(nameof(Cases))]
    public void ValuesAndGradients_EqualTheComposedFormula(int[] shape, int k, bool weight, bool bias, double offset)
    {
        foreach (var (dtype, tolerance) in new[] { (DType.Float64, 1e-10), (DType.Float32, 2e-4) })
        {
            var (x, w, b) = Inputs(shape, k, weight, bias, offset, dtype, (ulong)shape.Sum() + (ulong)k);
            var fused = Functional.LayerNorm(x, shape[^k..], w, b);
            Assert.Equal("LayerNormRowsBackward", fused.GradFn!.Name);
            var composed = Functional.ComposedLayerNorm(x, shape[^k..], w, b, 1e-5);
            Assert.True(fused.AllClose(composed, tolerance, tolerance), $"{dtype} output");
            var upstream = Tensor.Randn(shape, dtype, generator: new Generator(9));
            var inputs = Differentiable(x, w, b);
            var fusedGrads = Autograd.Grad([fused], inputs, [upstream]);
            var composedGrads = Autograd.Grad([composed], inputs, [upstream]);
            for (int i = 0; i < inputs.Length; i++)
                Assert.True(fusedGrads[i]!.AllClose(composedGrads[i]!, tolerance, tolerance * 10), $"{dtype} gradient {i}");
        }
    }

    // Float rows run as loops of whole vectors with the tail element by element: lengths around
    // both vector widths, each with γ and β, one of them, or neither, at each width.
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(31)]
    [InlineData(48)]
    [InlineData(256)]
    [InlineData(263)]
    public void FloatRows_AtEachVectorWidth_EqualTheComposedFormula(int d)
    {
        foreach (var width in Backends.VectorWidths.OfFloatMath(output))
            foreach (var (weight, bias) in new[] { (true, true), (true, false), (false, true), (false, false) })
            {
                var (x, w, b) = Inputs([9, d], 1, weight, bias, 5, DType.Float32, (ulong)d);
                var fused = Functional.LayerNorm(x, [d], w, b);
                var composed = Functional.ComposedLayerNorm(x, [d], w, b, 1e-5);
                Assert.True(fused.AllClose(composed, 2e-4, 2e-4), $"{width} output, γ {weight}, β {bias}");
                var upstream = Tensor.Randn([9, d], generator: new Generator(9));
                var inputs = Differentiable(x, w, b);
                var fusedGrads = Autograd.Grad([fused], inputs, [upstream], retainGraph: true);
                var composedGrads = Autograd.Grad([composed], inputs, [upstream]);
                for (int i = 0; i < inputs.Length; i++)
                    Assert.True(fusedGrads[i]!.AllClose(composedGrads[i]!, 2e-4, 2e-3), $"{width} gradient {i}, γ {weight}, β {bias}");
                // Only the parameters' gradients: the row kernel skips the input's.
                if (w is not null)
                    Assert.True(Autograd.Grad([fused], [w], [upstream])[0]!.AllClose(composedGrads[1]!, 2e-4, 2e-3), $"{width} γ's gradient alone");
            }
    }

    [Fact]
    public void StridedInput_IsNormalisedAsItsValues()
    {
        var g = new Generator(3);
        var x = Tensor.Randn([6, 4], DType.Float64, generator: g).Transpose(0, 1).RequiresGrad_();   // [4, 6], rows strided
        var w = Tensor.Randn([6], DType.Float64, generator: g).RequiresGrad_();
        var fused = Functional.LayerNorm(x, [6], w, null);
        var reference = Functional.LayerNorm(x.Contiguous(), [6], w, null);
        Assert.True(fused.AllClose(reference, 1e-14, 1e-14));
        var dx = Autograd.Grad([fused.Square().Sum()], [x])[0]!;
        var dxReference = Autograd.Grad([Functional.ComposedLayerNorm(x, [6], w, null, 1e-5).Square().Sum()], [x])[0]!;
        Assert.True(dx.AllClose(dxReference, 1e-10, 1e-10));
    }

    [Fact]
    public void RowsSharedBetweenThreads_GiveTheOneThreadValues()
    {
        var (x, w, b) = Inputs([700, 512], 1, true, true, 0, DType.Float32, 5);   // past the parallel threshold
        var upstream = Tensor.Randn([700, 512], generator: new Generator(6));
        Tensor[] Run(int threads)
        {
            using var _ = ThreadScope.Of(threads);
            var y = Functional.LayerNorm(x, [512], w, b);
            return [y, .. Autograd.Grad([y], [x, w!, b!], [upstream]).Select(t => t!)];
        }
        var one = Run(1);
        var two = Run(2);
        Assert.True(one[0].Equal(two[0]), "output");
        Assert.True(one[1].Equal(two[1]), "input gradient");
        // γ's and β's gradients sum the rows in one or two parts.
        Assert.True(one[2].AllClose(two[2], 1e-5, 1e-4), "weight gradient");
        Assert.True(one[3].AllClose(two[3], 1e-5, 1e-4), "bias gradient");
    }

    [Fact]
    public void Gradients_MatchFiniteDifferences()
    {
        var (x, w, b) = Inputs([3, 2, 5], 2, true, true, 0, DType.Float64, 11);
        Assert.True(Autograd.GradCheck(t => Functional.LayerNorm(t[0], [2, 5], t[1], t[2]), [x, w!, b!]));
    }

    [Fact]
    public void SecondDerivative_EqualsTheComposedFormulas()
    {
        var (x, w, b) = Inputs([4, 6], 1, true, true, 0, DType.Float64, 13);
        Tensor GradientPenalty(Func<Tensor, Tensor> layerNorm)
        {
            var dx = Autograd.Grad([layerNorm(x).Square().Sum()], [x], createGraph: true)[0]!;
            return dx.Square().Sum();
        }
        var fused = Autograd.Grad([GradientPenalty(t => Functional.LayerNorm(t, [6], w, b))], [x, w!, b!]);
        var composed = Autograd.Grad([GradientPenalty(t => Functional.ComposedLayerNorm(t, [6], w, b, 1e-5))], [x, w!, b!]);
        for (int i = 0; i < 3; i++) Assert.True(fused[i]!.AllClose(composed[i]!, 1e-10, 1e-10), $"input {i}");
    }

    [Fact]
    public void AWeightOfAnotherShape_IsRefusedWithTheShapes()
    {
        var error = Assert.Throws<ArgumentException>(() => Functional.LayerNorm(Tensor.Zeros([2, 4]), [4], Tensor.Ones([3])));
        Assert.Contains("[4]", error.Message);
        Assert.Contains("[3]", error.Message);
    }
}
