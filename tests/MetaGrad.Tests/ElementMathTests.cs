namespace MetaGrad.Tests;

/// <summary>
/// The elementwise math of Tensor.Math.cs: values worked by hand (PyTorch's documented formulas and
/// edge cases), finite-difference gradients in float64, and second derivatives through the
/// backward's own tensor operations.
/// </summary>
public class ElementMathTests
{
    static Tensor Uniform(double lo, double hi, int[] shape, ulong seed) =>
        (Tensor.Rand(shape, DType.Float64, generator: new Generator(seed)) * (hi - lo) + lo).RequiresGrad_();

    static Tensor D(params double[] values) => Tensor.From(values, [values.Length]);
    static Tensor F(params float[] values) => Tensor.From(values, [values.Length]);

    // The first derivatives, weighted, as a function of the inputs: its finite differences check the second.
    static void SecondOrder(Func<Tensor[], Tensor> f, params Tensor[] inputs) =>
        Check.Gradients(v =>
        {
            var y = f(v);
            var weights = Tensor.Rand(y.Shape.ToArray(), DType.Float64, generator: new Generator(5));
            var grads = Autograd.Grad([(y * weights).Sum()], v, createGraph: true);
            return Tensor.Cat([.. grads.Select(g => g!.Reshape(-1))], 0);
        }, inputs);

    [Fact]
    public void TrigonometricAndHyperbolic_MatchTheirValues()
    {
        Check.Values([1.0, Math.PI / 6, Math.PI / 3, Math.PI / 4],
            Tensor.Stack([D(Math.PI / 4).Tan(), D(0.5).Asin(), D(0.5).Acos(), D(1).Atan()]).Reshape(-1));
        Check.Values([Math.Sinh(1), Math.Cosh(1), 0.881373587019543, 1.3169578969248166, 0.5493061443340549],
            Tensor.Stack([D(1).Sinh(), D(1).Cosh(), D(1).Asinh(), D(2).Acosh(), D(0.5).Atanh()]).Reshape(-1));
        Check.Values([3.0, 3.0, 8.0, 0.125], Tensor.Stack([D(8).Log2(), D(1000).Log10(), D(3).Exp2(), D(-3).Exp2()]).Reshape(-1));
        // Small x keeps its digits (exp(x) − 1 and log(1 + x) would lose them), in both dtypes.
        Assert.Equal(1e-10 + 5e-21, D(1e-10).Expm1().Item<double>(), 1e-24);
        Assert.Equal(1e-10 - 5e-21, D(1e-10).Log1p().Item<double>(), 1e-24);
        Assert.Equal(1e-7f, F(1e-7f).Expm1().Item<float>(), 1e-13f);
        Assert.Equal(Math.Exp(0.5) - 1, D(0.5).Expm1().Item<double>(), 1e-15);
        Assert.Equal(Math.Log(1.5), D(0.5).Log1p().Item<double>(), 1e-15);
        Check.Values([double.PositiveInfinity, -1.0, double.PositiveInfinity, -1.0], Tensor.Stack([D(1000).Expm1(), D(-1000).Expm1(), D(double.PositiveInfinity).Log1p(), D(-1).Log1p().Exp() - 1.0]).Reshape(-1));
        Assert.True(D(1.5).Asin().IsNaN().All());
        Assert.Equal(double.PositiveInfinity, D(1).Atanh().Item<double>());
    }

    [Fact]
    public void FloatingFunctionsOfIntegers_ComputeInFloat32()
    {
        var x = Tensor.From(new long[] { 1, 2, 4 }, [3]);
        Assert.Equal(DType.Float32, x.Log2().DType);
        Check.Values([0f, 1f, 2f], x.Log2());
        Assert.Equal(DType.Float32, x.Atan2(x).DType);
        Assert.Equal(DType.Float32, x.Xlogy(x).DType);
    }

