using MetaGrad.Functions;

namespace MetaGrad;

/// <summary>
/// torch.linalg: inverses, solves, determinants, factorizations and norms of (batches of)
/// matrices [..., m, n], float32 and float64, each differentiable (and differentiable again).
/// Factorizations run in double whatever the dtype. Errors are worded as libtorch's.
/// </summary>
public static partial class Linalg
{
    /// <summary>The inverse of square matrices [..., n, n] (torch.linalg.inv); a singular matrix throws.</summary>
    public static Tensor Inv(Tensor a) => new Inverse().Apply(Square("linalg.inv", a));

    /// <summary>
    /// The inverse without the error (torch.linalg.inv_ex): Info [...] (Int32) is 0 for an inverted
    /// matrix, else the 1-based index of the first zero pivot (the inverse is then meaningless).
    /// With checkErrors a singular matrix throws, as <see cref="Inv"/>.
    /// </summary>
    public static (Tensor Inverse, Tensor Info) InvEx(Tensor a, bool checkErrors = false)
    {
        var f = new Inverse(checkErrors);
        var inverse = f.Apply(Square("linalg.inv_ex", a));
        return (inverse, InfoTensor(f.Info, a));
    }

    /// <summary>
    /// The Cholesky factor without the error (torch.linalg.cholesky_ex): Info [...] (Int32) is 0, or
    /// the order of the first leading minor that is not positive-definite (L is then incomplete).
    /// </summary>
    public static (Tensor L, Tensor Info) CholeskyEx(Tensor a, bool upper = false, bool checkErrors = false)
    {
        var f = new CholeskyFactor(checkErrors);
        var l = f.Apply(Square("linalg.cholesky_ex", a));
        return (upper ? l.MT : l, InfoTensor(f.Info, a));
    }

    static Tensor InfoTensor(int[] info, Tensor a) => Tensor.From(info, a.Shape.Take(a.NDim - 2).ToArray());

    /// <summary>
    /// X with A·X = B (torch.linalg.solve), A [..., n, n], or X·A = B when <paramref name="left"/> is
    /// false. B is a batch of matrices [..., n, k], or of vectors when it is 1-D or has A's shape
    /// without its last dim; batch dims broadcast. A singular A throws.
    /// </summary>
    public static Tensor Solve(Tensor a, Tensor b, bool left)
    {
        if (left) return Solve(a, b);
        Square("linalg.solve", a);
        if (b.NDim < 2)
            throw new ArgumentException($"linalg.solve: Vector broadcasting of the left hand side is not supported for left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)");
        return Solve(a.MT, b.MT).MT;   // X·A = B is Aᵀ·Xᵀ = Bᵀ
    }

    /// <summary>
    /// X with A·X = B (torch.linalg.solve), A [..., n, n]. B is a batch of matrices [..., n, k], or
    /// of vectors when it is 1-D or has A's shape without its last dim; batch dims broadcast. A
    /// singular A throws.
    /// </summary>
    public static Tensor Solve(Tensor a, Tensor b)
    {
        const string op = "linalg.solve";
        Square(op, a);
        if (b.DType != a.DType)
            throw new ArgumentException($"{op}: Expected A and B to have the same dtype, but found A of type {a.DType} and B of type {b.DType} instead");
        int n = a.Shape[^1];
        bool vector = b.NDim == 1 || (b.NDim == a.NDim - 1 && b.Shape.SequenceEqual(a.Shape.Take(a.NDim - 1)));
        var rhs = vector ? b.Unsqueeze(-1) : b;
        if (rhs.NDim < 2 || rhs.Shape[^2] != n)
            throw new ArgumentException($"{op}: Incompatible shapes of A and B for the equation AX = B ({ShapeMath.Format(a.Layout.Shape)} and {ShapeMath.Format(b.Layout.Shape)})");
        var batch = BroadcastBatch(op, a.Shape.Take(a.NDim - 2).ToArray(), rhs.Shape.Take(rhs.NDim - 2).ToArray());
        var x = new Functions.Solve().Apply(a.Expand([.. batch, n, n]), rhs.Expand([.. batch, n, rhs.Shape[^1]]));
        return vector ? x.Squeeze(-1) : x;
    }

