namespace MetaGrad.Tests;

/// <summary>
/// Linalg: values worked by hand on 2×2 and 3×3 matrices, the errors libtorch gives for singular and
/// indefinite matrices, reconstructions of the decompositions, and finite-difference gradients in
/// float64 on well-conditioned matrices (R + n·I, R·Rᵀ + n·I), first and second order.
/// </summary>
public class LinalgTests
{
    static Tensor T(double[] values, params int[] shape) => Tensor.From(values, shape);
    static Tensor In(params int[] shape) => Check.Input(shape, (ulong)shape.Sum() + 5);
    static Tensor Eye(int n) => Tensor.Eye(n, dtype: DType.Float64);
    // Well conditioned: the diagonal dominates.
    static Tensor Shifted(Tensor r) => r + Eye(r.Shape[^1]) * (2.0 * r.Shape[^1]);
    static Tensor Spd(Tensor r) => r.Matmul(r.MT) + Eye(r.Shape[^1]) * r.Shape[^1];

    static void Close(Tensor expected, Tensor actual, double tolerance = 1e-10) =>
        Check.Values(expected.To(DType.Float64).ToArray<double>(), actual.To(DType.Float64), tolerance);

    [Fact]
    public void Inv_Solve_Det_ByHand()
    {
        var a = T([4, 7, 2, 6], 2, 2);                     // det 10
        Close(T([0.6, -0.7, -0.2, 0.4], 2, 2), Linalg.Inv(a));
        Close(T([10], []), Linalg.Det(a));
        var s = T([3, 1, 1, 2], 2, 2);
        Close(T([2, 3], 2), Linalg.Solve(s, T([9, 8], 2)));                       // a vector right-hand side
        Close(T([2, 1, 3, 0], 2, 2), Linalg.Solve(s, T([9, 3, 8, 1], 2, 2)));      // two columns
        Close(T([6], []), Linalg.Det(T([2, 0, 1, 1, 3, 2, 1, 1, 2], 3, 3)));
        Close(T([-1], []), Linalg.Det(T([0, 1, 1, 0], 2, 2)));                    // a row swap
        var (sign, logAbs) = Linalg.Slogdet(T([0, 1, 1, 0, 0, -3, 2, 0], 2, 2, 2));
        Close(T([-1, 6], 2), Linalg.Det(T([0, 1, 1, 0, 0, -3, 2, 0], 2, 2, 2)));
        Close(T([-1, 1], 2), sign);
        Close(T([0, Math.Log(6)], 2), logAbs);
    }

    [Fact]
    public void Solve_BroadcastsBatches_AndTakesBatchedVectors()
    {
        var a = Shifted(In(2, 1, 3, 3)).Detach();
        var b = In(4, 3, 2).Detach();
        var x = Linalg.Solve(a, b);
        Check.Shape([2, 4, 3, 2], x);
        Close(b.Expand(2, 4, 3, 2), a.Matmul(x), 1e-12);
        var v = In(2, 1, 3).Detach();                      // A's shape without its last dim: vectors
        var y = Linalg.Solve(a, v);
        Check.Shape([2, 1, 3], y);
        Close(v, a.Matmul(y.Unsqueeze(-1)).Squeeze(-1), 1e-12);
    }

    [Fact]
    public void SingularMatrices_ThrowAsLibTorch_ButHaveDeterminantZero()
    {
        var singular = T([1, 2, 2, 4], 2, 2);
        Assert.Equal("linalg.inv: The diagonal element 2 is zero, the inversion could not be completed because the input matrix is singular.",
            Assert.Throws<ArgumentException>(() => Linalg.Inv(singular)).Message);
        var batch = Tensor.Stack([Eye(2), singular]);
        Assert.StartsWith("linalg.inv: (Batch element 1): The diagonal element 2 is zero",
            Assert.Throws<ArgumentException>(() => Linalg.Inv(batch)).Message);
        Assert.Contains("linalg.solve: The solver failed because the input matrix is singular",
            Assert.Throws<ArgumentException>(() => Linalg.Solve(singular, T([1, 1], 2))).Message);
        Assert.Equal(0.0, Linalg.Det(singular).Item());
        var (sign, logAbs) = Linalg.Slogdet(singular);
        Assert.Equal(0.0, sign.Item());
        Assert.Equal(double.NegativeInfinity, logAbs.Item());
        Assert.Contains("square matrices, but they are 2 by 3", Assert.Throws<ArgumentException>(() => Linalg.Inv(In(2, 3))).Message);
        Assert.Contains("at least 2 dimensions", Assert.Throws<ArgumentException>(() => Linalg.Det(In(3))).Message);
        Assert.Contains("floating point", Assert.Throws<ArgumentException>(() => Linalg.Inv(Tensor.From(new long[] { 1, 0, 0, 1 }, [2, 2]))).Message);
    }

