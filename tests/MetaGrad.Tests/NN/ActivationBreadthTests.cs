using MetaGrad.NN;
using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests.NN;

/// <summary>
/// The piecewise and gated activations: values worked by hand from PyTorch's formulas, PyTorch's
/// gradient at each kink, finite differences (once and twice) in float64, and the modules' arguments.
/// </summary>
public class ActivationBreadthTests
{
    // N(0, 3²) values: wide enough to land in every piece of the clipping functions.
    static Tensor Spread(params int[] shape) => (Check.Input(shape, 21).Detach() * 3.0).RequiresGrad_();

    static Tensor GradAt(Func<Tensor, Tensor> f, params double[] xs)
    {
        var x = Tensor.From(xs, [xs.Length]).RequiresGrad_();
        f(x).Sum().Backward();
        return x.Grad!;
    }

    public static TheoryData<string> Names => new()
    {
        "Relu6", "Hardtanh", "Hardswish", "Hardsigmoid", "Mish", "Selu", "Celu", "Softsign", "Tanhshrink", "Threshold", "Softmin", "Glu",
    };

    static Func<Tensor, Tensor> Of(string name) => name switch
    {
        "Relu6" => F.Relu6,
        "Hardtanh" => x => F.Hardtanh(x, -2, 1.5),
        "Hardswish" => F.Hardswish,
        "Hardsigmoid" => F.Hardsigmoid,
        "Mish" => F.Mish,
        "Selu" => F.Selu,
        "Celu" => x => F.Celu(x, 0.7),
        "Softsign" => F.Softsign,
        "Tanhshrink" => F.Tanhshrink,
        "Threshold" => x => F.Threshold(x, 0.5, -4),
        "Softmin" => x => F.Softmin(x, 1),
        "Glu" => x => F.Glu(x, 1),
        _ => throw new ArgumentException(name),
    };

    [Theory, MemberData(nameof(Names))]
    public void Gradients_MatchFiniteDifferences(string name) => Check.Gradients(x => Of(name)(x[0]), Spread(3, 4));

    [Theory, MemberData(nameof(Names))]
    public void SecondGradients_MatchFiniteDifferences(string name)
    {
        // The gradient is itself differentiable (every piece is a composition of differentiable ops).
        var f = Of(name);
        Check.Gradients(x => Autograd.Grad(f(x[0]).Square().Sum(), x[0], createGraph: true), Spread(2, 4));
    }

    [Fact]
    public void Values_MatchPyTorchFormulas()
    {
        var x = Tensor.From(new[] { -4.0, -3, -1, 0, 0.5, 3, 7 }, [7]);
        Check.Values([0, 0, 0, 0, 0.5, 3, 6], F.Relu6(x));
        Check.Values([-2, -2, -1, 0, 0.5, 1.5, 1.5], F.Hardtanh(x, -2, 1.5));
        Check.Values([0, 0, -1 * 2 / 6.0, 0, 0.5 * 3.5 / 6, 3, 7], F.Hardswish(x));
        Check.Values([0, 0, 2 / 6.0, 0.5, 3.5 / 6, 1, 1], F.Hardsigmoid(x));
        Check.Values(x.ToArray<double>().Select(v => v * Math.Tanh(Math.Log(1 + Math.Exp(v)))).ToArray(), F.Mish(x));
        const double a = 1.6732632423543772848170429916717, s = 1.0507009873554804934193349852946;
        Check.Values(x.ToArray<double>().Select(v => v > 0 ? s * v : s * a * (Math.Exp(v) - 1)).ToArray(), F.Selu(x));
        Check.Values(x.ToArray<double>().Select(v => v > 0 ? v : 0.7 * (Math.Exp(v / 0.7) - 1)).ToArray(), F.Celu(x, 0.7));
        Check.Values(x.ToArray<double>().Select(v => v / (1 + Math.Abs(v))).ToArray(), F.Softsign(x));
        Check.Values(x.ToArray<double>().Select(v => v - Math.Tanh(v)).ToArray(), F.Tanhshrink(x));
        Check.Values([-9, -9, -9, -9, -9, 3, 7], F.Threshold(x, 0.5, -9));   // 0.5 is not above the threshold
        Check.Values(x.ToArray<double>().Select(v => v > 0 ? v : 0.25 * v).ToArray(), F.Prelu(x, Tensor.From(new[] { 0.25 }, [1])));
    }

    [Fact]
    public void KinkGradients_ArePyTorchs()
    {
        // hardtanh_backward passes the gradient strictly inside the bounds only.
        Check.Values([0, 0, 1, 0, 0], GradAt(x => F.Hardtanh(x, -1, 1), -2, -1, 0, 1, 2));
        Check.Values([0, 0, 1, 0, 0], GradAt(F.Relu6, -1, 0, 3, 6, 7));
        // hardswish_backward: 0 up to -3, x/3 + 1/2 strictly between, 1 from 3 on.
        Check.Values([0, 0, -1 / 6.0, 0.5, 1, 1], GradAt(F.Hardswish, -4, -3, -2, 0, 3, 4));
        Check.Values([0, 0, 1 / 6.0, 0, 0], GradAt(F.Hardsigmoid, -4, -3, 0, 3, 4));
        // elu_backward at 0 takes the exponential branch: scale·α for SELU, 1 for CELU.
        Check.Values([1.0507009873554804934193349852946 * 1.6732632423543772848170429916717], GradAt(F.Selu, 0));
        Check.Values([1], GradAt(x => F.Celu(x, 0.3), 0));
        Check.Values([0, 0, 1], GradAt(x => F.Threshold(x, 0.5, 2), 0, 0.5, 1));
        Check.Values([1], GradAt(F.Softsign, 0));
    }