    /// <summary>The determinant of square matrices [..., n, n] (torch.linalg.det); 0 for a singular one. Its gradient needs A invertible.</summary>
    public static Tensor Det(Tensor a) => new Determinant().Apply(Square("linalg.det", a));

    /// <summary>
    /// The sign and the log of the absolute value of the determinant (torch.linalg.slogdet): det =
    /// sign·exp(logAbsDet), without the overflow of det itself. A singular matrix gives (0, −∞).
    /// </summary>
    public static (Tensor Sign, Tensor LogAbsDet) Slogdet(Tensor a)
    {
        var outputs = new SignLogDeterminant().Apply(Square("linalg.slogdet", a));
        return (outputs[0], outputs[1]);
    }

    /// <summary>
    /// The Cholesky factor of symmetric positive-definite matrices [..., n, n] (torch.linalg.cholesky):
    /// lower L with A = L·Lᵀ (upper: U = Lᵀ with A = Uᵀ·U), read from A's lower triangle. A matrix
    /// that is not positive-definite throws, naming its first leading minor that is not.
    /// </summary>
    public static Tensor Cholesky(Tensor a, bool upper = false)
    {
        var l = new CholeskyFactor().Apply(Square("linalg.cholesky", a));
        return upper ? l.MT : l;
    }

    /// <summary>
    /// The vector norm over dims (all when null) (torch.linalg.vector_norm): (Σ|x|^ord)^(1/ord);
    /// ord = ∞ is max |x|, −∞ min |x|, 0 the number of non-zero elements.
    /// </summary>
    public static Tensor VectorNorm(Tensor x, double ord = 2, int[]? dim = null, bool keepDim = false)
    {
        Floating("linalg.vector_norm", x);
        var d = dim ?? [.. Enumerable.Range(0, x.NDim)];
        if (double.IsNegativeInfinity(ord))
        {
            if (x.Numel == 0)
                throw new ArgumentException($"linalg.vector_norm: Expected a non-empty input for ord = -inf, got shape {ShapeMath.Format(x.Layout.Shape)}");
            return x.Abs().Min(d, keepDim);
        }
        if (ord == 0) return x.Abs().Sign().Sum(d, keepDim);      // a count whose gradient is 0, as libtorch's
        if (ord < 0)
        {
            // A zero element makes the norm 0 (|0|^ord = ∞); route it through 1 so that no ∞ or NaN
            // reaches the gradient, which is then 0, as libtorch's.
            var a = x.Abs();
            var isZero = a == 0.0;
            var y = Tensor.Where(isZero, Tensor.OnesLike(a), a).Pow(ord).Sum(d, keepDim).Pow(1 / ord);
            return Tensor.Where(isZero.Any(d, keepDim), Tensor.ZerosLike(y), y);
        }
        return x.Norm(ord, d, keepDim);
    }

    /// <summary>
    /// A matrix norm over the two dims (torch.linalg.matrix_norm): "fro" (Frobenius) or "nuc"
    /// (nuclear: the sum of the singular values).
    /// </summary>
    public static Tensor MatrixNorm(Tensor a, string ord = "fro", int[]? dim = null, bool keepDim = false)
    {
        const string op = "linalg.matrix_norm";
        var (d0, d1) = MatrixDims(op, a, dim);
        return ord switch
        {
            "fro" => VectorNorm(a, 2, [d0, d1], keepDim),
            "nuc" => Spectral(a, d0, d1, keepDim, s => s.Sum(-1)),
            _ => throw new ArgumentException($"{op}: Order {ord} not supported."),
        };
    }