    [Fact]
    public void InvExAndCholeskyEx_ReportInsteadOfThrowing()
    {
        var batch = Tensor.Stack([T([4, 7, 2, 6], 2, 2), T([1, 2, 2, 4], 2, 2)]);
        var (inverse, info) = Linalg.InvEx(batch);
        Assert.Equal(DType.Int32, info.DType);
        Assert.Equal([0, 2], info.ToArray<int>());
        Close(T([0.6, -0.7, -0.2, 0.4], 2, 2), inverse.Narrow(0, 0, 1).Squeeze(0));
        Assert.Throws<ArgumentException>(() => Linalg.InvEx(batch, checkErrors: true));
        var (l, choleskyInfo) = Linalg.CholeskyEx(T([4, 2, 2, 3, 1, 2, 2, 1], 2, 2, 2));
        Assert.Equal([0, 2], choleskyInfo.ToArray<int>());
        Close(T([2, 0, 1, Math.Sqrt(2)], 2, 2), l.Narrow(0, 0, 1).Squeeze(0));
        var s = T([3, 1, 1, 2], 2, 2);
        Close(T([2, 3], 1, 2), Linalg.Solve(s, T([9, 8], 1, 2), left: false), 1e-12);   // [2, 3]·A = [9, 8]
        Check.Gradients(x => Linalg.Solve(Shifted(x[0]), x[1], left: false), In(3, 3), In(2, 3));
    }

    [Fact]
    public void Cholesky_ByHand_AndNamesTheFirstIndefiniteMinor()
    {
        var l = Linalg.Cholesky(T([4, 2, 2, 3], 2, 2));
        Close(T([2, 0, 1, Math.Sqrt(2)], 2, 2), l);
        Close(T([2, 1, 0, Math.Sqrt(2)], 2, 2), Linalg.Cholesky(T([4, 2, 2, 3], 2, 2), upper: true));
        Close(T([4, 2, 2, 3], 2, 2), Linalg.Cholesky(T([4, 99, 2, 3], 2, 2)).Matmul(l.MT));   // only the lower triangle is read
        Assert.Equal("linalg.cholesky: The factorization could not be completed because the input is not positive-definite (the leading minor of order 2 is not positive-definite).",
            Assert.Throws<ArgumentException>(() => Linalg.Cholesky(T([1, 2, 2, 1], 2, 2))).Message);
        Assert.StartsWith("linalg.cholesky: (Batch element 0): The factorization",
            Assert.Throws<ArgumentException>(() => Linalg.Cholesky(T([-1, 0, 0, 1], 1, 2, 2))).Message);
    }

    [Fact]
    public void Norms_ByHand()
    {
        var x = T([3, -4], 2);
        Assert.Equal(5.0, Linalg.VectorNorm(x).Item(), 12);
        Assert.Equal(7.0, Linalg.VectorNorm(x, 1).Item(), 12);
        Assert.Equal(4.0, Linalg.VectorNorm(x, double.PositiveInfinity).Item(), 12);
        Assert.Equal(3.0, Linalg.VectorNorm(x, double.NegativeInfinity).Item(), 12);
        Assert.Equal(2.0, Linalg.VectorNorm(x, 0).Item(), 12);
        Assert.Equal(12.0 / 7, Linalg.VectorNorm(x, -1).Item(), 12);
        var a = T([1, -2, 3, 4], 2, 2);
        Assert.Equal(Math.Sqrt(30), Linalg.MatrixNorm(a).Item(), 12);
        Assert.Equal(6.0, Linalg.MatrixNorm(a, 1).Item(), 12);                   // column sums 4, 6
        Assert.Equal(4.0, Linalg.MatrixNorm(a, -1).Item(), 12);
        Assert.Equal(7.0, Linalg.MatrixNorm(a, double.PositiveInfinity).Item(), 12);   // row sums 3, 7
        Assert.Equal(3.0, Linalg.MatrixNorm(a, double.NegativeInfinity).Item(), 12);
        // AᵀA = [[10, 10], [10, 20]]: σ² = 15 ± √125.
        Assert.Equal(Math.Sqrt(15 + Math.Sqrt(125)), Linalg.MatrixNorm(a, 2).Item(), 12);
        Assert.Equal(Math.Sqrt(15 - Math.Sqrt(125)), Linalg.MatrixNorm(a, -2).Item(), 12);
        Assert.Equal(Math.Sqrt(15 + Math.Sqrt(125)) + Math.Sqrt(15 - Math.Sqrt(125)), Linalg.MatrixNorm(a, "nuc").Item(), 12);
        Assert.Equal(Math.Sqrt(30), Linalg.Norm(a).Item(), 12);
        Assert.Equal(7.0, Linalg.Norm(a, double.PositiveInfinity).Item(), 12);
        Close(T([Math.Sqrt(10), Math.Sqrt(20)], 2), Linalg.Norm(a, 2, [0]));
        Check.Shape([1, 1], Linalg.MatrixNorm(a, 1, keepDim: true));
        Check.Shape([3], Linalg.MatrixNorm(In(2, 3, 4), "nuc", [0, 2]));
        Assert.Contains("1D or 2D", Assert.Throws<ArgumentException>(() => Linalg.Norm(In(2, 2, 2), 2)).Message);
    }

