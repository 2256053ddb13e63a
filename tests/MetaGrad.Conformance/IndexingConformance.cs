using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// Indexing (x[...] with integers, slices, C# ranges, None, ellipsis, Int64 tensors and Bool masks),
/// index assignment, and the gather/scatter family, with gradients to every floating input.
/// </summary>
public class IndexingConformance
{
    static long[] L(IEnumerable<int> v) => v.Select(d => (long)d).ToArray();

    static Tensor Index(Tensor[] x, Ix[] expr) => x[0][Ix.ToMetaGrad(expr, x)];
    static torch.Tensor Index(torch.Tensor[] x, Ix[] expr) => x[0].index(Ix.ToTorch(expr, x));

    // x[expr] in libtorch on zeros, for the shape an assignment's values must broadcast to.
    static int[] IndexedShape(int[] shape, Ix[] expr, TensorSpec[] inputs)
    {
        using var scope = torch.NewDisposeScope();
        var tensors = inputs.Select(s => s.ToTorch(torch.ScalarType.Float64).Input).ToArray();
        return torch.zeros(L(shape)).index(Ix.ToTorch(expr, tensors)).shape.Select(s => (int)s).ToArray();
    }

    // Some dims indexed by Int64 tensors whose shapes broadcast together; the others by basic entries.
    static Gen<(TensorSpec[], Ix[])> AdvancedCases(bool unique) =>
        from shape in Gens.Shape(1, 4, allowEmpty: false)
        from x in Gens.Floats(shape)
        from chosen in Gen.Bool.Array[shape.Length]
        from first in Gen.Int[0, shape.Length - 1]
        let dims = Enumerable.Range(0, shape.Length).Where(d => unique ? d == first : chosen[d] || d == first).ToArray()
        from indexShape in unique ? Gen.Int[0, 3].Select(n => new[] { n }) : Gens.Shape(0, 2)
        from shapes in Gens.Sequence(dims.Select(_ => unique ? Gen.Const(indexShape) : Gens.Broadcastable(indexShape)))
        from indices in Gens.Sequence(dims.Select((d, j) => unique
            ? UniqueIndices(shape[d], indexShape[0])
            : Gens.Indices(shapes[j], -shape[d], shape[d] - 1)))
        from basic in Gens.Sequence(shape.Select(s => Gen.Frequency((3, Gen.Const(Ix.Full)), (1, Ix.Basic(s)))))
        select (new[] { x }.Concat(indices).ToArray(),
                Enumerable.Range(0, shape.Length).Select(d => Array.IndexOf(dims, d) is int j and >= 0 ? new Ix(Ix.Kinds.Tensor, Input: 1 + j) : basic[d]).ToArray());

    // Distinct positions (written positive or negative), so an assignment through them has one winner per element.
    static Gen<TensorSpec> UniqueIndices(int size, int count) =>
        from keys in Gen.Int[0, 999].Array[size]
        from negative in Gen.Bool.Array[size]
        let order = Enumerable.Range(0, size).OrderBy(i => keys[i]).ThenBy(i => i).Take(Math.Min(count, size)).ToArray()
        select TensorSpec.Plain(Kind.Int64, [order.Length], order.Select(i => negative[i] ? (double)(i - size) : i).ToArray());

    // A Bool mask over `length` consecutive dims from `at`, after basic entries for the dims before it.
    static Gen<(TensorSpec[], Ix[])> MaskCases() =>
        from shape in Gens.Shape(1, 4)
        from x in Gens.Floats(shape)
        from at in Gen.Int[0, shape.Length - 1]
        from length in Gen.Int[1, shape.Length - at]
        from mask in Gens.Mask(shape.Skip(at).Take(length).ToArray())
        from before in Gens.Sequence(shape.Take(at).Select(s => Gen.Frequency((2, Gen.Const(Ix.Full)), (1, Ix.Basic(s)))))
        select (new[] { x, mask }, before.Append(new Ix(Ix.Kinds.Tensor, Input: 1)).ToArray());