    /// <summary>
    /// A matrix norm over the two dims (torch.linalg.matrix_norm): ord 1 / −1 the largest / smallest
    /// column sum of |A|, ∞ / −∞ the largest / smallest row sum, 2 / −2 the largest / smallest singular value.
    /// </summary>
    public static Tensor MatrixNorm(Tensor a, double ord, int[]? dim = null, bool keepDim = false)
    {
        const string op = "linalg.matrix_norm";
        var (d0, d1) = MatrixDims(op, a, dim);
        if (ord is 2 or -2) return Spectral(a, d0, d1, keepDim, s => ord > 0 ? s.Max(-1) : s.Min(-1));
        // ord ±1 sums down the columns and picks among columns; ord ±∞ the other way round.
        var (sumDim, pickDim) = Math.Abs(ord) == 1 ? (d0, d1) : double.IsInfinity(ord) ? (d1, d0) :
            throw new ArgumentException($"{op}: Order {ord} not supported.");
        var sums = a.Abs().Sum([sumDim], keepDim: true);
        var y = ord > 0 ? sums.Max([pickDim], keepDim: true) : sums.Min([pickDim], keepDim: true);
        return keepDim ? y : y.SqueezeDims([Math.Min(d0, d1), Math.Max(d0, d1)]);
    }

    /// <summary>
    /// torch.linalg.norm with a numeric (or no) ord: with dim null and ord null the 2-norm of all
    /// elements; otherwise a vector norm over one dim (or a 1-D input) and a matrix norm over two (or a 2-D input).
    /// </summary>
    public static Tensor Norm(Tensor x, double? ord = null, int[]? dim = null, bool keepDim = false)
    {
        if (dim is null)
        {
            if (ord is null) return VectorNorm(x, 2, null, keepDim);
            if (x.NDim is not (1 or 2))
                throw new ArgumentException($"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {x.NDim}D.");
            return x.NDim == 1 ? VectorNorm(x, ord.Value, null, keepDim) : MatrixNorm(x, ord.Value, null, keepDim);
        }
        return dim.Length switch
        {
            1 => VectorNorm(x, ord ?? 2, dim, keepDim),
            2 => ord is { } o ? MatrixNorm(x, o, dim, keepDim) : MatrixNorm(x, "fro", dim, keepDim),
            _ => throw new ArgumentException($"linalg.norm: If dim is specified, it must be of length 1 or 2. Got [{string.Join(", ", dim)}]"),
        };
    }

    /// <summary>torch.linalg.norm with ord "fro" or "nuc": a matrix norm over dim (the input must be 2-D when dim is null).</summary>
    public static Tensor Norm(Tensor x, string ord, int[]? dim = null, bool keepDim = false)
    {
        if (dim is null && x.NDim != 2)
            throw new ArgumentException($"linalg.norm: If dim is not specified but ord is, the input must be 2D. Got {x.NDim}D.");
        return MatrixNorm(x, ord, dim, keepDim);
    }

    /// <summary>
    /// The QR decomposition A = Q·R of [..., m, n] by Householder reflections (torch.linalg.qr):
    /// mode "reduced" (Q [..., m, k], R [..., k, n], k = min(m, n)), "complete" (Q [..., m, m]) or
    /// "r" (R only, Q empty). R's diagonal signs are LAPACK's.
    /// </summary>
    public static (Tensor Q, Tensor R) QR(Tensor a, string mode = "reduced")
    {
        const string op = "linalg.qr";
        Floating(op, a);
        AtLeastMatrix(op, a);
        if (mode is not ("reduced" or "complete" or "r"))
            throw new ArgumentException($"{op}: qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or 'complete'");
        var outputs = new QrDecomposition(mode == "complete").Apply(a);
        if (mode != "r") return (outputs[0], outputs[1]);
        return (Tensor.Zeros([0], a.DType), outputs[1]);
    }

