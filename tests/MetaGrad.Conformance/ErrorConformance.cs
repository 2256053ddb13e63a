using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// Generated invalid calls: shapes that do not fit, dims and indices out of range, wrong dtypes,
/// empty reductions without identity. libtorch rejects every one; MetaGrad must throw too, with a
/// message that names the operation the user called.
/// </summary>
public class ErrorConformance
{
    static long[] L(IEnumerable<int> v) => v.Select(d => (long)d).ToArray();

    // A dim outside [-r, r - 1] for rank r (0-d tensors accept -1 and 0).
    static Gen<int> BadDim(int rank)
    {
        int r = Math.Max(rank, 1);
        return Gen.OneOf(Gen.Int[r, r + 2], Gen.Int[-r - 3, -r - 1]);
    }

    internal static Op<int> BadDimOp(string op, Func<Tensor, int, Tensor> metaGrad, Func<torch.Tensor, int, torch.Tensor> torch, int minRank = 0, int extraRank = 0, bool allowEmpty = true) =>
        Op.Throws($"{op} with a dim out of range", op,
            from shape in Gens.Shape(minRank, 3, allowEmpty)
            from x in Gens.Floats(shape)
            from d in BadDim(shape.Length + extraRank)
            select (new[] { x }, d),
            (x, d) => metaGrad(x[0], d), (x, d) => torch(x[0], d));

    // Two shapes that cannot broadcast: at one dim both sizes are ≥ 2 and differ. Either may be the longer.
    static readonly Gen<(int[] A, int[] B)> Clashing =
        from shape in Gens.Shape(1, 3, allowEmpty: false)
        from d in Gen.Int[0, shape.Length - 1]
        from mine in Gen.Int[2, 4]
        from theirs in Gen.Int[2, 4]
        from drop in Gen.Int[0, d]
        from swap in Gen.Bool
        let a = shape.Select((s, i) => i == d ? mine : s).ToArray()
        let b = shape.Select((s, i) => i == d ? (theirs == mine ? mine + 1 : theirs) : s).Skip(drop).ToArray()
        select swap ? (b, a) : (a, b);

    static Op<int> ClashOp(string op, Func<Tensor, Tensor, Tensor> metaGrad, Func<torch.Tensor, torch.Tensor, torch.Tensor> torch) =>
        Op.Throws($"{op} of shapes that do not broadcast", op,
            from shapes in Clashing
            from a in Gens.Floats(shapes.A)
            from b in Gens.Floats(shapes.B)
            select (new[] { a, b }, 0),
            (x, _) => metaGrad(x[0], x[1]), (x, _) => torch(x[0], x[1]));

    // An index tensor of the wrong dtype: floating or Bool.
    static Gen<TensorSpec> WrongIndex(int[] shape) =>
        Gen.OneOf(Gens.Floats(shape, Gen.Const(0.0), requiresGrad: false), Gens.Mask(shape));

    // A mask of the wrong dtype: floating or Int64.
    static Gen<TensorSpec> WrongMask(int[] shape) =>
        Gen.OneOf(Gens.Floats(shape, Gen.OneOf(Gen.Const(0.0), Gen.Const(1.0)), requiresGrad: false), Gens.Indices(shape, 0, 1));

    static Op<int> WrongIndexOp(string op, Func<Tensor, Tensor, Tensor> metaGrad, Func<torch.Tensor, torch.Tensor, torch.Tensor> torch, bool vector = false) =>
        Op.Throws($"{op} with an index that is not an integer tensor", op,
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from index in WrongIndex(vector ? [1] : shape.Select(_ => 1).ToArray())
            select (new[] { x, index }, 0),
            (x, _) => metaGrad(x[0], x[1]), (x, _) => torch(x[0], x[1]));

    static Op<int> WrongMaskOp(string op, Func<Tensor, Tensor, Tensor> metaGrad, Func<torch.Tensor, torch.Tensor, torch.Tensor> torch) =>
        Op.Throws($"{op} with a mask that is not Bool", op,
            from shape in Gens.Shape(0, 3)
            from x in Gens.Floats(shape)
            from mask in WrongMask(shape)
            select (new[] { x, mask }, 0),
            (x, _) => metaGrad(x[0], x[1]), (x, _) => torch(x[0], x[1]));

