namespace MetaGrad.Backends;

// The matrix factorizations behind torch.linalg. Each takes a batch of matrices [..., m, n] of a
// floating dtype in any layout and returns contiguous results of the same dtype; a matrix whose
// factorization fails is reported by its position in the batch (Info), not thrown: the caller
// knows which operation the user called and words the error as libtorch does.
internal partial interface IBackend
{
    /// <summary>
    /// LU with partial pivoting of square matrices a [..., n, n]: the diagonal of U [..., n] and the
    /// sign of the row permutation [...] (det = sign·Π diag). A zero pivot column is skipped, as
    /// LAPACK's getrf does, so a singular matrix gives a zero on the diagonal.
    /// </summary>
    (RawTensor Diagonal, RawTensor Sign) LuDiagonal(RawTensor a);

    /// <summary>
    /// X with A·X = B for square a [..., n, n] and b [..., n, k] of the same batch shape (b null:
    /// the identity, so X = A⁻¹), by LU with partial pivoting. Info[i] is 0, or the 1-based index
    /// of the first zero pivot of batch element i (X is then meaningless).
    /// </summary>
    (RawTensor X, int[] Info) LuSolve(RawTensor a, RawTensor? b);

    /// <summary>
    /// LU with partial pivoting of a [..., m, n] as LAPACK's getrf leaves it: L (unit diagonal, not
    /// stored) and U packed in one [..., m, n], the pivots [..., min(m, n)] as Int32, 1-based (row i
    /// was swapped with row pivots[i] - 1 at step i). Info[i] is 0, or the 1-based index of the
    /// first zero pivot of batch element i (the factorization goes on past it).
    /// </summary>
    (RawTensor LU, RawTensor Pivots, int[] Info) LuFactor(RawTensor a);

    /// <summary>
    /// The lower Cholesky factor L (A = L·Lᵀ) of a [..., n, n], read from its lower triangle.
    /// Info[i] is 0, or the order of the first leading minor of batch element i that is not positive-definite.
    /// </summary>
    (RawTensor L, int[] Info) Cholesky(RawTensor a);

    /// <summary>Householder QR of a [..., m, n]: Q [..., m, k] and R [..., k, n], k = m (complete) or min(m, n).</summary>
    (RawTensor Q, RawTensor R) Qr(RawTensor a, bool complete);

    /// <summary>
    /// Eigenvalues (ascending) [..., n] and orthonormal eigenvectors (columns) [..., n, n] of the
    /// symmetric matrices whose lower triangles a [..., n, n] holds, by cyclic Jacobi rotations.
    /// </summary>
    (RawTensor Values, RawTensor Vectors) Eigh(RawTensor a);

    /// <summary>
    /// The reduced singular value decomposition A = U·diag(S)·Vh of a [..., m, n], k = min(m, n):
    /// U [..., m, k], S [..., k] descending, Vh [..., k, n], by one-sided (Hestenes) Jacobi rotations.
    /// </summary>
    (RawTensor U, RawTensor S, RawTensor Vh) Svd(RawTensor a);
}