    [Theory]
    [InlineData(4, 3, "reduced")]
    [InlineData(3, 3, "reduced")]
    [InlineData(2, 4, "reduced")]
    [InlineData(4, 2, "complete")]
    public void QR_Reconstructs_WithOrthonormalQ_AndUpperR(int m, int n, string mode)
    {
        var a = In(2, m, n).Detach();
        var (q, r) = Linalg.QR(a, mode);
        int k = mode == "complete" ? m : Math.Min(m, n);
        Check.Shape([2, m, k], q);
        Check.Shape([2, k, n], r);
        Close(a, q.Matmul(r), 1e-12);
        Close(Eye(k).Expand(2, k, k), q.MT.Matmul(q), 1e-12);
        Close(r.Triu(), r, 0);
    }

    [Fact]
    public void Eigh_ByHand_AndReconstructs()
    {
        var (values, vectors) = Linalg.Eigh(T([2, 1, 1, 2], 2, 2));
        Close(T([1, 3], 2), values, 1e-14);
        Close(T([0.5, 0.5, 0.5, 0.5], 2, 2), vectors * vectors, 1e-14);
        var s = Spd(In(3, 5, 5)).Detach();
        var (l, v) = Linalg.Eigh(s);
        Close(s, (v * l.Unsqueeze(-2)).Matmul(v.MT), 1e-12);
        Close(Eye(5).Expand(3, 5, 5), v.MT.Matmul(v), 1e-12);
        Assert.True((l.Narrow(-1, 1, 4) - l.Narrow(-1, 0, 4)).Min().Item() >= 0, "ascending");
        var (upper, _) = Linalg.Eigh(T([2, 1, 99, 2], 2, 2), "U");                // the upper triangle only
        Close(T([1, 3], 2), upper, 1e-14);
    }

    [Theory]
    [InlineData(5, 3)]
    [InlineData(3, 3)]
    [InlineData(2, 4)]
    public void SVD_Reconstructs_WithDescendingValues(int m, int n)
    {
        var a = In(2, m, n).Detach();
        var (u, s, vh) = Linalg.SVD(a, fullMatrices: false);
        int k = Math.Min(m, n);
        Close(a, (u * s.Unsqueeze(-2)).Matmul(vh), 1e-12);
        Close(Eye(k).Expand(2, k, k), u.MT.Matmul(u), 1e-12);
        Close(Eye(k).Expand(2, k, k), vh.Matmul(vh.MT), 1e-12);
        Assert.True((s.Narrow(-1, 0, k - 1) - s.Narrow(-1, 1, k - 1)).Min().Item() >= 0, "descending");
        Close(s, Linalg.Svdvals(a), 0);
        Close(T([3, 2, 0], 3), Linalg.Svdvals(T([0, 0, 0, 0, -3, 0, 2, 0, 0], 3, 3)), 1e-15);
        var (u0, _, _) = Linalg.SVD(T([0, 0, 0, 0, 1, 0], 3, 2), fullMatrices: false);  // rank 1: U completed
        Close(Eye(2), u0.MT.Matmul(u0), 1e-14);
        var (uf, sf, vhf) = Linalg.SVD(a);                                          // full matrices
        Check.Shape([2, m, m], uf);
        Check.Shape([2, n, n], vhf);
        Close(Eye(m).Expand(2, m, m), uf.MT.Matmul(uf), 1e-12);
        Close(Eye(n).Expand(2, n, n), vhf.Matmul(vhf.MT), 1e-12);
        Close(a, (uf.Narrow(-1, 0, k) * sf.Unsqueeze(-2)).Matmul(vhf.Narrow(-2, 0, k)), 1e-12);
    }