    // An index outside [-size, size) (or [0, size) where negative indices are not allowed) along one dim.
    static Op<(int Dim, int Index)> OutOfRangeOp(string op, bool negativeAllowed, Func<Tensor, int, int, Tensor> metaGrad, Func<torch.Tensor, int, int, torch.Tensor> torch) =>
        Op.Throws($"{op} with an index out of range", op,
            // Non-empty: libtorch checks indices as it visits elements, so an empty result skips the check.
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from dim in Gens.Dim(shape.Length)
            let size = shape[dim < 0 ? dim + shape.Length : dim]
            from index in Gen.OneOf(Gen.Int[size, size + 2], negativeAllowed ? Gen.Int[-size - 3, -size - 1] : Gen.Int[-3, -1])
            select (new[] { x }, (dim, index)),
            (x, p) => metaGrad(x[0], p.dim, p.index), (x, p) => torch(x[0], p.dim, p.index));

    // TorchSharp 0.107's native matmul lets libtorch's error escape and the process aborts, so the
    // libtorch side of an invalid Matmul runs the checks torch.matmul delegates to: mm for the inner
    // dims (a 1-D right operand as a column), broadcasting for the batch dims, mm's rank check for 0-d.
    static torch.Tensor CheckedMatmul(torch.Tensor a, torch.Tensor b)
    {
        if (a.dim() == 0 || b.dim() == 0) return a.mm(b);
        var left = a.dim() == 1 ? a.unsqueeze(0) : a;
        var right = b.dim() == 1 ? b.unsqueeze(1) : b;
        left.reshape(-1, left.shape[^1]).mm(right.reshape(-1, right.shape[^1]).narrow(0, 0, right.shape[^2]));
        if (left.dim() > 2 || right.dim() > 2)
            _ = left.narrow(-1, 0, 1).narrow(-2, 0, 1) + right.narrow(-1, 0, 1).narrow(-2, 0, 1);
        return a.matmul(b);
    }

    static Tensor Index1(int i) => Tensor.From(new long[] { i }, [1]);
    static torch.Tensor TIndex1(int i) => torch.tensor(new long[] { i });

    static Gen<(TensorSpec[], int)> EmptyInput(int minRank = 1) =>
        from shape in Gens.Shape(minRank, 3)
        from d in Gen.Int[0, shape.Length - 1]
        let empty = shape.Select((s, i) => i == d ? 0 : s).ToArray()
        from x in Gens.Floats(empty)
        select (new[] { x }, d);