    // x.Clone() with x[expr] = values, values broadcast to the indexed shape; gradients reach x and values.
    static Gen<(TensorSpec[], Ix[])> Assignment(Gen<(TensorSpec[], Ix[])> target) =>
        from t in target
        let indexed = IndexedShape(t.Item1[0].Shape, t.Item2, t.Item1)
        from values in Gen.Frequency((4, Gens.Broadcastable(indexed)), (1, Gen.Const(new[] { 1 }.Concat(indexed).ToArray())))
        from v in Gens.Floats(values)
        select (t.Item1.Append(v).ToArray(), t.Item2);

    static Tensor Put(Tensor[] x, Ix[] expr)
    {
        var y = x[0].Clone();
        y[Ix.ToMetaGrad(expr, x)] = x[^1];
        return y;
    }

    static torch.Tensor Put(torch.Tensor[] x, Ix[] expr) => x[0].clone().index_put_(x[^1], Ix.ToTorch(expr, x));

    static Gen<(TensorSpec[], Ix[])> BasicCases() =>
        from shape in Gens.Shape()
        from x in Gens.Floats(shape)
        from expr in Ix.BasicExpression(shape)
        select (new[] { x }, expr);

    // An index tensor for gather/scatter along dim: its other sizes at most the input's, entries valid.
    static Gen<(int Dim, TensorSpec Index)> GatherIndex(int[] shape, int[] bound)
    {
        int rank = shape.Length;
        return
            from dim in Gens.Dim(rank)
            let d = dim < 0 ? dim + Math.Max(rank, 1) : dim
            let size = rank == 0 ? 1 : shape[d]
            from sizes in Gens.Sequence(Enumerable.Range(0, rank).Select(i => i == d ? (size == 0 ? Gen.Const(0) : Gen.Int[0, 4]) : Gen.Int[0, bound[i]]))
            from index in Gens.Indices(sizes, 0, size - 1)
            select (dim, index);
    }

    // A dim (D: normalised) and a 1-D index of Count valid entries along it; a 0-d tensor takes exactly one.
    static Gen<(int Dim, int D, int Count, TensorSpec Index)> IndexAlong(int[] shape) =>
        from dim in Gens.Dim(shape.Length)
        let d = dim < 0 ? dim + Math.Max(shape.Length, 1) : dim
        let size = shape.Length == 0 ? 1 : shape[d]
        from count in shape.Length == 0 ? Gen.Const(1) : size == 0 ? Gen.Const(0) : Gen.Int[0, 4]
        from index in Gens.Indices([count], 0, size - 1)
        select (dim, d, count, index);

    // A tensor, a Bool mask that broadcasts to it and a fill value (MaskedFill, and ScatterConformance's MaskedFill_).
    internal static readonly Gen<(TensorSpec[], double)> MaskedFillCases =
        from shape in Gens.Shape()
        from x in Gens.Floats(shape)
        from maskShape in Gens.Broadcastable(shape)
        from mask in Gens.Mask(maskShape)
        from value in Gen.Double[-3, 3]
        select (new[] { x, mask }, value);