    [Fact]
    public void UnaryGradients_MatchFiniteDifferences()
    {
        int[] shape = [2, 3];
        Check.Gradients(x => x[0].Tan(), Uniform(-1.2, 1.2, shape, 1));
        Check.Gradients(x => x[0].Asin(), Uniform(-0.9, 0.9, shape, 2));
        Check.Gradients(x => x[0].Acos(), Uniform(-0.9, 0.9, shape, 3));
        Check.Gradients(x => x[0].Atan(), Uniform(-3, 3, shape, 4));
        Check.Gradients(x => x[0].Sinh(), Uniform(-2, 2, shape, 5));
        Check.Gradients(x => x[0].Cosh(), Uniform(-2, 2, shape, 6));
        Check.Gradients(x => x[0].Asinh(), Uniform(-3, 3, shape, 7));
        Check.Gradients(x => x[0].Acosh(), Uniform(1.2, 4, shape, 8));
        Check.Gradients(x => x[0].Atanh(), Uniform(-0.9, 0.9, shape, 9));
        Check.Gradients(x => x[0].Log2(), Uniform(0.2, 4, shape, 10));
        Check.Gradients(x => x[0].Log10(), Uniform(0.2, 4, shape, 11));
        Check.Gradients(x => x[0].Exp2(), Uniform(-2, 2, shape, 12));
        Check.Gradients(x => x[0].Expm1(), Uniform(-2, 2, shape, 13));
        Check.Gradients(x => x[0].Frac(), D(-2.7, -1.3, -0.4, 0.3, 1.6, 2.2).Reshape(2, 3).RequiresGrad_());   // away from whole numbers
        Check.Gradients(x => x[0].T.Tan(), Uniform(-1, 1, [3, 2], 15));   // a transposed input
    }

    [Fact]
    public void UnaryGradients_DifferentiateAgain()
    {
        int[] shape = [4];
        SecondOrder(x => x[0].Tan(), Uniform(-1, 1, shape, 21));
        SecondOrder(x => x[0].Asin(), Uniform(-0.8, 0.8, shape, 22));
        SecondOrder(x => x[0].Acos(), Uniform(-0.8, 0.8, shape, 23));
        SecondOrder(x => x[0].Atan(), Uniform(-2, 2, shape, 24));
        SecondOrder(x => x[0].Sinh(), Uniform(-2, 2, shape, 25));
        SecondOrder(x => x[0].Cosh(), Uniform(-2, 2, shape, 26));
        SecondOrder(x => x[0].Asinh(), Uniform(-2, 2, shape, 27));
        SecondOrder(x => x[0].Acosh(), Uniform(1.5, 3, shape, 28));
        SecondOrder(x => x[0].Atanh(), Uniform(-0.8, 0.8, shape, 29));
        SecondOrder(x => x[0].Log2(), Uniform(0.5, 3, shape, 30));
        SecondOrder(x => x[0].Log10(), Uniform(0.5, 3, shape, 31));
        SecondOrder(x => x[0].Exp2(), Uniform(-2, 2, shape, 32));
        SecondOrder(x => x[0].Expm1(), Uniform(-2, 2, shape, 33));
        SecondOrder(x => x[0].Logit(), Uniform(0.2, 0.8, shape, 34));
    }

    [Fact]
    public void StepFunctions_StayInTheGraphWithZeroGradient()
    {
        var x = Tensor.From(new double[] { -1.5, -0.5, 0.5, 2.5 }, [4], requiresGrad: true);
        Tensor[] steps = [x.Floor(), x.Ceil(), x.Round(), x.Round(1), x.Trunc(), x.Sign()];
        string[] names = ["FloorBackward", "CeilBackward", "RoundBackward", "RoundBackward", "TruncBackward", "SignBackward"];
        for (int i = 0; i < steps.Length; i++)
        {
            Assert.True(steps[i].RequiresGrad);
            Assert.Equal(names[i], steps[i].GradFn!.Name);
        }
        Tensor.Stack(steps).Sum().Backward();
        Check.Values([0.0, 0, 0, 0], x.Grad!);
        Check.Values([-2.0, -0.0, 0.0, 2.0], x.Detach().Round());      // half to even
        Check.Values([-1.0, -0.0, 0.0, 2.0], x.Detach().Trunc());
        Check.Values([-0.5, -0.5, 0.5, 0.5], x.Detach().Frac());
        Assert.Equal([true, false], Tensor.From(new[] { true, false }, [2]).Sign().ToArray<bool>());
    }