    static readonly OpTable Ops =
    [
        // Shapes that do not fit.
        ClashOp("Add", (a, b) => a + b, (a, b) => a + b),
        ClashOp("Sub", (a, b) => a - b, (a, b) => a - b),
        ClashOp("Mul", (a, b) => a * b, (a, b) => a * b),
        ClashOp("Div", (a, b) => a / b, (a, b) => a / b),
        ClashOp("Pow", (a, b) => a.Abs().Pow(b), (a, b) => a.abs().pow(b)),
        ClashOp("Maximum", (a, b) => a.Maximum(b), (a, b) => torch.maximum(a, b)),
        ClashOp("Minimum", (a, b) => a.Minimum(b), (a, b) => torch.minimum(a, b)),
        ClashOp("Lt", (a, b) => a < b, (a, b) => a.lt(b)),
        ClashOp("Where", (a, b) => Tensor.Where(a > 0.0, a, b), (a, b) => torch.where(a.gt(0), a, b)),
        ClashOp("MaskedSelect", (a, b) => a.MaskedSelect(b > 0.0), (a, b) => a.masked_select(b.gt(0))),
        Op.Throws("Matmul of mismatched inner dims", "Matmul",
            from n in Gen.Int[1, 3] from k in Gen.Int[1, 3] from k2 in Gen.Int[1, 3] from m in Gen.Int[1, 3]
            from batch in Gens.Shape(0, 2, allowEmpty: false)
            from a in Gens.Floats([.. batch, n, k])
            from b in Gens.Floats(k2 == k ? [k + 1] : [k2, m])
            select (new[] { a, b }, 0),
            (x, _) => x[0].Matmul(x[1]), (x, _) => CheckedMatmul(x[0], x[1])),
        Op.Throws("Matmul of batch dims that do not broadcast", "Matmul",
            from shapes in Clashing
            from a in Gens.Floats([.. shapes.A, 2, 3])
            from b in Gens.Floats([.. shapes.B, 3, 2])
            select (new[] { a, b }, 0),
            (x, _) => x[0].Matmul(x[1]), (x, _) => CheckedMatmul(x[0], x[1])),
        Op.Throws("Matmul of a 0-d tensor", "Matmul",
            from shape in Gens.Shape(1, 3)
            from a in Gens.Floats([])
            from b in Gens.Floats(shape)
            from swap in Gen.Bool
            select (swap ? new[] { b, a } : new[] { a, b }, 0),
            (x, _) => x[0].Matmul(x[1]), (x, _) => CheckedMatmul(x[0], x[1])),
        Op.Throws("Mm of tensors that are not matrices", "Mm",
            from ra in Gen.Int[0, 3] from rb in Gen.Int[0, 3]
            where ra != 2 || rb != 2
            from a in Gens.Floats(Enumerable.Repeat(2, ra).ToArray())
            from b in Gens.Floats(Enumerable.Repeat(2, rb).ToArray())
            select (new[] { a, b }, 0),
            (x, _) => x[0].Mm(x[1]), (x, _) => x[0].mm(x[1])),
        Op.Throws("Bmm of tensors that are not 3-D with one batch size", "Bmm",
            from ra in Gen.Int[2, 4] from ba in Gen.Int[1, 3] from bb in Gen.Int[1, 3]
            where ra != 3 || ba != bb
            from a in Gens.Floats([ba, .. Enumerable.Repeat(2, ra - 1)])
            from b in Gens.Floats([bb, 2, 2])
            select (new[] { a, b }, 0),
            (x, _) => x[0].Bmm(x[1]), (x, _) => x[0].bmm(x[1])),
        Op.Throws("Cat of sizes that differ outside dim", "Cat",
            from shapes in Clashing
            where shapes.A.Length == shapes.B.Length
            from dim in Gen.Int[0, shapes.A.Length - 1]
            where Enumerable.Range(0, shapes.A.Length).Any(i => i != dim && shapes.A[i] != shapes.B[i])
            from a in Gens.Floats(shapes.A)
            from b in Gens.Floats(shapes.B)
            select (new[] { a, b }, dim),
            (x, d) => Tensor.Cat(x, d), (x, d) => torch.cat(x, d)),
        Op.Throws("Cat of 0-d tensors", "Cat",
            from a in Gens.Floats([]) from b in Gens.Floats([]) select (new[] { a, b }, 0),
            (x, d) => Tensor.Cat(x, d), (x, d) => torch.cat(x, d)),
        Op.Throws("Stack of unequal shapes", "Stack",
            from shapes in Clashing
            from a in Gens.Floats(shapes.A)
            from b in Gens.Floats(shapes.B)
            select (new[] { a, b }, 0),
            (x, d) => Tensor.Stack(x, d), (x, d) => torch.stack(x, d)),
        Op.Throws("Reshape to another element count", "Reshape",
            from shape in Gens.Shape(0, 3)
            from x in Gens.Floats(shape)
            from target in Gens.Shape(0, 3)
            where Gens.Numel(target) != Gens.Numel(shape)
            select (new[] { x }, target),
            (x, s) => x[0].Reshape(s), (x, s) => x[0].reshape(L(s))),
        Op.Throws("Reshape with two -1", "Reshape",
            from shape in Gens.Shape(0, 3)
            from x in Gens.Floats(shape)
            select (new[] { x }, 0),
            (x, _) => x[0].Reshape(-1, -1), (x, _) => x[0].reshape(-1, -1)),
        Op.Throws("View across non-contiguous dims", "View",
            from rows in Gen.Int[2, 4] from cols in Gen.Int[2, 4]
            from x in Gens.Floats([cols, rows], views: false)
            select (new[] { x }, 0),
            (x, _) => x[0].T.View(-1), (x, _) => x[0].T.view(-1)),
        Op.Throws("Expand to sizes that do not fit", "Expand",
            from shapes in Clashing
            where shapes.A.Length <= shapes.B.Length
            from x in Gens.Floats(shapes.A)
            select (new[] { x }, shapes.B),
            (x, s) => x[0].Expand(s), (x, s) => x[0].expand(L(s))),
        Op.Throws("Expand to fewer dims", "Expand",
            from shape in Gens.Shape(1, 3)
            from x in Gens.Floats(shape)
            select (new[] { x }, shape.Skip(1).ToArray()),
            (x, s) => x[0].Expand(s), (x, s) => x[0].expand(L(s))),
        Op.Throws("Repeat with fewer repeats than dims", "Repeat",
            from shape in Gens.Shape(1, 3)
            from x in Gens.Floats(shape)
            select (new[] { x }, shape.Skip(1).Select(_ => 2).ToArray()),
            (x, r) => x[0].Repeat(r), (x, r) => x[0].repeat(L(r))),
        Op.Throws("Split into sizes that do not add up", "Split",
            from shape in Gens.Shape(1, 3)
            from x in Gens.Floats(shape)
            from sizes in Gen.Int[0, 3].Array[Gen.Int[1, 3]]
            where sizes.Sum() != shape[0]
            select (new[] { x }, sizes),
            (x, s) => Tensor.Stack(x[0].Split(s, 0).Select(t => t.Sum()).ToArray()), (x, s) => torch.stack(x[0].split(L(s), 0).Select(t => t.sum()))),
        Op.Throws("Flatten with start after end", "Flatten",
            from shape in Gens.Shape(2, 3)
            from x in Gens.Floats(shape)
            select (new[] { x }, 0),
            (x, _) => x[0].Flatten(-1, 0), (x, _) => x[0].flatten(-1, 0)),
        Op.Throws("Permute with a list that is not a permutation", "Permute",
            from shape in Gens.Shape(1, 3)
            from x in Gens.Floats(shape)
            from perm in Gen.Int[0, shape.Length - 1].Array[Gen.Int[0, shape.Length + 1]]
            where perm.Length != shape.Length || perm.Distinct().Count() != perm.Length
            select (new[] { x }, perm),
            (x, p) => x[0].Permute(p), (x, p) => x[0].permute(L(p))),
        Op.Throws("IndexAdd with a source of the wrong shape", "IndexAdd",
            from shape in Gens.Shape(2, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from src in Gens.Floats(shape.Select((s, i) => i == shape.Length - 1 ? s + 1 : s).ToArray())
            select (new[] { x, src }, 0),
            (x, _) => x[0].IndexAdd(0, Tensor.Arange((long)x[1].Shape[0]), x[1]),
            (x, _) => x[0].index_add(0, torch.arange(x[1].shape[0]), x[1], 1)),
        Op.Throws("Gather with an index of another rank", "Gather",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from index in Gens.Indices(shape.Skip(1).Append(1).Append(1).Take(shape.Length == 1 ? 2 : shape.Length - 1).ToArray(), 0, 0)
            select (new[] { x, index }, 0),
            (x, _) => x[0].Gather(0, x[1]), (x, _) => x[0].gather(0, x[1])),
        Op.Throws("IndexSelect with a 2-D index", "IndexSelect",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from index in Gens.Indices([1, 2], 0, 0)
            select (new[] { x, index }, 0),
            (x, _) => x[0].IndexSelect(0, x[1]), (x, _) => x[0].index_select(0, x[1])),
        Op.Throws("Index with too many indices", "Index",
            from shape in Gens.Shape(0, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            select (new[] { x }, shape.Length + 1),
            (x, n) => x[0][Enumerable.Repeat((TensorIndex)0, n).ToArray()], (x, n) => x[0].index(Enumerable.Repeat(torch.TensorIndex.Single(0), n).ToArray())),
        Op.Throws("Index with a mask of the wrong shape", "Index",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from mask in Gens.Mask(shape.Select((s, i) => i == 0 ? s + 1 : s).ToArray())
            select (new[] { x, mask }, 0),
            (x, _) => x[0][x[1]], (x, _) => x[0].index(torch.TensorIndex.Tensor(x[1]))),
        Op.Throws("Index with index tensors that do not broadcast", "Index",
            from shapes in Clashing
            from x in Gens.Floats([2, 2])
            from a in Gens.Indices(shapes.A, 0, 1)
            from b in Gens.Indices(shapes.B, 0, 1)
            select (new[] { x, a, b }, 0),
            (x, _) => x[0][x[1], x[2]], (x, _) => x[0].index(torch.TensorIndex.Tensor(x[1]), torch.TensorIndex.Tensor(x[2]))),
        Op.Throws("IndexPut of values that do not broadcast", "IndexPut",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from v in Gens.Floats([shape[^1] + 1])
            select (new[] { x, v }, 0),
            (x, _) => { var y = x[0].Clone(); y[..] = x[1]; return y; },
            (x, _) => x[0].clone().index_put_(x[1], torch.TensorIndex.Slice())),

        // Dims out of range.
        BadDimOp("Sum", (x, d) => x.Sum(d), (x, d) => x.sum(d)),
        BadDimOp("Mean", (x, d) => x.Mean([d]), (x, d) => x.mean([d])),
        BadDimOp("Var", (x, d) => x.Var([d]), (x, d) => x.var([(long)d])),
        BadDimOp("Std", (x, d) => x.Std([d]), (x, d) => x.std([(long)d])),
        BadDimOp("Norm", (x, d) => x.Norm(2, [d]), (x, d) => torch.linalg.vector_norm(x, 2, [d])),
        BadDimOp("Max", (x, d) => x.Max(d), (x, d) => x.amax([d])),
        BadDimOp("Min", (x, d) => x.Min(d), (x, d) => x.amin([d])),
        BadDimOp("ArgMax", (x, d) => x.ArgMax(d), (x, d) => x.argmax(d)),
        BadDimOp("ArgMin", (x, d) => x.ArgMin(d), (x, d) => x.argmin(d)),
        BadDimOp("Sort", (x, d) => x.Sort(d).Values, (x, d) => x.sort(d).Values),
        BadDimOp("TopK", (x, d) => x.TopK(0, d).Values, (x, d) => x.topk(0, d).values),
        BadDimOp("LogSumExp", (x, d) => x.LogSumExp(d), (x, d) => x.logsumexp(d)),
        BadDimOp("Softmax", (x, d) => x.Softmax(d), (x, d) => x.softmax(d)),
        BadDimOp("LogSoftmax", (x, d) => x.LogSoftmax(d), (x, d) => x.log_softmax(d)),
        BadDimOp("Transpose", (x, d) => x.Transpose(0, d), (x, d) => x.transpose(0, d)),
        BadDimOp("Select", (x, d) => x.Select(d, 0), (x, d) => x.select(d, 0), minRank: 1),
        BadDimOp("Narrow", (x, d) => x.Narrow(d, 0, 0), (x, d) => x.narrow(d, 0, 0), minRank: 1),
        BadDimOp("Squeeze", (x, d) => x.Squeeze(d), (x, d) => x.squeeze(d)),
        BadDimOp("Unsqueeze", (x, d) => x.Unsqueeze(d), (x, d) => x.unsqueeze(d), extraRank: 1),
        BadDimOp("Flip", (x, d) => x.Flip(d), (x, d) => x.flip(d)),
        BadDimOp("Flatten", (x, d) => x.Flatten(d), (x, d) => x.flatten(d)),
        BadDimOp("Gather", (x, d) => x.Gather(d, Tensor.ZerosLike(x, DType.Int64)), (x, d) => x.gather(d, torch.zeros_like(x, torch.ScalarType.Int64))),
        BadDimOp("IndexSelect", (x, d) => x.IndexSelect(d, Index1(0)), (x, d) => x.index_select(d, TIndex1(0)), minRank: 1),
        // Non-empty: both skip 1-D empty tensors in Cat (PyTorch's legacy rule) before looking at the dim.
        BadDimOp("Cat", (x, d) => Tensor.Cat([x, x], d), (x, d) => torch.cat([x, x], d), minRank: 1, allowEmpty: false),
        BadDimOp("Stack", (x, d) => Tensor.Stack([x, x], d), (x, d) => torch.stack([x, x], d), extraRank: 1),
        BadDimOp("Split", (x, d) => Tensor.Cat(x.Split(1, d), 0), (x, d) => torch.cat(x.split(1, d), 0), minRank: 1),
        BadDimOp("Chunk", (x, d) => Tensor.Cat(x.Chunk(1, d), 0), (x, d) => torch.cat(x.chunk(1, d), 0), minRank: 1),
        Op.Throws("Sum over a dim listed twice", "Sum",
            from shape in Gens.Shape(1, 3)
            from x in Gens.Floats(shape)
            from d in Gens.Dim(shape.Length)
            select (new[] { x }, d),
            (x, d) => x[0].Sum([d, d < 0 ? d + x[0].NDim : d]), (x, d) => x[0].sum([(long)d, d < 0 ? d + x[0].dim() : d])),

        // Indices out of range.
        OutOfRangeOp("Select", true, (x, d, i) => x.Select(d, i), (x, d, i) => x.select(d, i)),
        OutOfRangeOp("Index", true, (x, d, i) => x.Select(d, 0).Unsqueeze(0)[i], (x, d, i) => x.select(d, 0).unsqueeze(0).index(i)),
        OutOfRangeOp("IndexSelect", false, (x, d, i) => x.IndexSelect(d, Index1(i)), (x, d, i) => x.index_select(d, TIndex1(i))),
        OutOfRangeOp("Gather", false, (x, d, i) => x.Gather(d, Tensor.FullLike(x, i, DType.Int64)), (x, d, i) => x.gather(d, torch.full_like(x, i, torch.ScalarType.Int64))),
        OutOfRangeOp("ScatterAdd", false, (x, d, i) => x.ScatterAdd(d, Tensor.FullLike(x, i, DType.Int64), x), (x, d, i) => x.scatter_add(d, torch.full_like(x, i, torch.ScalarType.Int64), x)),
        OutOfRangeOp("IndexAdd", false,
            (x, d, i) => x.IndexAdd(d, Index1(i), x.Narrow(d, 0, 1)),
            (x, d, i) => x.index_add(d, TIndex1(i), x.narrow(d, 0, 1), 1)),
        OutOfRangeOp("IndexFill", true, (x, d, i) => x.IndexFill(d, Index1(i), 1.0), (x, d, i) => x.index_fill(d, TIndex1(i), 1.0)),
        OutOfRangeOp("Narrow", true, (x, d, i) => x.Narrow(d, 0, Math.Abs(i) + 1), (x, d, i) => x.narrow(d, 0, Math.Abs(i) + 1)),
        Op.Throws("TopK with k above the dim's size", "TopK",
            from shape in Gens.Shape(1, 3)
            from x in Gens.Floats(shape)
            from dim in Gens.Dim(shape.Length)
            from extra in Gen.Int[1, 3]
            select (new[] { x }, (dim, k: shape[dim < 0 ? dim + shape.Length : dim] + extra)),
            (x, p) => x[0].TopK(p.k, p.dim).Values, (x, p) => x[0].topk(p.k, p.dim).values),
        Op.Throws("Index with an Int64 tensor out of range", "Index",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from index in Gens.Indices([2], shape[0], shape[0] + 2)
            select (new[] { x, index }, 0),
            (x, _) => x[0][x[1]], (x, _) => x[0].index(torch.TensorIndex.Tensor(x[1]))),

        // Wrong dtypes.
        WrongIndexOp("Gather", (x, i) => x.Gather(0, i), (x, i) => x.gather(0, i)),
        WrongIndexOp("ScatterAdd", (x, i) => x.ScatterAdd(0, i, x), (x, i) => x.scatter_add(0, i, x)),
        WrongIndexOp("IndexSelect", (x, i) => x.IndexSelect(0, i), (x, i) => x.index_select(0, i), vector: true),
        WrongIndexOp("IndexAdd", (x, i) => x.IndexAdd(0, i, x.Narrow(0, 0, 1)), (x, i) => x.index_add(0, i, x.narrow(0, 0, 1), 1), vector: true),
        WrongIndexOp("IndexFill", (x, i) => x.IndexFill(0, i, 1.0), (x, i) => x.index_fill(0, i, 1.0), vector: true),
        Op.Throws("Index with a floating tensor", "Index",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from index in Gens.Floats([1], Gen.Const(0.0), requiresGrad: false)
            select (new[] { x, index }, 0),
            (x, _) => x[0][x[1]], (x, _) => x[0].index(torch.TensorIndex.Tensor(x[1]))),
        WrongMaskOp("MaskedFill", (x, m) => x.MaskedFill(m, 1.0), (x, m) => x.masked_fill(m, 1.0)),
        WrongMaskOp("MaskedSelect", (x, m) => x.MaskedSelect(m), (x, m) => x.masked_select(m)),
        WrongMaskOp("Where", (x, m) => Tensor.Where(m, x, x), (x, m) => torch.where(m, x, x)),
        Op.Throws("Mean of an Int64 tensor", "Mean",
            from shape in Gens.Shape() from x in Gens.Indices(shape, -3, 3) select (new[] { x }, 0),
            (x, _) => x[0].Mean(), (x, _) => x[0].mean()),
        // A tensor of negative exponents is allowed (it truncates); a negative number is not.
        Op.Throws("Pow of an Int64 tensor to a negative integral number", "Pow",
            from shape in Gens.Shape(0, 3)
            from x in Gens.Indices(shape, -3, 3)
            from p in Gen.Int[-3, -1]
            select (new[] { x }, p),
            (x, p) => x[0].Pow(p), (x, p) => x[0].pow(p)),
        Op.Throws("RequiresGrad on an Int64 tensor", "RequiresGrad",
            from shape in Gens.Shape() from x in Gens.Indices(shape, -3, 3) select (new[] { x }, 0),
            (x, _) => x[0].Detach().RequiresGrad_(), (x, _) => x[0].detach().requires_grad_()),

        // Empty reductions without an identity, and other refused values.
        Op.Throws("Max of an empty tensor", "Max", EmptyInput(), (x, _) => x[0].Max(), (x, _) => x[0].max()),
        Op.Throws("Min of an empty tensor", "Min", EmptyInput(), (x, _) => x[0].Min(), (x, _) => x[0].min()),
        Op.Throws("Max over an empty dim", "Max", EmptyInput(), (x, d) => x[0].Max(d), (x, d) => x[0].amax([d])),
        Op.Throws("ArgMax of an empty tensor", "ArgMax", EmptyInput(), (x, _) => x[0].ArgMax(), (x, _) => x[0].argmax()),
        Op.Throws("ArgMin over an empty dim", "ArgMin", EmptyInput(), (x, d) => x[0].ArgMin(d), (x, d) => x[0].argmin(d)),
        Op.Throws("Norm(inf) over an empty dim", "Norm", EmptyInput(), (x, d) => x[0].Norm(double.PositiveInfinity, [d]), (x, d) => torch.linalg.vector_norm(x[0], double.PositiveInfinity, [d])),
        Op.Throws("Clamp without bounds", "Clamp",
            from shape in Gens.Shape() from x in Gens.Floats(shape) select (new[] { x }, 0),
            (x, _) => x[0].Clamp(), (x, _) => x[0].clamp(null, null)),
        Op.Throws("Chunk into 0 chunks", "Chunk",
            from shape in Gens.Shape(1, 3) from x in Gens.Floats(shape) select (new[] { x }, 0),
            (x, _) => x[0].Chunk(0)[0], (x, _) => x[0].chunk(0)[0]),
        Op.Throws("Split into pieces of size 0", "Split",
            from shape in Gens.Shape(1, 3, allowEmpty: false) from x in Gens.Floats(shape) select (new[] { x }, 0),
            (x, _) => x[0].Split(0)[0], (x, _) => x[0].split(0L)[0]),
        Op.Throws("Add_ on a leaf that requires grad", "Add_",
            from shape in Gens.Shape() from x in Gens.Floats(shape) select (new[] { x }, 0),
            (x, _) => x[0].Add_(1.0), (x, _) => x[0].add_(1.0)),
    ];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void RejectedByBoth(string op) => Ops[op].Check();
}