    /// <summary>
    /// Eigenvalues in ascending order and orthonormal eigenvectors (columns) of symmetric matrices
    /// [..., n, n] (torch.linalg.eigh), read from the lower triangle (uplo "L") or the upper ("U").
    /// The eigenvectors' gradient assumes distinct eigenvalues; their signs are arbitrary.
    /// </summary>
    public static (Tensor Eigenvalues, Tensor Eigenvectors) Eigh(Tensor a, string uplo = "L")
    {
        const string op = "linalg.eigh";
        Square(op, a);
        if (uplo is not ("L" or "U" or "l" or "u"))
            throw new ArgumentException($"{op}: Expected UPLO argument to be 'L' or 'U', but got {uplo}");
        var outputs = new SymmetricEigen().Apply(uplo is "U" or "u" ? a.MT : a);
        return (outputs[0], outputs[1]);
    }

    /// <summary>The eigenvalues of symmetric matrices, ascending (torch.linalg.eigvalsh).</summary>
    public static Tensor Eigvalsh(Tensor a, string uplo = "L") => Eigh(a, uplo).Eigenvalues;

    /// <summary>
    /// The singular value decomposition A = U·diag(S)·Vh of [..., m, n] by one-sided Jacobi
    /// (torch.linalg.svd), S descending, k = min(m, n): U [..., m, k] and Vh [..., k, n] with
    /// fullMatrices false; with true (the default, as torch's) U is [..., m, m] and Vh [..., n, n],
    /// the extra vectors any orthonormal basis of the complement, without gradient. Vector signs
    /// are arbitrary; the vectors' gradient assumes distinct non-zero singular values.
    /// </summary>
    public static (Tensor U, Tensor S, Tensor Vh) SVD(Tensor a, bool fullMatrices = true)
    {
        const string op = "linalg.svd";
        Floating(op, a);
        AtLeastMatrix(op, a);
        var outputs = new SingularValueDecomposition().Apply(a);
        var (u, s, vh) = (outputs[0], outputs[1], outputs[2]);
        int m = a.Shape[^2], n = a.Shape[^1];
        if (!fullMatrices || m == n) return (u, s, vh);
        // The full form adds an orthonormal basis of the complement to U (tall) or Vh (wide): the
        // last columns of a complete QR of the reduced vectors. Like libtorch, no gradient reaches
        // through those extra vectors (they are not unique).
        if (m > n) return (Tensor.Cat([u, Complement(u)], -1), s, vh);
        return (u, s, Tensor.Cat([vh, Complement(vh.MT).MT], -2));
    }

    // Columns completing the orthonormal columns of q [..., m, k] to a basis of m dims.
    static Tensor Complement(Tensor q)
    {
        using var _ = Autograd.NoGrad();
        var (full, _) = QR(q.Detach(), "complete");
        return full.Narrow(-1, q.Shape[^1], q.Shape[^2] - q.Shape[^1]);
    }

    /// <summary>The singular values of [..., m, n], descending (torch.linalg.svdvals).</summary>
    public static Tensor Svdvals(Tensor a)
    {
        Floating("linalg.svdvals", a);
        AtLeastMatrix("linalg.svdvals", a);
        return new SingularValueDecomposition().Apply(a)[1];
    }

    /// <summary>
    /// The Moore–Penrose pseudo-inverse [..., n, m] of [..., m, n] (torch.linalg.pinv) from the SVD:
    /// singular values at most rtol·σ_max count as zero; rtol defaults to ε·max(m, n), as libtorch's.
    /// </summary>
    public static Tensor Pinv(Tensor a, double? rtol = null)
    {
        Floating("linalg.pinv", a);
        AtLeastMatrix("linalg.pinv", a);
        var (u, s, vh) = SVD(a, fullMatrices: false);
        double tolerance = rtol ?? Epsilon(a.DType) * Math.Max(a.Shape[^1], a.Shape[^2]);
        if (s.Shape[^1] == 0) return vh.MT.Matmul(u.MT);
        var cutoff = s.Max([-1], keepDim: true).Detach() * tolerance;
        var kept = s > cutoff;
        var inverse = Tensor.Where(kept, 1.0 / Tensor.Where(kept, s, Tensor.OnesLike(s)), Tensor.ZerosLike(s));
        return vh.MT.Matmul(inverse.Unsqueeze(-1) * u.MT);
    }

