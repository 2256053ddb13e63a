namespace MetaGrad;

// The torch.linalg operations that are compositions of products, solves and the SVD: their
// gradients come from those (and differentiate again) with no code of their own.
public static partial class Linalg
{
    /// <summary>
    /// X with A·X = B (left) or X·A = B (left: false) for triangular A [..., n, n], read from its
    /// upper or lower triangle, with ones on the diagonal when <paramref name="unitriangular"/>
    /// (torch.linalg.solve_triangular); batch dims broadcast. A zero on the diagonal throws.
    /// </summary>
    public static Tensor SolveTriangular(Tensor a, Tensor b, bool upper, bool left = true, bool unitriangular = false)
    {
        const string op = "linalg.solve_triangular";
        Square(op, a);
        if (b.NDim < 2)
            throw new ArgumentException($"{op}: The input tensor B must have at least 2 dimensions.");
        var t = upper ? a.Triu(unitriangular ? 1 : 0) : a.Tril(unitriangular ? -1 : 0);
        if (unitriangular) t = t + Tensor.Eye(a.Shape[^1], dtype: a.DType);
        return Solve(t, b, left);
    }

    /// <summary>
    /// A^n for square matrices [..., n, n] and any integer n (torch.linalg.matrix_power): the identity
    /// for 0, products by repeated squaring, and the inverse's powers for n &lt; 0.
    /// </summary>
    public static Tensor MatrixPower(Tensor a, int n)
    {
        const string op = "linalg.matrix_power";
        AtLeastMatrix(op, a);
        if (a.Shape[^1] != a.Shape[^2])
            throw new ArgumentException($"{op}: A must be batches of square matrices, but they are {a.Shape[^2]} by {a.Shape[^1]} matrices");
        if (n == 0) return Tensor.Eye(a.Shape[^1], dtype: a.DType).Expand(a.Shape.ToArray()).Clone() + a * 0.0;
        var power = n < 0 ? Inv(a) : a;
        Tensor? result = null;
        for (long k = Math.Abs((long)n); k > 0; k >>= 1)
        {
            if ((k & 1) == 1) result = result is null ? power : result.Matmul(power);
            if (k > 1) power = power.Matmul(power);
        }
        return result!;
    }

    /// <summary>
    /// The product of a chain of matrices (torch.linalg.multi_dot): the first may be a vector (a row)
    /// and the last a vector (a column), and those dims are dropped from the result. Multiplied in
    /// the order that needs the fewest scalar multiplications, as torch chooses it.
    /// </summary>
    public static Tensor MultiDot(params Tensor[] tensors)
    {
        const string op = "linalg.multi_dot";
        if (tensors.Length < 2) throw new ArgumentException($"{op}: expected at least 2 tensors but got {tensors.Length}");
        var m = tensors.ToArray();
        bool rowFirst = m[0].NDim == 1, columnLast = m[^1].NDim == 1;
        if (rowFirst) m[0] = m[0].Unsqueeze(0);
        if (columnLast) m[^1] = m[^1].Unsqueeze(-1);
        for (int i = 0; i < m.Length; i++)
            if (m[i].NDim != 2)
                throw new ArgumentException($"{op}: tensor {i} must be 2D{(i == 0 || i == m.Length - 1 ? " or 1D" : "")} but got {tensors[i].NDim}D");
        for (int i = 1; i < m.Length; i++)
            if (m[i - 1].Shape[1] != m[i].Shape[0])
                throw new ArgumentException($"{op}: tensors {i - 1} and {i} with shapes {ShapeMath.Format(tensors[i - 1].Layout.Shape)} and {ShapeMath.Format(tensors[i].Layout.Shape)} cannot be multiplied");
        var y = ChainOrder(m);
        if (rowFirst) y = y.Squeeze(0);
        if (columnLast) y = y.Squeeze(-1);
        return y;
    }