    [Fact]
    public void RoundWithDecimals_RoundsHalfToEvenAtThatPlace()
    {
        Check.Values([1.23, 0.12, -0.38], D(1.234, 0.125, -0.375).Round(2));
        Check.Values([1200.0, 1400.0, -100.0], D(1250, 1350, -149).Round(-2));
        Check.Values([1.2f, 0.8f], F(1.25f, 0.75f).Round(1), 1e-7f);
        Assert.Throws<ArgumentException>(() => Tensor.From(new long[] { 15 }, [1]).Round(-1));
        Assert.Equal([15L], Tensor.From(new long[] { 15 }, [1]).Round(0).ToArray<long>());
    }

    [Fact]
    public void Remainders_TakeTheSignOfDividendOrDivisor()
    {
        var a = D(-7, 7, -7.5, 7.5);
        var b = D(3, -3, 2, -2);
        Check.Values([-1.0, 1, -1.5, 1.5], a.Fmod(b));               // C's fmod: the dividend's sign
        Check.Values([2.0, -2, 0.5, -0.5], a.Remainder(b));          // Python's %: the divisor's sign
        Check.Values([1.0, 1, 0.5, 1.5], a.Remainder(2.0));
        Check.Values([1.0, 2.0], Tensor.Remainder(5, D(2, 3)));
        var ints = Tensor.From(new long[] { -7, 7, long.MinValue }, [3]);
        Assert.Equal([2L, 1L, 0L], ints.Remainder(Tensor.From(new long[] { 3, 3, -1 }, [3])).ToArray<long>());
        Assert.Equal([-1L, 1L, 0L], ints.Fmod(Tensor.From(new long[] { 3, 3, -1 }, [3])).ToArray<long>());
        Assert.Equal(DType.Int64, ints.Remainder(3.0).DType);
        var e = Assert.Throws<DivideByZeroException>(() => ints.Remainder(0.0));
        Assert.Contains("Remainder", e.Message);
        Assert.True(D(1).Fmod(0.0).IsNaN().All());
    }

    [Fact]
    public void RemainderGradients_MatchFiniteDifferences()
    {
        var a = Uniform(-5, 5, [2, 3], 41);
        var b = (Uniform(0.5, 2, [3], 42).Detach() * D(1, -1, 1)).RequiresGrad_();
        Check.Gradients(x => x[0].Fmod(x[1]), a, b);
        Check.Gradients(x => x[0].Remainder(x[1]), a, b);
        Check.Gradients(x => x[0].Remainder(1.5), a);
        Check.Gradients(x => Tensor.Remainder(2.5, x[0]), b);
    }

    [Fact]
    public void BinaryFunctions_MatchTheirValues()
    {
        Check.Values([3 * Math.PI / 4, -Math.PI / 2, Math.PI], D(1, -2, 0).Atan2(D(-1, 0, -1)));
        Check.Values([5.0, 1e300 * Math.Sqrt(2)], D(3, 1e300).Hypot(D(4, 1e300)));   // no overflow of the squares
        Check.Values([-2.0, 2, -0.0], D(2, -2, 0).Copysign(D(-0.0, 1, -3)));
        Assert.True(double.IsNegative(D(0).Copysign(-1.0).Item<double>()));
        Check.Values([0.0, double.NaN, 2.0, 0.0], D(0, 0, 2, 3).Xlogy(D(0, double.NaN, Math.E, 1)));
        Check.Values([0.0, 3 * Math.Log(2)], Tensor.Xlogy(3, D(1, 2)));
        Check.Values([3 * Math.Log(2), 0.0], D(3, 0).Xlogy(2.0));
    }

