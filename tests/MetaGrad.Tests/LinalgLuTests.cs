namespace MetaGrad.Tests;

/// <summary>
/// torch.linalg's LU family against PyTorch 1.13 (the printout of
/// tests/MetaGrad.Tests/Fixtures/linalg_lu.py, float64) and finite differences.
/// </summary>
public class LinalgLuTests
{
    static readonly Dictionary<string, double[,]> Matrices = new()
    {
        ["square"] = new double[,] { { 2, -1, 0.5 }, { 4, 3, -2 }, { -1, 0.25, 5 } },
        ["wide"] = new double[,] { { 1, 2, -1, 0.5 }, { 3, -1, 2, 1 }, { 0.5, 4, 1, -2 } },
        ["tall"] = new double[,] { { 1, 2, -1 }, { 3, -1, 2 }, { 0.5, 4, 1 }, { -2, 1, 3 } },
    };

    static void Near(double[] expected, Tensor actual, double tol = 1e-9)
    {
        var a = actual.To(DType.Float64).ToArray<double>();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(expected[i] - a[i]) <= tol, $"element {i}: expected {expected[i]}, got {a[i]}");
    }

    public static TheoryData<string, double[], int[], double[], double[]> Cases => new()
    {
        { "square", [4.0, 3.0, -2.0, 0.5, -2.5, 1.5, -0.25, -0.4, 5.1], [2, 2, 3],
            [0.23, 0.16, 0.866666666667, -1.315, -0.98, -0.766666666667, 0.533333333333, 0.4, 1.333333333333],
            [0, 1, 0, 1, 0, 0, 0, 0, 1] },
        { "wide", [3.0, -1.0, 2.0, 1.0, 0.166666666667, 4.166666666667, 0.666666666667, -2.166666666667, 0.333333333333, 0.56, -2.04, 1.38], [2, 3, 3],
            [-1.235555555556, 1.293333333333, 2.0, 2.333333333333, -0.96717037037, -1.365955555556, -1.257777777778, -1.06, 0.274133333333, -0.390933333333, -0.453333333333, -0.306666666667],
            [0, 0, 1, 1, 0, 0, 0, 1, 0] },
        { "tall", [3.0, -1.0, 2.0, 0.166666666667, 4.166666666667, 0.666666666667, -0.666666666667, 0.08, 4.28, 0.333333333333, 0.56, -0.476635514019], [2, 3, 4],
            [0.32303219107, 0.39277258567, 0.545171339564, -1.984630798744, -1.104403551984, 0.230299977679, -0.117753003173, -0.218759926631, -0.099417125222, -0.844868353374, -0.014909016799, 1.593181354995],
            [0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void LuFactor_MatchesPyTorch_ValuesPivotsAndGradient(string name, double[] lu, int[] pivots, double[] grad, double[] p)
    {
        var a = Tensor.From(Matrices[name]).RequiresGrad_();
        var (packed, rows) = Linalg.LuFactor(a);
        Near(lu, packed);
        Assert.Equal(DType.Int32, rows.DType);
        Assert.Equal(pivots, rows.ToArray<int>());
        var w = (Tensor.Arange(packed.Numel, DType.Float64).Reshape(packed.Shape.ToArray()) - 4) / 3;
        (packed * w).Sum().Backward();
        Near(grad, a.Grad!);

        var (pm, l, u) = Linalg.Lu(a.Detach());
        Near(p, pm);
        Assert.True(pm.Matmul(l).Matmul(u).AllClose(a.Detach(), 1e-12, 1e-12));
    }

    [Theory]
    [InlineData("square")]
    [InlineData("wide")]
    [InlineData("tall")]
    public void Lu_GradientsMatchFiniteDifferences_ThroughPLAndU(string name)
    {
        var a = Tensor.From(Matrices[name]).RequiresGrad_();
        Check.Gradients(x =>
        {
            var (_, l, u) = Linalg.Lu(x[0]);
            return l.Square().Sum() + (u * u.Sin()).Sum();
        }, a);
    }

    [Fact]
    public void LuSolve_MatchesPyTorch_LeftRightAdjoint_AndDifferentiates()
    {
        var a = Tensor.From(Matrices["square"]);
        var b = Tensor.From(new double[,] { { 1, 2 }, { 0, -1 }, { 3, 0.5 } });
        var (lu, pivots) = Linalg.LuFactor(a);
        Near([0.333333333333, 0.512254901961, 0.0, -0.852941176471, 0.666666666667, 0.245098039216], Linalg.LuSolve(lu, pivots, b));
        Near([0.539215686275, 1.0, 0.129901960784, 0.0, 0.598039215686, 0.0], Linalg.LuSolve(lu, pivots, b, adjoint: true));
        Near([0.539215686275, 0.129901960784, 0.598039215686, 1.0, 0.0, 0.0], Linalg.LuSolve(lu, pivots, b.MT, left: false));
        Near([0.333333333333, 0.0, 0.666666666667, 0.512254901961, -0.852941176471, 0.245098039216], Linalg.LuSolve(lu, pivots, b.MT, left: false, adjoint: true));
        Check.Gradients(x => Linalg.LuSolve(x[0], pivots, x[1]).Square().Sum(), lu.Clone().RequiresGrad_(), b.Clone().RequiresGrad_());
    }

    [Fact]
    public void Batches_FactorEachMatrix()
    {
        var a = Tensor.Stack([Tensor.From(Matrices["square"]), Tensor.From(Matrices["square"]).MT.Contiguous()]);
        var (p, l, u) = Linalg.Lu(a);
        Assert.Equal([2, 3, 3], p.Shape.ToArray());
        Assert.True(p.Matmul(l).Matmul(u).AllClose(a, 1e-12, 1e-12));
        Assert.Equal([2, 3], Linalg.LuFactor(a).Pivots.Shape.ToArray());
        var f = a.Float();
        Assert.Equal(DType.Float32, Linalg.LuFactor(f).LU.DType);
    }

    [Fact]
    public void SingularMatrices_ThrowInLuFactor_AndAreReportedByLuFactorEx()
    {
        var singular = Tensor.From(new double[,] { { 1, 2 }, { 2, 4 } });
        var error = Assert.Throws<ArgumentException>(() => Linalg.LuFactor(singular));
        Assert.StartsWith("torch.linalg.lu_factor: U[2,2] is zero and using it on lu_solve would result in a division by zero.", error.Message);
        var (lu, pivots, info) = Linalg.LuFactorEx(singular);
        Near([2.0, 4.0, 0.5, 0.0], lu);
        Assert.Equal(2, info.Item<int>());
        Assert.Equal([2, 2], pivots.ToArray<int>());
        Assert.Throws<ArgumentException>(() => Linalg.LuFactorEx(singular, checkErrors: true));
        Assert.Throws<NotSupportedException>(() => Linalg.LuFactor(singular, pivot: false));
        Assert.Contains("do not fit LU", Assert.Throws<ArgumentException>(() => Linalg.LuUnpack(lu, Tensor.From(new int[] { 1, 2, 3 }))).Message);
    }
}