    [Fact]
    public void Pinv_AndLstsq_SolveLeastSquares()
    {
        var a = In(5, 3).Detach();
        Close(Eye(3), Linalg.Pinv(a).Matmul(a), 1e-12);
        var x = In(3, 2).Detach();
        Close(x, Linalg.Lstsq(a, a.Matmul(x)), 1e-12);                              // a consistent system
        var rank1 = T([1, 2, 2, 4], 2, 2);
        Close(rank1.MT / 25, Linalg.Pinv(rank1), 1e-14);                            // uvᵀ⁺ = vuᵀ/(|u|²|v|²)
        var wide = In(2, 4).Detach();
        var b = In(2, 1).Detach();
        var minimum = Linalg.Lstsq(wide, b);
        Close(b, wide.Matmul(minimum), 1e-12);
        Close(wide.MT.Matmul(Linalg.Solve(wide.Matmul(wide.MT), b)), minimum, 1e-12);   // the minimum-norm one
    }

    [Fact]
    public void Float32_MatchesFloat64()
    {
        var a = Shifted(In(3, 3)).Detach();
        Close(Linalg.Inv(a), Linalg.Inv(a.To(DType.Float32)), 1e-6);
        Close(Linalg.Det(a), Linalg.Det(a.To(DType.Float32)), 1e-5);
        Close(Linalg.Svdvals(a), Linalg.Svdvals(a.To(DType.Float32)), 1e-6);
        Assert.Equal(DType.Float32, Linalg.Cholesky(Spd(a).To(DType.Float32)).DType);
    }

    [Fact]
    public void Gradients_InvSolveDetSlogdet()
    {
        Check.Gradients(x => Linalg.Inv(Shifted(x[0])), In(2, 3, 3));
        Check.Gradients(x => Linalg.Solve(Shifted(x[0]), x[1]), In(2, 3, 3), In(3, 2));
        Check.Gradients(x => Linalg.Solve(Shifted(x[0]), x[1]), In(3, 3), In(3));
        Check.Gradients(x => Linalg.Det(Shifted(x[0])), In(2, 3, 3));
        Check.Gradients(x => Linalg.Det(x[0]), In(4, 4));                            // any invertible matrix
        Check.Gradients(x => Linalg.Slogdet(x[0]).LogAbsDet, In(2, 4, 4));
        Check.Gradients(x => Linalg.Cholesky(Spd(x[0])), In(2, 4, 4));
        Check.Gradients(x => Linalg.Cholesky(Spd(x[0]), upper: true), In(3, 3));
    }

    [Fact]
    public void Det_OfASingularMatrix_HasTheCofactorsAsGradient()
    {
        var a = T([1, 2, 2, 4], 2, 2).RequiresGrad_();
        Linalg.Det(a).Backward();
        Close(T([4, -2, -2, 1], 2, 2), a.Grad!, 1e-12);                             // ∂(ad − bc) = [d, −c; −b, a]
        var rank1 = T([1, 2, 3, 2, 4, 6, -1, -2, -3], 3, 3).RequiresGrad_();        // rank n − 2: every cofactor is 0
        Linalg.Det(rank1).Backward();
        Close(Tensor.Zeros([3, 3], DType.Float64), rank1.Grad!, 1e-12);
        // A repeated row in each matrix of a batch: the cofactors, checked by finite differences.
        Check.Gradients(x => Linalg.Det(Tensor.Cat([x[0], x[0].Narrow(-2, 0, 1)], -2)), In(2, 2, 3));
    }