    /// <summary>
    /// The least-squares solution X minimising ‖A·X − B‖ (the minimum-norm one for a wide or
    /// rank-deficient A) of A [..., m, n] and B [..., m, k] (torch.linalg.lstsq's solution), via the pseudo-inverse.
    /// </summary>
    public static Tensor Lstsq(Tensor a, Tensor b)
    {
        const string op = "linalg.lstsq";
        Floating(op, a);
        AtLeastMatrix(op, a);
        if (b.DType != a.DType)
            throw new ArgumentException($"{op}: Expected input and other to have the same dtype, but got input's dtype {a.DType} and other's dtype {b.DType}");
        if (b.NDim < 2 || b.Shape[^2] != a.Shape[^2])
            throw new ArgumentException($"{op}: input.size(-2) should match other.size(-2) (A {ShapeMath.Format(a.Layout.Shape)}, B {ShapeMath.Format(b.Layout.Shape)})");
        return Pinv(a).Matmul(b);
    }

    // σ of the matrices over (d0, d1), reduced to one number each, as a matrix norm keeps or drops those dims.
    static Tensor Spectral(Tensor a, int d0, int d1, bool keepDim, Func<Tensor, Tensor> reduce)
    {
        var y = reduce(Svdvals(a.Movedim([d0, d1], [-2, -1])));
        if (!keepDim) return y;
        foreach (int d in new[] { Math.Min(d0, d1), Math.Max(d0, d1) }) y = y.Unsqueeze(d);
        return y;
    }

    static (int, int) MatrixDims(string op, Tensor a, int[]? dim)
    {
        Floating(op, a);
        dim ??= [-2, -1];
        if (dim.Length != 2) throw new ArgumentException($"{op}: dim must be a 2-tuple. Got {string.Join(" ", dim)}");
        if (a.NDim < 2) throw new ArgumentException($"{op}: The input tensor A must have at least 2 dimensions.");
        int d0 = ShapeMath.Dim(dim[0], a.NDim, op), d1 = ShapeMath.Dim(dim[1], a.NDim, op);
        if (d0 == d1) throw new ArgumentException($"{op}: dims must be different. Got ({dim[0]}, {dim[1]})");
        return (d0, d1);
    }

    static Tensor Square(string op, Tensor a)
    {
        Floating(op, a);
        AtLeastMatrix(op, a);
        if (a.Shape[^1] != a.Shape[^2])
            throw new ArgumentException($"{op}: A must be batches of square matrices, but they are {a.Shape[^2]} by {a.Shape[^1]} matrices");
        return a;
    }

    static void AtLeastMatrix(string op, Tensor a)
    {
        if (a.NDim < 2) throw new ArgumentException($"{op}: The input tensor A must have at least 2 dimensions.");
    }

    static void Floating(string op, Tensor a)
    {
        if (!a.DType.IsFloatingPoint())
            throw new ArgumentException($"{op}: Expected a floating point or complex tensor as input. Got {a.DType}");
    }

    static int[] BroadcastBatch(string op, int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int x = i < rank - a.Length ? 1 : a[i - (rank - a.Length)], y = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (x != y && x != 1 && y != 1)
                throw new ArgumentException($"{op}: The batch dimensions of A [{string.Join(", ", a)}] and B [{string.Join(", ", b)}] do not broadcast");
            shape[i] = x == 1 ? y : x;
        }
        return shape;
    }
}