    // The matrix chain: split[i, j] is where the cheapest product of m[i..j] splits (dynamic programming).
    static Tensor ChainOrder(Tensor[] m)
    {
        int count = m.Length;
        var dims = new long[count + 1];
        for (int i = 0; i < count; i++) dims[i] = m[i].Shape[0];
        dims[count] = m[^1].Shape[1];
        var cost = new long[count, count];
        var split = new int[count, count];
        for (int length = 1; length < count; length++)
            for (int i = 0; i + length < count; i++)
            {
                int j = i + length;
                cost[i, j] = long.MaxValue;
                for (int k = i; k < j; k++)
                {
                    long c = cost[i, k] + cost[k + 1, j] + dims[i] * dims[k + 1] * dims[j + 1];
                    if (c < cost[i, j]) (cost[i, j], split[i, j]) = (c, k);
                }
            }
        Tensor Product(int i, int j) => i == j ? m[i] : Product(i, split[i, j]).Matmul(Product(split[i, j] + 1, j));
        return Product(0, count - 1);
    }

    /// <summary>Σ x·y along dim, broadcast (torch.linalg.vecdot, real inputs).</summary>
    public static Tensor Vecdot(Tensor x, Tensor y, int dim = -1) => (x * y).Sum(dim);

    /// <summary>The cross product of 3-vectors along dim, broadcast (torch.linalg.cross).</summary>
    public static Tensor Cross(Tensor a, Tensor b, int dim = -1)
    {
        const string op = "linalg.cross";
        if (a.NDim != b.NDim)
            throw new ArgumentException($"{op}: inputs dimensions {a.NDim} and {b.NDim} do not match");
        int d = ShapeMath.Dim(dim, a.NDim, op);
        if (a.Shape[d] != 3 || b.Shape[d] != 3)
            throw new ArgumentException($"{op}: inputs dimension {dim} must have length 3. Got {a.Shape[d]} and {b.Shape[d]}");
        // (a × b)_i = a_{i+1}·b_{i+2} − a_{i+2}·b_{i+1}, indices mod 3: rolls of the whole vectors.
        return a.Roll(-1, d) * b.Roll(-2, d) - a.Roll(-2, d) * b.Roll(-1, d);
    }

    /// <summary>
    /// The number of singular values above max(atol, rtol·σ_max) (torch.linalg.matrix_rank), Int64;
    /// rtol defaults to ε·max(m, n) when atol is not given, else to 0.
    /// </summary>
    public static Tensor MatrixRank(Tensor a, double? atol = null, double? rtol = null)
    {
        using var _ = Autograd.NoGrad();
        var s = Svdvals(a);
        double relative = rtol ?? (atol is null ? Epsilon(a.DType) * Math.Max(a.Shape[^1], a.Shape[^2]) : 0);
        var largest = s.Shape[^1] == 0 ? Tensor.ZerosLike(s.Sum(-1, keepDim: true)) : s.Max([-1], keepDim: true);
        var cutoff = (largest * relative).Maximum(Tensor.FullLike(largest, atol ?? 0));
        return (s > cutoff).To(DType.Int64).Sum(-1);
    }

    /// <summary>
    /// The condition number in the 2-norm, σ_max/σ_min (torch.linalg.cond with p = None), or for
    /// another <paramref name="p"/> (1, −1, ∞, −∞, "fro"-like numbers 2, −2) ‖A‖·‖A⁻¹‖.
    /// </summary>
    public static Tensor Cond(Tensor a, double? p = null)
    {
        if (p is null or 2 or -2)
        {
            var s = Svdvals(a);
            int k = s.Shape[^1];
            var ratio = s.Narrow(-1, 0, 1).Squeeze(-1) / s.Narrow(-1, k - 1, 1).Squeeze(-1);
            return p == -2 ? 1.0 / ratio : ratio;
        }
        return MatrixNorm(a, p.Value) * MatrixNorm(Inv(a), p.Value);
    }

    static double Epsilon(DType dtype) => dtype.Epsilon();
}