    [Fact]
    public void Mish_IsStableAtLargeMagnitudes()
    {
        var x = Tensor.From(new[] { -1000.0, -100, 100, 1000 }, [4]).RequiresGrad_();
        var y = F.Mish(x);
        Check.Values([0, -100 * Math.Tanh(Math.Exp(-100)), 100, 1000], y);
        y.Sum().Backward();
        Assert.All(x.Grad!.ToArray<double>(), g => Assert.True(double.IsFinite(g)));
        Check.Values([0, 0, 1, 1], x.Grad!, 1e-12);
    }

    [Fact]
    public void Glu_GatesTheFirstHalfWithTheSecond()
    {
        var x = Tensor.From(new[] { 1.0, 2, 0, Math.Log(3) }, [1, 4]);
        Check.Values([0.5, 2 * 0.75], F.Glu(x));
        Check.Shape([3, 2, 5], F.Glu(Tensor.Zeros([3, 4, 5]), dim: -2));
        var e = Assert.Throws<ArgumentException>(() => F.Glu(Tensor.Zeros([2, 3])));
        Assert.Contains("Glu", e.Message);
        Assert.Contains("even", e.Message);
        Assert.Throws<ArgumentException>(() => F.Glu(Tensor.Scalar(1.0)));
    }

    [Fact]
    public void Softmin_IsSoftmaxOfTheNegation()
    {
        var x = Tensor.From(new[] { 1.0, 2, 3 }, [3]);
        double z = Math.Exp(-1) + Math.Exp(-2) + Math.Exp(-3);
        Check.Values([Math.Exp(-1) / z, Math.Exp(-2) / z, Math.Exp(-3) / z], F.Softmin(x, 0));
    }

    [Fact]
    public void Prelu_TakesOneSlopePerChannelOfDim1()
    {
        var x = Tensor.From(new[] { -1.0, -2, 3, -4, 5, -6 }, [1, 3, 2]).RequiresGrad_();
        var w = Tensor.From(new[] { 0.1, 0.2, 0.3 }, [3]).RequiresGrad_();
        var y = F.Prelu(x, w);
        Check.Values([-0.1, -0.2, 3, -0.8, 5, -1.8], y);
        y.Sum().Backward();
        Check.Values([-3, -4, -6], w.Grad!);   // the sum of the negative inputs of each channel
        Check.Values([0.1, 0.1, 1, 0.2, 1, 0.3], x.Grad!);
        var e = Assert.Throws<ArgumentException>(() => F.Prelu(Tensor.Zeros([2, 4]), Tensor.Zeros([3])));
        Assert.Contains("Prelu", e.Message);
        Assert.Throws<ArgumentException>(() => F.Prelu(Tensor.Zeros([3]), Tensor.Zeros([3])));   // a 1-D input has one channel
        Check.Gradients(v => F.Prelu(v[0], v[1]), Spread(2, 3, 2), (Check.Input([3], 5).Detach() * 0.5).RequiresGrad_());
    }

    [Fact]
    public void Modules_CarryPyTorchsArgumentsAndNames()
    {
        var prelu = new PReLU(3, init: 0.1, dtype: DType.Float64);
        Assert.Equal(["weight"], prelu.NamedParameters().Select(p => p.Name));
        Check.Values([0.1, 0.1, 0.1], prelu.Weight);
        Assert.Equal("PReLU(num_parameters=3)", prelu.ToString());
        Check.Values([0.25], new PReLU().Weight.To(DType.Float64));
        Assert.Equal("Hardtanh(min_val=-2, max_val=1.5)", new Hardtanh(-2, 1.5).ToString());
        Assert.Throws<ArgumentException>(() => new Hardtanh(1, 1));
        Assert.Equal("Threshold(threshold=0.5, value=-1)", new Threshold(0.5, -1).ToString());
        Assert.Equal("CELU(alpha=0.5)", new CELU(0.5).ToString());
        Assert.Equal("GLU(dim=-1)", new GLU().ToString());
        Assert.Equal("Softmin(dim=1)", new Softmin(1).ToString());
        Assert.Throws<ArgumentException>(() => F.Celu(Tensor.Zeros([2]), 0));

        var x = Spread(2, 4).Detach();
        Check.Values(F.Relu6(x).ToArray<double>(), new ReLU6().Forward(x));
        Check.Values(F.Hardswish(x).ToArray<double>(), new Hardswish().Forward(x));
        Check.Values(F.Hardsigmoid(x).ToArray<double>(), new Hardsigmoid().Forward(x));
        Check.Values(F.Mish(x).ToArray<double>(), new Mish().Forward(x));
        Check.Values(F.Selu(x).ToArray<double>(), new SELU().Forward(x));
        Check.Values(F.Softsign(x).ToArray<double>(), new Softsign().Forward(x));
        Check.Values(F.Tanhshrink(x).ToArray<double>(), new Tanhshrink().Forward(x));
        Check.Values(F.LogSigmoid(x).ToArray<double>(), new LogSigmoid().Forward(x));
    }
}