    [Fact]
    public void BinaryGradients_MatchFiniteDifferences_WithBroadcasting()
    {
        var a = Uniform(-2, 2, [2, 3], 51);
        var b = Uniform(-2, 2, [3], 52);
        var positive = Uniform(0.3, 3, [3], 53);
        Check.Gradients(x => x[0].Atan2(x[1]), a, b);
        Check.Gradients(x => x[0].Atan2(x[1]), b, a);
        Check.Gradients(x => x[0].Hypot(x[1]), a, b);
        Check.Gradients(x => x[0].Copysign(x[1]), a, b);
        Check.Gradients(x => x[0].Copysign(-1.0), a);
        Check.Gradients(x => x[0].Xlogy(x[1]), a, positive);
        Check.Gradients(x => Tensor.Xlogy(1.5, x[0]), positive);
        SecondOrder(x => x[0].Atan2(x[1]), a, b);
        SecondOrder(x => x[0].Hypot(x[1]), a, b);
        SecondOrder(x => x[0].Xlogy(x[1]), a, positive);
    }

    [Fact]
    public void Copysign_GivesTheSignNoGradientAndZeroAtZero()
    {
        var a = Tensor.From(new double[] { 2, 0, -3 }, [3], requiresGrad: true);
        var b = Tensor.From(new double[] { -1, -1, -1 }, [3], requiresGrad: true);
        a.Copysign(b).Sum().Backward();
        Check.Values([-1.0, 0, 1], a.Grad!);          // y/a, taken as 0 at a = 0
        Check.Values([0.0, 0, 0], b.Grad!);
    }

    [Fact]
    public void Xlogy_GradientOfXIsLogYEvenAtZero_ButZeroWhereYIsNotPositive()
    {
        // libtorch's rule: ∂/∂x = log y wherever x·log y is differentiable in x, and 0 where x = 0 and y ≤ 0.
        var x = Tensor.From(new double[] { 0, 2, 0, 0 }, [4], requiresGrad: true);
        var y = Tensor.From(new double[] { 0.5, 4, 0, -1 }, [4], requiresGrad: true);
        x.Xlogy(y).Sum().Backward();
        Check.Values([Math.Log(0.5), Math.Log(4), 0, 0], x.Grad!);
        Check.Values([0.0, 0.5, double.NaN, -0.0], y.Grad!);
    }

    [Fact]
    public void Atan2_GradientAtTheOriginIsZero()
    {
        var a = Tensor.From(new double[] { 0, 1 }, [2], requiresGrad: true);
        var b = Tensor.From(new double[] { 0, 1 }, [2], requiresGrad: true);
        a.Atan2(b).Sum().Backward();
        Check.Values([0.0, 0.5], a.Grad!);
        Check.Values([0.0, -0.5], b.Grad!);
    }

    [Fact]
    public void Lerp_InterpolatesAndReachesEndExactly()
    {
        Check.Values([1.5, 3.0, 5.0, -1.0], D(1, 1, 1, 1).Lerp(D(3, 3, 3, 3), D(0.25, 1, 2, -1)));
        Check.Values([0.3f, 0.3f], F(0.1f, 0.7f).Lerp(F(0.3f, 0.3f), 1.0), 0f);    // exactly end at weight 1
        Check.Values([2.0, 4.0], D(1, 2).Lerp(D(3, 6), 0.5));
        Assert.Throws<ArgumentException>(() => D(1).Lerp(F(1), 0.5));
        Assert.Throws<ArgumentException>(() => D(1).Lerp(D(1), F(0.5f)));
        Check.Values([1.5], D(1).Lerp(D(2), Tensor.From(0.5f)));                  // a 0-d weight of another dtype is converted
        Assert.Throws<ArgumentException>(() => Tensor.From(new long[] { 1 }, [1]).Lerp(Tensor.From(new long[] { 2 }, [1]), 0.5));
    }