    [Fact]
    public void Products_ByHand()
    {
        var lower = T([2, 0, 1, 4], 2, 2);
        Close(T([1, 1], 2, 1), Linalg.SolveTriangular(lower, T([2, 5], 2, 1), upper: false));
        Close(T([1, 1], 2, 1), Linalg.SolveTriangular(T([2, 99, 1, 4], 2, 2), T([2, 5], 2, 1), upper: false));   // the other triangle is ignored
        Close(T([2, 3], 2, 1), Linalg.SolveTriangular(lower, T([2, 5], 2, 1), upper: false, unitriangular: true));
        Close(T([0.5, 1], 1, 2), Linalg.SolveTriangular(lower, T([2, 4], 1, 2), upper: false, left: false));   // X·A = B
        var a = T([1, 1, 0, 1], 2, 2);
        Close(T([1, 5, 0, 1], 2, 2), Linalg.MatrixPower(a, 5));
        Close(T([1, -3, 0, 1], 2, 2), Linalg.MatrixPower(a, -3));
        Close(Eye(2), Linalg.MatrixPower(a, 0));
        Close(T([18], []), Linalg.MultiDot(T([1, 2], 2), Eye(2), T([4, 3, 2, 1], 2, 2), T([1, 2], 2)));   // [1,2]·[[4,3],[2,1]]·[1,2] = [8,5]·[1,2] = 18
        Close(T([0, 0, 1], 3), Linalg.Cross(T([1, 0, 0], 3), T([0, 1, 0], 3)));
        Close(T([11], []), Linalg.Vecdot(T([1, 2], 2), T([3, 4], 2)));
        Assert.Equal(1L, Linalg.MatrixRank(T([1, 2, 2, 4], 2, 2)).Item<long>());
        Assert.Equal(2L, Linalg.MatrixRank(T([1, 2, 2, 5], 2, 2)).Item<long>());
        Assert.Equal(2.0, Linalg.Cond(T([2, 0, 0, 1], 2, 2)).Item(), 12);
        Assert.Equal(2.0, Linalg.Cond(T([2, 0, 0, 1], 2, 2), 1).Item(), 12);
        Check.Gradients(x => Linalg.SolveTriangular(Shifted(x[0]), x[1], upper: true, left: false), In(3, 3), In(2, 3));
        Check.Gradients(x => Linalg.MatrixPower(x[0] * 0.3, -2), In(3, 3));
        Check.Gradients(x => Linalg.MultiDot(x[0], x[1], x[2]), In(2), In(2, 4), In(4, 3));
        Check.Gradients(x => Linalg.Cross(x[0], x[1], 0), In(3, 2), In(3, 2));
        Check.Gradients(x => Linalg.Cond(x[0]), In(3, 3));
    }

    [Fact]
    public void TensorInvSolveAndVander_ByHand()
    {
        var a = Shifted(In(6, 6)).Detach().Reshape(2, 3, 6);
        var inverse = Linalg.TensorInv(a);
        Check.Shape([6, 2, 3], inverse);
        Close(Eye(6), inverse.Reshape(6, 6).Matmul(a.Reshape(6, 6)), 1e-12);
        var b = In(2, 3).Detach();
        var x = Linalg.TensorSolve(a, b);
        Check.Shape([6], x);
        Close(b, a.Reshape(6, 6).Matmul(x).Reshape(2, 3), 1e-12);
        Close(x, Linalg.TensorSolve(a.Permute(2, 0, 1), b, [0]), 1e-12);              // dim 0 moved back to the end
        Close(T([1, 2, 4, 8, 1, 0, 0, 0, 1, -3, 9, -27], 3, 4), Linalg.Vander(T([2, 0, -3], 3), 4));
        Check.Shape([2, 3, 3], Linalg.Vander(In(2, 3)));
        Check.Gradients(x => Linalg.Vander(x[0], 3), In(2, 3));
        Check.Gradients(x => Linalg.TensorInv(x[0].Reshape(2, 2, 4) + Eye(4).Reshape(2, 2, 4) * 8.0, 2), In(4, 4));
        Assert.Contains("prod(self.shape[ind:]) == prod(self.shape[:ind])", Assert.Throws<ArgumentException>(() => Linalg.TensorInv(In(2, 3, 4))).Message);
    }

