namespace MetaGrad;

// torch.linalg's aliases and the operations on tensors seen as matrices (tensorinv, tensorsolve,
// vander): reshapes around Inv, Solve and Cumprod, so their gradients come from those.
public static partial class Linalg
{
    /// <summary>The matrix product (torch.linalg.matmul, an alias of <see cref="Tensor.Matmul"/>).</summary>
    public static Tensor Matmul(Tensor a, Tensor b) => a.Matmul(b);

    /// <summary>Diagonals of the matrices over the last two dims (torch.linalg.diagonal; Tensor.Diagonal with other defaults).</summary>
    public static Tensor Diagonal(Tensor a, int offset = 0, int dim1 = -2, int dim2 = -1) => a.Diagonal(offset, dim1, dim2);

    /// <summary>
    /// The inverse of A seen as a matrix whose rows are its first <paramref name="ind"/> dims
    /// (torch.linalg.tensorinv): the result has shape [A.shape[ind:], A.shape[:ind]] and
    /// tensordot(result, A, ind) is the identity.
    /// </summary>
    public static Tensor TensorInv(Tensor a, int ind = 2)
    {
        const string op = "linalg.tensorinv";
        if (ind <= 0) throw new ArgumentException($"{op}: Expected a strictly positive integer for 'ind', but got {ind}");
        if (ind > a.NDim) throw new ArgumentException($"{op}: ind ({ind}) is larger than the number of dims of A ({a.NDim})");
        var rows = a.Shape.Take(ind).ToArray();
        var cols = a.Shape.Skip(ind).ToArray();
        int r = rows.Aggregate(1, (p, s) => p * s), c = cols.Aggregate(1, (p, s) => p * s);
        if (r != c)
            throw new ArgumentException($"{op}: Expected self to satisfy the requirement prod(self.shape[ind:]) == prod(self.shape[:ind]), but got {c} != {r}");
        return Inv(a.Reshape(r, c)).Reshape([.. cols, .. rows]);
    }

    /// <summary>
    /// X with tensordot(A, X, X.ndim) = B (torch.linalg.tensorsolve): X has shape A.shape[B.ndim:],
    /// after the dims of A listed in <paramref name="dims"/> are moved to the end.
    /// </summary>
    public static Tensor TensorSolve(Tensor a, Tensor b, int[]? dims = null)
    {
        const string op = "linalg.tensorsolve";
        if (dims is { Length: > 0 })
            a = a.Movedim(dims, [.. Enumerable.Range(a.NDim - dims.Length, dims.Length)]);
        if (b.NDim > a.NDim)
            throw new ArgumentException($"{op}: B has more dims ({b.NDim}) than A ({a.NDim})");
        var xShape = a.Shape.Skip(b.NDim).ToArray();
        int x = xShape.Aggregate(1, (p, s) => p * s);
        if (x != b.Numel)
            throw new ArgumentException($"{op}: Expected self to satisfy the requirement prod(result.shape) == prod(other.shape), but got {x} != {b.Numel}");
        return Solve(a.Reshape(b.Numel, x), b.Reshape(-1)).Reshape(xShape);
    }

    /// <summary>
    /// The Vandermonde matrix of x [..., n] (torch.linalg.vander): [..., n, N] with columns x⁰, x¹, …,
    /// x^(N−1) in increasing powers; N defaults to n. Powers are running products, exact at 0.
    /// </summary>
    public static Tensor Vander(Tensor x, int? n = null)
    {
        const string op = "linalg.vander";
        if (x.NDim < 1) throw new ArgumentException($"{op}: x must have at least one dimension.");
        int columns = n ?? x.Shape[^1];
        if (columns <= 1)
            throw new ArgumentException($"{op}: N must be greater than 1.");
        var column = x.Unsqueeze(-1);
        var repeated = column.Expand([.. x.Shape, columns - 1]);
        return Tensor.Cat([Tensor.OnesLike(column), repeated.Cumprod(-1)], -1);
    }
}