    [Fact]
    public void LerpGradients_MatchFiniteDifferences()
    {
        var start = Uniform(-2, 2, [2, 3], 61);
        var end = Uniform(-2, 2, [3], 62);
        var weight = Uniform(-0.4, 1.4, [2, 1], 63);
        Check.Gradients(x => x[0].Lerp(x[1], x[2]), start, end, weight);
        Check.Gradients(x => x[0].Lerp(x[1], 0.3), start, end);
        Check.Gradients(x => x[0].Lerp(x[1], 0.8), start, end);
        SecondOrder(x => x[0].Lerp(x[1], x[2]), start, end, weight);
    }

    [Fact]
    public void AddcmulAndAddcdiv_ScaleTheProductOrQuotient()
    {
        Check.Values([4.0, 1.0], D(1, 1).Addcmul(D(2, 0), D(3, 5), value: 0.5));
        Check.Values([5.0, -1.0], D(1, 1).Addcdiv(D(6, 1), D(3, -1), value: 2));
        Check.Values([7.0], D(1).Addcmul(D(2), D(3)));
        var ints = Tensor.From(new long[] { 6 }, [1]);
        var e = Assert.Throws<ArgumentException>(() => D(1).Addcdiv(ints, ints));
        Assert.Contains("Addcdiv", e.Message);
        // Promoted together: an Int64 self with float tensors gives Float32.
        Assert.Equal(DType.Float32, Tensor.From(new long[] { 1 }, [1]).Addcmul(F(2), F(3)).DType);
        Assert.Equal(DType.Float64, F(1).Addcdiv(D(2), F(4)).DType);

        var self = Uniform(-2, 2, [2, 3], 71);
        var t1 = Uniform(-2, 2, [3], 72);
        var t2 = Uniform(0.5, 2, [2, 1], 73);
        Check.Gradients(x => x[0].Addcmul(x[1], x[2], value: -1.5), self, t1, t2);
        Check.Gradients(x => x[0].Addcdiv(x[1], x[2], value: 0.75), self, t1, t2);
    }

    [Fact]
    public void Logit_ClampsWithEpsAndFollowsPyTorchOutsideTheDomain()
    {
        Check.Values([0.0, Math.Log(1.0 / 3), Math.Log(0.1 / 0.9)], D(0.5, 0.25, 0).Logit(0.1));
        Assert.True(D(1.5).Logit().IsNaN().All());
        var x = Tensor.From(new double[] { 0.05, 0.5, -0.5, 1.5 }, [4], requiresGrad: true);
        x.Logit(0.1).Sum().Backward();
        Check.Values([0.0, 4, 0, 0], x.Grad!);                // cut by the clamp: zero
        x.Grad = null;
        x.Logit().Sum().Backward();
        var g = x.Grad!.ToArray<double>();
        Assert.Equal(1 / (0.05 * 0.95), g[0], 1e-9);
        Assert.True(double.IsNaN(g[2]) && double.IsNaN(g[3]));   // outside [0, 1] without eps: NaN
        var edges = Tensor.From(new double[] { -0.0, 1 }, [2], requiresGrad: true);
        edges.Logit().Sum().Backward();
        Check.Values([double.PositiveInfinity, double.PositiveInfinity], edges.Grad!);   // grad·inf at 0 and 1, −0 included
        Check.Gradients(v => v[0].Logit(), Uniform(0.1, 0.9, [2, 3], 81));
        Check.Gradients(v => v[0].Logit(0.2), D(0.05, 0.3, 0.5, 0.7, 0.95).RequiresGrad_());
    }

    [Fact]
    public void NanToNum_ReplacesNonFiniteValuesAndPassesTheGradientElsewhere()
    {
        var x = Tensor.From(new float[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1.5f }, [4], requiresGrad: true);
        Check.Values([0f, float.MaxValue, float.MinValue, 1.5f], x.NanToNum());
        Check.Values([1f, 2f, -3f, 1.5f], x.NanToNum(1, 2, -3));
        x.NanToNum().Sum().Backward();
        Check.Values([0f, 0, 0, 1], x.Grad!);
        Check.Values([double.MaxValue, double.MinValue], D(double.PositiveInfinity, double.NegativeInfinity).NanToNum());
        Assert.Equal([3L], Tensor.From(new long[] { 3 }, [1]).NanToNum().ToArray<long>());
        Check.Gradients(v => v[0].NanToNum(), Uniform(-2, 2, [2, 3], 91));
    }