    static readonly OpTable Ops =
    [
        Op.Create("Index(ints, slices, None, ellipsis, ranges)", BasicCases(), Index, Index),
        Op.Create("Index(Int64 tensors)", AdvancedCases(unique: false), Index, Index),
        Op.Create("Index(Bool mask)", MaskCases(), Index, Index),
        Op.Create("IndexPut(ints, slices, None, ellipsis, ranges)", Assignment(BasicCases()), Put, Put),
        Op.Create("IndexPut(distinct Int64 indices)", Assignment(AdvancedCases(unique: true)), Put, Put),
        Op.Create("IndexPut(Bool mask)", Assignment(MaskCases()), Put, Put),

        Op.Create("Gather(dim, index)",
            from shape in Gens.Shape()
            from x in Gens.Floats(shape)
            from g in GatherIndex(shape, shape)
            select (new[] { x, g.Index }, g.Dim),
            (x, d) => x[0].Gather(d, x[1]), (x, d) => x[0].gather(d, x[1])),
        Op.Create("ScatterAdd(dim, index, src)",
            from shape in Gens.Shape()
            from self in Gens.Floats(shape)
            from g in GatherIndex(shape, shape)
            from src in Gens.Floats(g.Index.Shape)
            select (new[] { self, g.Index, src }, g.Dim),
            (x, d) => x[0].ScatterAdd(d, x[1], x[2]), (x, d) => x[0].scatter_add(d, x[1], x[2])),
        // Only the leading index-shaped block of a larger src is added. libtorch's backward cannot take
        // this case (ScatterAddBackward0 returns an index-shaped gradient for src and its engine aborts
        // the process), so here only the values and self's gradient are compared.
        Op.Create("ScatterAdd(dim, index, larger src)",
            from shape in Gens.Shape()
            from self in Gens.Floats(shape)
            from srcShape in Gens.Sequence(shape.Select(s => Gen.Int[0, 4]))
            from g in GatherIndex(shape, shape.Zip(srcShape, Math.Min).ToArray())
            from src in Gens.Floats(g.Index.Shape.Zip(srcShape, (i, s) => Math.Max(i, s)).ToArray(), requiresGrad: false)
            select (new[] { self, g.Index, src }, g.Dim),
            (x, d) => x[0].ScatterAdd(d, x[1], x[2]), (x, d) => x[0].scatter_add(d, x[1], x[2])),
        Op.Create("IndexSelect(dim, index)",
            from shape in Gens.Shape()
            from x in Gens.Floats(shape)
            from dim in Gens.Dim(shape.Length)
            let size = shape.Length == 0 ? 1 : shape[dim < 0 ? dim + shape.Length : dim]
            // A 0-d input takes exactly one index.
            from indexShape in Gen.OneOf(Gen.Const(Array.Empty<int>()), (shape.Length == 0 ? Gen.Const(1) : Gen.Int[0, 4]).Select(n => new[] { n }))
            from index in Gens.Indices(size == 0 ? [0] : indexShape, 0, size - 1)
            select (new[] { x, index }, dim),
            (x, d) => x[0].IndexSelect(d, x[1]), (x, d) => x[0].index_select(d, x[1])),
        // Repeated entries add up.
        Op.Create("IndexAdd(dim, index, src)",
            from shape in Gens.Shape()
            from self in Gens.Floats(shape)
            from along in IndexAlong(shape)
            from src in Gens.Floats(shape.Select((s, i) => i == along.D ? along.Count : s).ToArray())
            select (new[] { self, along.Index, src }, along.Dim),
            (x, d) => x[0].IndexAdd(d, x[1], x[2]), (x, d) => x[0].index_add(d, x[1], x[2], 1)),
        Op.Create("IndexFill(dim, index, value)",
            from shape in Gens.Shape()
            from x in Gens.Floats(shape)
            from along in IndexAlong(shape)
            from value in Gen.Double[-3, 3]
            select (new[] { x, along.Index }, (along.Dim, value)),
            (x, p) => x[0].IndexFill(p.Dim, x[1], p.value), (x, p) => x[0].index_fill(p.Dim, x[1], p.value)),
        Op.Create("MaskedSelect(mask)",
            from shapes in Gens.BroadcastPair()
            from x in Gens.Floats(shapes.A)
            from mask in Gens.Mask(shapes.B)
            select (new[] { x, mask }, 0),
            (x, _) => x[0].MaskedSelect(x[1]), (x, _) => x[0].masked_select(x[1])),
        Op.Create("MaskedFill(mask, value)", MaskedFillCases,
            (x, v) => x[0].MaskedFill(x[1], v), (x, v) => x[0].masked_fill(x[1], v)),
        Op.Create("Where(condition, a, b)",
            from full in Gens.Shape()
            from c in Gens.Broadcastable(full)
            from a in Gens.Broadcastable(full)
            from b in Gens.Broadcastable(full)
            from condition in Gens.Mask(c)
            from x in Gens.Floats(a)
            from y in Gens.Floats(b)
            select (new[] { condition, x, y }, 0),
            (x, _) => Tensor.Where(x[0], x[1], x[2]), (x, _) => torch.where(x[0], x[1], x[2])),
    ];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();
}
