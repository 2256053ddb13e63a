using MetaGrad.Functions;

namespace MetaGrad;

// torch.linalg's LU family: the factorization (with its own backward), and what is built on it
// from products and triangular solves (unpacking, solving), whose gradients come from those.
public static partial class Linalg
{
    /// <summary>
    /// The LU decomposition with partial pivoting of [..., m, n] in LAPACK's packed form
    /// (torch.linalg.lu_factor): L (unit diagonal, not stored) below the diagonal and U on and above
    /// it, and the 1-based Int32 pivots [..., min(m, n)]. A zero pivot (a singular matrix) throws,
    /// as PyTorch does; <see cref="LuFactorEx"/> reports it instead.
    /// </summary>
    public static (Tensor LU, Tensor Pivots) LuFactor(Tensor a, bool pivot = true)
    {
        var (lu, pivots, info) = Factor("linalg.lu_factor", a, pivot);
        for (int i = 0; i < info.Length; i++)
            if (info[i] > 0)
                throw new ArgumentException($"torch.linalg.lu_factor: {(a.NDim > 2 ? $"(Batch element {i}): " : "")}U[{info[i]},{info[i]}] is zero and using it on lu_solve would result in a division by zero. If you still want to perform the factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)");
        return (lu, pivots);
    }

    /// <summary>
    /// <see cref="LuFactor"/> with the status per matrix (torch.linalg.lu_factor_ex): Info [...] is
    /// 0, or the 1-based index of the first zero on U's diagonal; with <paramref name="checkErrors"/>
    /// a nonzero status throws.
    /// </summary>
    public static (Tensor LU, Tensor Pivots, Tensor Info) LuFactorEx(Tensor a, bool pivot = true, bool checkErrors = false)
    {
        const string op = "linalg.lu_factor";
        var (lu, pivots, info) = Factor(op, a, pivot);
        if (checkErrors)
            for (int i = 0; i < info.Length; i++)
                if (info[i] > 0)
                    throw new ArgumentException($"{op}_ex: (Batch element {i}): The factorization could not be completed because the input is not invertible (U[{info[i]},{info[i]}] is zero)");
        return (lu, pivots, Tensor.From(info, [.. a.Shape.Take(a.NDim - 2)]));
    }

    /// <summary>
    /// A = P·L·U with partial pivoting of [..., m, n] (torch.linalg.lu): P [..., m, m] a permutation,
    /// L [..., m, k] lower triangular with ones on the diagonal, U [..., k, n] upper triangular,
    /// k = min(m, n). Singular matrices factor too (a zero on U's diagonal).
    /// </summary>
    public static (Tensor P, Tensor L, Tensor U) Lu(Tensor a, bool pivot = true)
    {
        var (lu, pivots, _) = Factor("linalg.lu", a, pivot);
        return LuFactorization.Unpack(lu, pivots);
    }

    // The packed factorization and each matrix's status, for the three entry points to word.
    static (Tensor LU, Tensor Pivots, int[] Info) Factor(string op, Tensor a, bool pivot)
    {
        Floating(op, a);
        AtLeastMatrix(op, a);
        if (!pivot) throw new NotSupportedException($"{op}: LU without pivoting is not implemented on the CPU");
        var function = new LuFactorization();
        var outputs = function.Apply(a);
        return (outputs[0], outputs[1], function.Info);
    }

    /// <summary>P, L and U from <see cref="LuFactor"/>'s packed form (torch.lu_unpack); L and U are differentiable in the LU.</summary>
    public static (Tensor P, Tensor L, Tensor U) LuUnpack(Tensor lu, Tensor pivots)
    {
        const string op = "linalg.lu_unpack";
        AtLeastMatrix(op, lu);
        int k = Math.Min(lu.Shape[^2], lu.Shape[^1]);
        if (pivots.DType != DType.Int32 && pivots.DType != DType.Int64)
            throw new ArgumentException($"{op}: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype, got {pivots.DType}");
        if (pivots.NDim != lu.NDim - 1 || pivots.Shape[^1] != k || !pivots.Shape.Take(pivots.NDim - 1).SequenceEqual(lu.Shape.Take(lu.NDim - 2)))
            throw new ArgumentException($"{op}: pivots of shape {pivots.Shape} do not fit LU of shape {lu.Shape} (expected [..., {k}] with LU's batch shape)");
        return LuFactorization.Unpack(lu, pivots);
    }

    /// <summary>
    /// X with A·X = B (or X·A = B without <paramref name="left"/>, Aᴴ in place of A with
    /// <paramref name="adjoint"/>) from A's <see cref="LuFactor"/> (torch.linalg.lu_solve), square A only.
    /// Differentiable in the LU and in B.
    /// </summary>
    public static Tensor LuSolve(Tensor lu, Tensor pivots, Tensor b, bool left = true, bool adjoint = false)
    {
        const string op = "linalg.lu_solve";
        Square(op, lu);
        if (b.NDim < 2) throw new ArgumentException($"{op}: The input tensor B must have at least 2 dimensions.");
        int n = lu.Shape[^1];
        if ((left ? b.Shape[^2] : b.Shape[^1]) != n)
            throw new ArgumentException($"{op}: Incompatible shapes of A and B for the equation {(left ? "AX = B" : "XA = B")} ({n}x{n} and {b.Shape[^2]}x{b.Shape[^1]})");
        var (p, l, u) = LuUnpack(lu, pivots);
        // A = P·L·U. Left: X = U⁻¹·L⁻¹·Pᵀ·B, adjoint X = P·L⁻ᴴ·U⁻ᴴ·B; right: X = B·U⁻¹·L⁻¹·Pᵀ,
        // adjoint X = B·P·L⁻ᴴ·U⁻ᴴ.
        if (left && !adjoint)
            return SolveTriangular(u, SolveTriangular(l, p.MT.Matmul(b), upper: false, unitriangular: true), upper: true);
        if (left)
            return p.Matmul(SolveTriangular(l.MT, SolveTriangular(u.MT, b, upper: false), upper: true, unitriangular: true));
        if (!adjoint)
            return SolveTriangular(l, SolveTriangular(u, b, upper: true, left: false), upper: false, left: false, unitriangular: true).Matmul(p.MT);
        return SolveTriangular(u.MT, SolveTriangular(l.MT, b.Matmul(p), upper: true, left: false, unitriangular: true), upper: false, left: false);
    }
}