    [Fact]
    public void Predicates_ClassifyEachElement()
    {
        var x = D(double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0, -2);
        Assert.Equal([true, false, false, false, false], x.IsNaN().ToArray<bool>());
        Assert.Equal([false, true, true, false, false], x.IsInf().ToArray<bool>());
        Assert.Equal([false, true, false, false, false], x.IsPosInf().ToArray<bool>());
        Assert.Equal([false, false, true, false, false], x.IsNegInf().ToArray<bool>());
        Assert.Equal([false, false, false, true, true], x.IsFinite().ToArray<bool>());
        var ints = Tensor.From(new long[] { 1, 2 }, [2]);
        Assert.Equal([false, false], ints.IsNaN().ToArray<bool>());
        Assert.Equal([true, true], ints.IsFinite().ToArray<bool>());
    }

    [Fact]
    public void IsClose_UsesBothTolerancesAndTreatsNaNAsAsked()
    {
        var a = D(1, 1 + 1e-6, double.NaN, double.PositiveInfinity, 100, 1);
        var b = D(1, 1, double.NaN, double.PositiveInfinity, 100.002, double.PositiveInfinity);
        Assert.Equal([true, true, false, true, false, false], a.IsClose(b).ToArray<bool>());
        Assert.Equal([true, true, true, true, false, false], a.IsClose(b, equalNan: true).ToArray<bool>());
        Assert.Equal([true, true, false, true, true, false], a.IsClose(b, rtol: 1e-4, atol: 0).ToArray<bool>());
        Assert.Equal([true, true, false, true, false, false], a.IsClose(b, rtol: 0, atol: 1e-5).ToArray<bool>());
        Assert.Equal([true, false, false, true, false, false], a.IsClose(b, rtol: 0, atol: 0).ToArray<bool>());
        Assert.Equal([true, true, false], Tensor.From(new long[] { 10, 11, 13 }, [3]).IsClose(Tensor.From(new long[] { 10, 10, 10 }, [3]), rtol: 0.1, atol: 0).ToArray<bool>());
        Check.Shape([2, 3], D(1, 2, 3).Expand(2, 3).IsClose(D(1, 2, 3)));
        Check.Shape([2, 3], D(1, 2, 3).IsClose(D(1, 2, 3).Expand(2, 3)));
        // As libtorch: with equalNan, other may not broadcast beyond self's shape.
        Assert.Contains("IsClose", Assert.Throws<ArgumentException>(() => D(1, 2, 3).IsClose(D(1, 2, 3).Expand(2, 3), equalNan: true)).Message);
        Assert.Throws<ArgumentException>(() => D(1).IsClose(F(1)));
        Assert.Throws<ArgumentException>(() => D(1).IsClose(D(1), rtol: -1));
    }

    [Fact]
    public void Equal_ComparesShapeAndEveryElement()
    {
        Assert.False((D(double.NaN) == D(double.NaN)).All());   // IEEE equality: NaN equals nothing
        Assert.True((D(double.NaN) != D(double.NaN)).All());
        Assert.True(D(1, 2).Equal(D(1, 2)));
        Assert.False(D(1, 2).Equal(D(1, 3)));
        Assert.False(D(1, 2).Equal(D(1, 2).Reshape(2, 1)));
        Assert.False(D(double.NaN).Equal(D(double.NaN)));
        Assert.True(D(1, 2).Equal(D(1, 2, 1).Reshape(1, 3)[0, ..2]));
        Assert.True(D(1, 0.5).Equal(F(1, 0.5f)));                 // dtypes promoted, as libtorch 2.10 does
        Assert.False(D(1, 0.1).Equal(F(1, 0.1f)));
    }
}