    [Fact]
    public void Gradients_Norms()
    {
        Check.Gradients(x => Linalg.VectorNorm(x[0]), In(3, 4));
        Check.Gradients(x => Linalg.VectorNorm(x[0], 3, [1], keepDim: true), In(3, 4));
        Check.Gradients(x => Linalg.VectorNorm(x[0], -1.5, [0]), In(3, 4));
        Check.Gradients(x => Linalg.VectorNorm(x[0], double.NegativeInfinity, [-1]), In(3, 4));
        var withZero = T([0, 2, 1, 2], 2, 2).RequiresGrad_();                       // a zero makes a negative-ord norm 0, gradient 0
        var norms = Linalg.VectorNorm(withZero, -1, [1]);
        Close(T([0, 2.0 / 3], 2), norms, 1e-14);
        norms.Sum().Backward();
        Close(T([0, 0, 4.0 / 9, 1.0 / 9], 2, 2), withZero.Grad!, 1e-14);
        Check.Gradients(x => Linalg.MatrixNorm(x[0]), In(2, 3, 4));
        Check.Gradients(x => Linalg.MatrixNorm(x[0], 1), In(2, 3, 4));
        Check.Gradients(x => Linalg.MatrixNorm(x[0], double.NegativeInfinity, [0, 2]), In(2, 3, 4));
        Check.Gradients(x => Linalg.MatrixNorm(x[0], 2), In(2, 3, 4));
        Check.Gradients(x => Linalg.MatrixNorm(x[0], -2), In(4, 3));
        Check.Gradients(x => Linalg.MatrixNorm(x[0], "nuc", [2, 0], keepDim: true), In(2, 3, 4));
    }

    [Theory]
    [InlineData(4, 3)]
    [InlineData(3, 3)]
    [InlineData(2, 4)]
    public void Gradients_QR(int m, int n)
    {
        Check.Gradients(x => Linalg.QR(x[0]).Q, In(2, m, n));
        Check.Gradients(x => Linalg.QR(x[0]).R, In(2, m, n));
        Check.Gradients(x => { var (q, r) = Linalg.QR(x[0]); return q.Sum() + r.Pow(2).Sum(); }, In(m, n));
    }

    [Fact]
    public void Gradients_EighAndSvd_OfSignInvariantLosses()
    {
        Check.Gradients(x => Linalg.Eigvalsh(x[0] + x[0].MT), In(2, 4, 4));
        Check.Gradients(x => { var (l, v) = Linalg.Eigh(x[0] + x[0].MT); return v * v * l.Unsqueeze(-2); }, In(4, 4));
        foreach (var (m, n) in new[] { (5, 3), (3, 3), (2, 4) })
        {
            Check.Gradients(x => Linalg.Svdvals(x[0]), In(2, m, n));
            Check.Gradients(x => { var (u, s, vh) = Linalg.SVD(x[0], fullMatrices: false); return Tensor.Cat([(u * u).Reshape(-1), (vh * vh).Reshape(-1), s]); }, In(m, n));
            // A rank-one part u₀·s₀·v₀ᵀ: the signs of u₀ and v₀ cancel.
            Check.Gradients(x => { var (u, s, vh) = Linalg.SVD(x[0], fullMatrices: false); return u.Narrow(-1, 0, 1).Matmul(vh.Narrow(-2, 0, 1)); }, In(m, n));
        }
        Check.Gradients(x => Linalg.Pinv(x[0]), In(4, 3));
        Check.Gradients(x => Linalg.Lstsq(x[0], x[1]), In(2, 4), In(2, 2));
    }

    [Fact]
    public void SecondOrderGradients_ByFiniteDifferences()
    {
        // The gradient of a scalar loss, itself checked against finite differences: the backward
        // formulas are tensor operations, so they differentiate again.
        static Func<Tensor[], Tensor> GradientOf(Func<Tensor, Tensor> loss) =>
            x => Autograd.Grad(loss(x[0]), x[0], createGraph: true);
        Check.Gradients(GradientOf(a => Linalg.Inv(Shifted(a)).Pow(2).Sum()), In(3, 3));
        Check.Gradients(GradientOf(a => Linalg.Det(Shifted(a))), In(3, 3));
        Check.Gradients(GradientOf(a => Linalg.Slogdet(Shifted(a)).LogAbsDet), In(3, 3));
        Check.Gradients(GradientOf(a => Linalg.Cholesky(Spd(a)).Pow(2).Sum()), In(3, 3));
        Check.Gradients(GradientOf(a => Linalg.Svdvals(a).Pow(3).Sum()), In(3, 2));
        Check.Gradients(GradientOf(a => Linalg.Eigvalsh(a + a.MT).Pow(3).Sum()), In(3, 3));
        Check.Gradients(GradientOf(a => Linalg.QR(a).R.Pow(2).Sum()), In(3, 2));
    }
}
