namespace MetaGrad.Tests;

/// <summary>
/// Autograd.Functional: Jacobians, Hessians and their products with vectors, against derivatives
/// worked by hand and central finite differences in float64.
/// </summary>
public class FunctionalDerivativeTests
{
    static Tensor T(double[] values, params int[] shape) => Tensor.From(values, shape);

    // Central differences of f at x, one input element at a time: [f.shape.., x.shape..].
    static Tensor NumericJacobian(Func<Tensor, Tensor> f, Tensor x, double h = 1e-6)
    {
        var at = x.Detach().ToArray<double>();
        var columns = new List<double[]>();
        int[] outShape = [];
        for (int j = 0; j < at.Length; j++)
        {
            var plus = (double[])at.Clone();
            var minus = (double[])at.Clone();
            plus[j] += h;
            minus[j] -= h;
            var fp = f(T(plus, [.. x.Shape]));
            outShape = [.. fp.Shape];
            var a = fp.ToArray<double>();
            var b = f(T(minus, [.. x.Shape])).ToArray<double>();
            columns.Add(a.Zip(b, (p, m) => (p - m) / (2 * h)).ToArray());
        }
        int rows = columns.Count == 0 ? 0 : columns[0].Length;
        var values = new double[rows * at.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < at.Length; j++) values[i * at.Length + j] = columns[j][i];
        return T(values, [.. outShape, .. x.Shape]);
    }

    static Tensor F(Tensor x) => (x.Sin() * x.Sum()).Reshape(2, 3).Matmul(x.Reshape(3, 2).Exp()); // [2, 2] of [6]

    [Fact]
    public void Jacobian_OfAMatrixFunction_MatchesFiniteDifferences()
    {
        var x = Tensor.Randn([6], DType.Float64, generator: new Generator(1)) * 0.5;
        var j = Autograd.Functional.Jacobian(F, x);
        Assert.Equal([2, 2, 6], j.Shape);
        Assert.True(j.AllClose(NumericJacobian(F, x), 1e-6, 1e-7));
        Assert.False(j.RequiresGrad);
        Assert.False(x.RequiresGrad);   // the caller's tensor is left alone
    }

    [Fact]
    public void Jacobian_ByHand_LinearAndElementwise()
    {
        var a = T([1, 2, 3, 4, 5, 6], 2, 3);
        var x = T([0.5, -1, 2], 3);
        Assert.True(Autograd.Functional.Jacobian(v => a.Mv(v), x).AllClose(a, 0, 0));
        Assert.True(Autograd.Functional.Jacobian(v => v.Sin(), x).AllClose(x.Cos().Diag(), 1e-15, 0));
        // An output that does not depend on the input: zeros (strict=False).
        Assert.True(Autograd.Functional.Jacobian(v => a.Sum(0), x).AllClose(Tensor.Zeros([3, 3], DType.Float64), 0, 0));
    }

    [Fact]
    public void Hessian_OfCubesAndOfAQuadraticForm()
    {
        var x = T([1, -2, 0.5], 3);
        // Σ x³: H = diag(6x).
        Assert.True(Autograd.Functional.Hessian(v => v.Pow(3).Sum(), x).AllClose((x * 6).Diag(), 1e-14, 0));
        // vᵀAv: H = A + Aᵀ.
        var a = T([1, 2, 0, -1, 3, 4, 2, 0, 1], 3, 3);
        Assert.True(Autograd.Functional.Hessian(v => v.Dot(a.Mv(v)), x).AllClose(a + a.T, 1e-14, 0));
        var e = Assert.Throws<ArgumentException>(() => Autograd.Functional.Hessian(v => v * 2, x));
        Assert.Contains("single element", e.Message);
    }

    [Fact]
    public void Products_EqualTheJacobianTimesTheVector()
    {
        var x = Tensor.Randn([6], DType.Float64, generator: new Generator(2)) * 0.5;
        var v = Tensor.Randn([2, 2], DType.Float64, generator: new Generator(3));
        var w = Tensor.Randn([6], DType.Float64, generator: new Generator(4));
        var j = Autograd.Functional.Jacobian(F, x).Reshape(4, 6);
        var (output, vjp) = Autograd.Functional.Vjp(F, x, v);
        Assert.True(output.AllClose(F(x), 0, 0));
        Assert.True(vjp.AllClose(v.Reshape(4).Matmul(j), 1e-12, 1e-12));
        var (_, jvp) = Autograd.Functional.Jvp(F, x, w);
        Assert.True(jvp.AllClose(j.Matmul(w).Reshape(2, 2), 1e-12, 1e-12));

        Func<Tensor, Tensor> scalar = t => (t.Sin() * t.Sum()).Sum();
        var h = Autograd.Functional.Hessian(scalar, x);
        Assert.True(h.AllClose(NumericJacobian(t => Autograd.Functional.Vjp(scalar, t).Vjp, x), 1e-6, 1e-7));
        Assert.True(Autograd.Functional.Hvp(scalar, x, w).Hvp.AllClose(h.Matmul(w), 1e-12, 1e-12));
        Assert.True(Autograd.Functional.Vhp(scalar, x, w).Vhp.AllClose(w.Matmul(h), 1e-12, 1e-12));
        Assert.Contains("single element", Assert.Throws<ArgumentException>(() => Autograd.Functional.Vjp(F, x)).Message);
        Assert.Contains("shape", Assert.Throws<ArgumentException>(() => Autograd.Functional.Jvp(F, x, v)).Message);
    }

    [Fact]
    public void CreateGraph_LetsTheDerivativesBeDifferentiatedThroughTheInput()
    {
        var x = T([1, 2, 3], 3).RequiresGrad_();
        // J of x² is diag(2x); the sum of J is 2Σx, whose gradient is 2 everywhere.
        var j = Autograd.Functional.Jacobian(v => v * v, x, createGraph: true);
        Assert.True(j.RequiresGrad);
        Assert.Equal([2.0, 2, 2], Autograd.Grad(j.Sum(), x).ToArray<double>());
        // The gradient of vᵀ(Σ x³ Hessian)v = 6 Σ v²x is 6v².
        var v = T([1, -1, 2], 3);
        var (_, hvp) = Autograd.Functional.Hvp(t => t.Pow(3).Sum(), x, v, createGraph: true);
        Assert.Equal([6.0, 6, 24], Autograd.Grad(hvp.Dot(v), x).ToArray<double>());
    }
}
