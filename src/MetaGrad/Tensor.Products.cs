namespace MetaGrad;

// Products and diagonals of the linear-algebra family, written from matmul, broadcasting and
// views, so each gradient (and its gradient) comes from theirs. Shapes are checked here, with
// PyTorch's refusals, before anything broadcasts into a wrong answer.
public partial class Tensor
{
    /// <summary>torch.outer: the matrix v[i]·w[j] of two 1-D tensors.</summary>
    public Tensor Outer(Tensor other)
    {
        if (NDim != 1 || other.NDim != 1)
            throw new ArgumentException($"Outer: expected two 1-D tensors, got shapes {Shape} and {other.Shape}");
        return Unsqueeze(1) * other.Unsqueeze(0);
    }

    /// <summary>torch.dot: Σ v[i]·w[i] of two 1-D tensors of one length and dtype.</summary>
    public Tensor Dot(Tensor other)
    {
        if (NDim != 1 || other.NDim != 1 || Size(0) != other.Size(0))
            throw new ArgumentException($"Dot: expected two 1-D tensors of the same length, got shapes {Shape} and {other.Shape}");
        if (DType != other.DType)
            throw new ArgumentException($"Dot: expected both tensors to have the same dtype, got {DType} and {other.DType}");
        return Matmul(other);
    }

    /// <summary>torch.mv: a matrix [n, m] times a vector [m].</summary>
    public Tensor Mv(Tensor vector)
    {
        if (NDim != 2 || vector.NDim != 1 || Size(1) != vector.Size(0))
            throw new ArgumentException($"Mv: expected a matrix [n, m] and a vector [m], got shapes {Shape} and {vector.Shape}");
        return Matmul(vector);
    }

    /// <summary>
    /// torch.addmm(input, mat1, mat2, beta, alpha): beta·input + alpha·(mat1 @ mat2), input
    /// broadcast to the product's shape. With beta 0 the input is ignored, NaNs included, as in PyTorch.
    /// </summary>
    public static Tensor Addmm(Tensor input, Tensor mat1, Tensor mat2, double beta = 1, double alpha = 1)
    {
        if (mat1.NDim != 2 || mat2.NDim != 2)
            throw new ArgumentException($"Addmm: expected 2-D mat1 and mat2, got shapes {mat1.Shape} and {mat2.Shape}");
        return ScaledSum("Addmm", input, mat1.Mm(mat2), beta, alpha);
    }

    /// <summary>
    /// torch.baddbmm(input, batch1, batch2, beta, alpha): beta·input + alpha·(batch1 @ batch2) for
    /// batches [b, n, k] and [b, k, m].
    /// </summary>
    public static Tensor Baddbmm(Tensor input, Tensor batch1, Tensor batch2, double beta = 1, double alpha = 1) =>
        ScaledSum("Baddbmm", input, batch1.Bmm(batch2), beta, alpha);

    // With beta 0 the input takes no part (PyTorch's rule: its NaNs must not leak in), so it gets
    // no gradient either, where PyTorch gives it zeros.
    static Tensor ScaledSum(string op, Tensor input, Tensor product, double beta, double alpha)
    {
        if (!ShapeMath.Broadcast(op, input.Layout.Shape, product.Layout.Shape).AsSpan().SequenceEqual(product.Layout.Shape))
            throw new ArgumentException($"{op}: the input of shape {input.Shape} does not broadcast to the product's shape {product.Shape}");
        var scaled = alpha == 1 ? product : product * alpha;
        if (beta == 0) return scaled;
        return (beta == 1 ? input : input * beta) + scaled;
    }

    /// <summary>
    /// torch.diagonal: a view of the elements x[.., i, .., i + offset, ..] of dims dim1 and dim2,
    /// those dims removed and the diagonal appended as the last dim (offset &gt; 0 above the main
    /// diagonal, &lt; 0 below).
    /// </summary>
    public Tensor Diagonal(int offset = 0, int dim1 = 0, int dim2 = 1)
    {
        int d1 = ShapeMath.Dim(dim1, NDim, "Diagonal"), d2 = ShapeMath.Dim(dim2, NDim, "Diagonal");
        if (d1 == d2) throw new ArgumentException($"Diagonal: dim1 and dim2 cannot be the same dim, got {dim1} and {dim2} of a {NDim}-d tensor");
        return new Functions.View(l => DiagonalOf(l, offset, d1, d2), "Diagonal").Apply(this).AsViewOf(this);
    }

