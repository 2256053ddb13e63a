using MetaGrad.NN;
using MetaGrad.NN.Utils;
using Xunit;

namespace MetaGrad.Tests.NN;

/// <summary>
/// WeightNorm and SpectralNorm against PyTorch 1.13's torch.nn.utils.weight_norm / spectral_norm:
/// the expected values are the printout of tests/MetaGrad.Tests/Fixtures/weight_spectral_norm.py,
/// which builds the same layers from the same numbers in float64.
/// </summary>
public class WeightNormTests
{
    static readonly double[] W = [1, -2, 3, 0.5, 1, -1];
    static readonly Tensor X = Tensor.From(new double[,] { { 1, 2, 3 }, { -1, 0.5, 2 } });
    static readonly Tensor R = Tensor.From(new double[,] { { 1, -1 }, { 2, 0.5 } });

    static Linear Layer()
    {
        var m = new Linear(3, 2, dtype: DType.Float64);
        using (Autograd.NoGrad())
        {
            m.Weight.Copy_(Tensor.From(W, [2, 3]));
            m.Bias!.Copy_(Tensor.From(new double[] { 0.25, -0.5 }));
        }
        return m;
    }

    static void Near(double[] expected, Tensor actual, double tol = 1e-9)
    {
        var a = actual.ToArray<double>();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(expected[i] - a[i]) <= tol, $"element {i}: expected {expected[i]}, got {a[i]}");
    }

    public static TheoryData<int?, int[], double[], double[], double[]> WeightNormCases => new()
    {
        { 0, [2, 1], [3.741657386774, 1.5], [3.741657386774, -0.333333333333], [-3.0, 7.5, 6.0, -2.083333333333, -2.291666666667, -3.333333333333] },
        { 1, [1, 3], [1.11803398875, 2.2360679775, 3.162277660168], [-1.56524758425, -3.465905365125, 7.273238618387], [0.6, -0.15, 0.15, -1.2, -0.3, 0.45] },
        { null, [], [4.031128874149], [3.348937833909], [-2.746153846154, 6.992307692308, 6.761538461538, -2.873076923077, -3.871153846154, -1.753846153846] },
    };

    [Theory]
    [MemberData(nameof(WeightNormCases))]
    public void WeightNorm_MatchesPyTorch(int? dim, int[] gShape, double[] g, double[] gradG, double[] gradV)
    {
        var m = WeightNorm.Apply(Layer(), dim: dim);
        Assert.Equal(["bias", "weight_g", "weight_v"], m.NamedParameters().Select(p => p.Name));
        Assert.Equal(["bias", "weight_g", "weight_v"], m.StateDict().Keys);
        var weightG = m.GetParameter("weight_g");
        Assert.Equal(gShape, weightG.Shape.ToArray());
        Near(g, weightG);

        using (Autograd.NoGrad()) weightG.Mul_(1.5);
        var y = m.Call(X);
        Near([9.25, -1.25, 6.25, -3.5], y);
        (y * R).Sum().Backward();
        Near(gradG, weightG.Grad!);
        Near(gradV, m.GetParameter("weight_v").Grad!);

        WeightNorm.Remove(m);
        Assert.Equal(["bias", "weight"], m.NamedParameters().Select(p => p.Name));
        Near([1.5, -3.0, 4.5, 0.75, 1.5, -1.5], m.Weight);
        Near([9.25, -1.25, 6.25, -3.5], m.Call(X));
    }

    [Theory]
    [InlineData(1, new[] { 2.055651505272, -0.650470958773, 1.453767670181, -1.101883835091 }, new[] { 0.982872186934, -0.18428853505 },
        new[] { 0.68041381744, -0.272165526976, 0.68041381744 },
        new[] { -1.118595429367, 1.229887157364, 1.288939910996, -0.298102842851, -0.587972369091, -0.448573801624 })]
    [InlineData(3, new[] { 1.77275683347, -0.626896402789, 1.265171222313, -1.007585611157 }, new[] { 0.947168228045, -0.32073719426 },
        new[] { 0.20096158217, -0.561678112942, 0.802578432263 },
        new[] { -0.419305971074, 1.223979882441, 1.115541224168, -0.324641901519, -0.600786980322, -0.283749994533 })]
    public void SpectralNorm_MatchesPyTorch(int iterations, double[] y, double[] u, double[] v, double[] gradOrig)
    {
        var m = SpectralNorm.Apply(Layer(), nPowerIterations: iterations);
        Assert.Equal(["bias", "weight_orig"], m.NamedParameters().Select(p => p.Name));
        Assert.Equal(["bias", "weight_orig", "weight_u", "weight_v"], m.StateDict().Keys);
        using (Autograd.NoGrad())
        {
            m.GetBuffer("weight_u").Copy_(Tensor.From(new double[] { 0.6, 0.8 }));
            m.GetBuffer("weight_v").Copy_(Tensor.From(new double[] { 1, 2, 2 }) / 3);
        }

        var output = m.Call(X);
        Near(y, output);
        Near(u, m.GetBuffer("weight_u"));
        Near(v, m.GetBuffer("weight_v"));
        (output * R).Sum().Backward();
        Near(gradOrig, m.GetParameter("weight_orig").Grad!);

        m.Eval();
        Near(y, m.Call(X));
        Near(u, m.GetBuffer("weight_u"));   // no power iteration in evaluation
    }

    [Fact]
    public void WeightNorm_OnAConvolution_KeepsOneNormPerOutputChannel()
    {
        var conv = new Conv2d(2, 3, 2, dtype: DType.Float64);
        using (Autograd.NoGrad())
        {
            conv.Weight.Copy_((Tensor.Arange(24, DType.Float64).Reshape(3, 2, 2, 2) - 11.5) / 7);
            conv.Bias!.Zero_();
        }
        WeightNorm.Apply(conv);
        Near([3.36245779884, 0.925820099773, 3.36245779884], conv.GetParameter("weight_g"));
        var image = Tensor.Arange(18, DType.Float64).Reshape(1, 2, 3, 3) / 10;
        Near([-4.714285714286, -5.628571428571, -7.457142857143, -8.371428571429, 1.228571428571, 1.228571428571, 1.228571428571, 1.228571428571,
              7.171428571429, 8.085714285714, 9.914285714286, 10.828571428571], conv.Call(image));
    }

    [Fact]
    public void WeightNorm_GradientsMatchFiniteDifferences()
    {
        var m = WeightNorm.Apply(Layer());
        var g = m.GetParameter("weight_g");
        var v = m.GetParameter("weight_v");
        Check.Gradients(p =>
        {
            var w = p[1] * (p[0] / p[1].Norm(2, [1], keepDim: true));
            return (X.Matmul(w.T) * R).Sum();
        }, g.Detach().Clone().RequiresGrad_(), v.Detach().Clone().RequiresGrad_());
        // And the module's own graph gives the same gradients as that formula.
        (m.Call(X) * R).Sum().Backward();
        var g2 = g.Detach().Clone().RequiresGrad_();
        var v2 = v.Detach().Clone().RequiresGrad_();
        (X.Matmul((v2 * (g2 / v2.Norm(2, [1], keepDim: true))).T) * R).Sum().Backward();
        Near(g2.Grad!.ToArray<double>(), g.Grad!, 1e-12);
        Near(v2.Grad!.ToArray<double>(), v.Grad!, 1e-12);
    }

    [Fact]
    public void StateDicts_OfPyTorchsReparametrizedModels_Load()
    {
        var source = WeightNorm.Apply(Layer());
        var target = WeightNorm.Apply(new Linear(3, 2, dtype: DType.Float64));
        target.LoadStateDict(source.StateDict());
        Near(source.Call(X).ToArray<double>(), target.Call(X), 0);
    }

    [Fact]
    public void Misuse_IsRefused_NamingTheModuleAndParameter()
    {
        var m = WeightNorm.Apply(Layer());
        Assert.Contains("already reparametrized", Assert.Throws<InvalidOperationException>(() => WeightNorm.Apply(m)).Message);
        Assert.Contains("not reparametrized by SpectralNorm", Assert.Throws<ArgumentException>(() => SpectralNorm.Remove(m)).Message);
        Assert.Contains("no parameter named \"kernel\"", Assert.Throws<ArgumentException>(() => WeightNorm.Apply(Layer(), "kernel")).Message);
        var error = Assert.Throws<NotSupportedException>(() => WeightNorm.Apply(new LayerNorm([3])));
        Assert.Contains("LayerNorm", error.Message);
        Assert.Contains("out of range", Assert.Throws<ArgumentException>(() => WeightNorm.Apply(Layer(), dim: 2)).Message);
    }
}
