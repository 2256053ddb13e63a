namespace MetaGrad.Functions;

/// <summary>
/// A = P·L·U with partial pivoting, L and U packed as LAPACK's getrf leaves them
/// (torch.linalg.lu_factor). The backward is PyTorch's (linalg_lu_backward) for square, wide and
/// tall matrices, in tensor operations so that it differentiates again.
/// </summary>
internal sealed class LuFactorization : MultiOutputFunction
{
    /// <summary>Per batch element: 0, or the 1-based index of the first zero pivot.</summary>
    public int[] Info { get; private set; } = [];

    public override string Name => "LinalgLuFactorExBackward0";

    protected override Tensor[] Forward(Context ctx, Tensor[] inputs)
    {
        var (lu, pivots, info) = inputs[0].Backend.LuFactor(inputs[0]);
        Info = info;
        Tensor packed = lu, rows = pivots;
        ctx.Save(packed, rows);
        return [packed, rows];
    }

    protected override Tensor?[] Backward(Context ctx, Tensor?[] grads)
    {
        var (lu, pivots) = ctx.Saved;
        if (grads[0] is not { } g) return [null];
        int m = lu.Shape[^2], n = lu.Shape[^1], k = Math.Min(m, n);
        var (p, l, u) = Unpack(lu, pivots);
        var gl = g.Narrow(-1, 0, k).Tril(-1);
        var gu = g.Narrow(-2, 0, k).Triu();
        return [p.Matmul(Gradient(l, u, gl, gu, m, n, k))];
    }

    // The gradient before the permutation: L⁻ᴴ·(Lᴴ·gL ∘ 1_L + gU·Uᴴ ∘ 1_U)·U⁻ᴴ for a square
    // matrix, and its extensions through the square block U₁ (wide) or L₁ (tall).
    static Tensor Gradient(Tensor l, Tensor u, Tensor gl, Tensor gu, int m, int n, int k)
    {
        if (m == n)
        {
            var phi = l.MT.Matmul(gl).Tril(-1) + gu.Matmul(u.MT).Triu();
            var right = Linalg.SolveTriangular(u.MT, phi, upper: false, left: false);
            return Linalg.SolveTriangular(l.MT, right, upper: true, left: true, unitriangular: true);
        }
        if (m < n)
        {
            var u1 = u.Narrow(-1, 0, k);
            var inner = l.MT.Matmul(gl) - gu.Triu().Matmul(u.MT);
            inner = Linalg.SolveTriangular(u1.MT, inner.Tril(-1), upper: false, left: false);
            inner = Tensor.Cat([inner + gu.Narrow(-1, 0, k).Triu(), gu.Narrow(-1, k, n - k)], -1);
            return Linalg.SolveTriangular(l.MT, inner, upper: true, left: true, unitriangular: true);
        }
        var l1 = l.Narrow(-2, 0, k);
        var tall = gu.Matmul(u.MT) - l.MT.Matmul(gl.Tril(-1));
        tall = Linalg.SolveTriangular(l1.MT, tall.Triu(), upper: true, left: true, unitriangular: true);
        tall = Tensor.Cat([tall + gl.Narrow(-2, 0, k).Tril(-1), gl.Narrow(-2, k, m - k)], -2);
        return Linalg.SolveTriangular(u.MT, tall, upper: false, left: false);
    }

    /// <summary>
    /// P [..., m, m], L [..., m, k] (unit diagonal) and U [..., k, n] from a packed LU and its
    /// 1-based pivots (torch.linalg.lu_unpack); L and U are differentiable functions of the LU.
    /// </summary>
    internal static (Tensor P, Tensor L, Tensor U) Unpack(Tensor lu, Tensor pivots)
    {
        int m = lu.Shape[^2], n = lu.Shape[^1], k = Math.Min(m, n);
        var l = lu.Narrow(-1, 0, k).Tril(-1) + Tensor.Eye(m, k, dtype: lu.DType);
        var u = lu.Narrow(-2, 0, k).Triu();
        return (Permutation(pivots, m, lu.DType), l, u);
    }

    /// <summary>
    /// The permutation P with A = P·L·U: the row swaps of the pivots applied in order to the rows
    /// 0..m-1 give perm, the rows of A that P·ᵀA = L·U stacks, so P[perm[i], i] = 1.
    /// </summary>
    internal static Tensor Permutation(Tensor pivots, int m, DType dtype)
    {
        int k = pivots.Shape[^1];
        var rows = pivots.To(DType.Int64).ToArray<long>();
        int count = pivots.Shape.Take(pivots.NDim - 1).Aggregate(1, (a, b) => a * b);
        var p = new double[count * m * m];
        var perm = new int[m];
        for (int b = 0; b < count; b++)
        {
            for (int i = 0; i < m; i++) perm[i] = i;
            for (int i = 0; i < k; i++)
            {
                long target = rows[b * k + i] - 1;
                if (target < i || target >= m)
                    throw new ArgumentException($"linalg.lu_unpack: pivots must be 1-based row indices between their position and {m}, got {target + 1} at position {i + 1}");
                (perm[i], perm[target]) = (perm[target], perm[i]);
            }
            for (int i = 0; i < m; i++) p[b * m * m + perm[i] * m + i] = 1;
        }
        return Tensor.From(p, [.. pivots.Shape.Take(pivots.NDim - 1), m, m]).To(dtype);
    }
}