    // The layout of a diagonal: the two dims' strides add up along it; it starts |offset| steps
    // along dim2 (above) or dim1 (below); an offset past the matrix leaves it empty.
    static Layout DiagonalOf(Layout l, int offset, int d1, int d2)
    {
        int length = Math.Max(0, offset >= 0 ? Math.Min(l.Shape[d1], l.Shape[d2] - offset) : Math.Min(l.Shape[d1] + offset, l.Shape[d2]));
        int start = length == 0 ? l.Offset : l.Offset + (offset >= 0 ? offset * l.Strides[d2] : -offset * l.Strides[d1]);
        var shape = new List<int>();
        var strides = new List<int>();
        for (int d = 0; d < l.Shape.Length; d++)
            if (d != d1 && d != d2)
            {
                shape.Add(l.Shape[d]);
                strides.Add(l.Strides[d]);
            }
        shape.Add(length);
        strides.Add(l.Strides[d1] + l.Strides[d2]);
        return new Layout([.. shape], [.. strides], start);
    }

    /// <summary>
    /// torch.diag_embed: a tensor whose (dim1, dim2) matrices hold this tensor's last dim on their
    /// diagonal <paramref name="offset"/>, zeros elsewhere: shape [.., n + |offset|, n + |offset|].
    /// </summary>
    public Tensor DiagEmbed(int offset = 0, int dim1 = -2, int dim2 = -1)
    {
        if (NDim == 0) throw new ArgumentException("DiagEmbed: expected a tensor of at least 1 dim, got a 0-d tensor");
        int rank = NDim + 1;
        int d1 = ShapeMath.Dim(dim1, rank, "DiagEmbed"), d2 = ShapeMath.Dim(dim2, rank, "DiagEmbed");
        if (d1 == d2) throw new ArgumentException($"DiagEmbed: dim1 and dim2 cannot be the same dim, got {dim1} and {dim2}");
        int n = Layout.Shape[^1] + Math.Abs(offset);
        var lead = new Queue<int>(Layout.Shape[..^1]);
        var shape = new int[rank];
        for (int d = 0; d < rank; d++) shape[d] = d == d1 || d == d2 ? n : lead.Dequeue();
        return new Functions.EmbedIn(l => DiagonalOf(l, offset, d1, d2), shape, "DiagEmbed").Apply(this);
    }

    /// <summary>
    /// torch.diag: of a 1-D tensor, the square matrix with it on diagonal <paramref name="diagonal"/>;
    /// of a 2-D tensor, that diagonal as a new 1-D tensor.
    /// </summary>
    public Tensor Diag(int diagonal = 0) => NDim switch
    {
        1 => DiagEmbed(diagonal),
        2 => Diagonal(diagonal).Contiguous(),
        _ => throw new ArgumentException($"Diag: expected a 1-D or 2-D tensor, got shape {Shape}"),
    };

    /// <summary>torch.trace: the sum of a matrix's main diagonal.</summary>
    public Tensor Trace()
    {
        if (NDim != 2) throw new ArgumentException($"Trace: expected a 2-D tensor, got shape {Shape}");
        return Diagonal().Sum();
    }

    /// <summary>
    /// torch.kron: the Kronecker product, block (i, j, ..) being this[i, j, ..]·other; the
    /// operand of fewer dims gains leading ones. Shape: the sizes multiplied dim by dim.
    /// </summary>
    public Tensor Kron(Tensor other)
    {
        int rank = Math.Max(NDim, other.NDim);
        var a = Reshape([.. Enumerable.Repeat(1, rank - NDim), .. Layout.Shape]);
        var b = other.Reshape([.. Enumerable.Repeat(1, rank - other.NDim), .. other.Layout.Shape]);
        // a's dims at even positions and b's at odd ones: [a0, 1, a1, 1, ..] · [1, b0, 1, b1, ..].
        var spreadA = new int[2 * rank];
        var spreadB = new int[2 * rank];
        var result = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            (spreadA[2 * d], spreadA[2 * d + 1]) = (a.Layout.Shape[d], 1);
            (spreadB[2 * d], spreadB[2 * d + 1]) = (1, b.Layout.Shape[d]);
            result[d] = a.Layout.Shape[d] * b.Layout.Shape[d];
        }
        return (a.Reshape(spreadA) * b.Reshape(spreadB)).Reshape(result);
    }
}
