using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// Writing by index (scatter, scatter_reduce, index_copy, index_put, masked_scatter), reading by
/// index (take, take_along_dim), and the in-place forms on a clone, with gradients to every
/// floating input. Where a write's winner among repeated positions is unspecified, the generated
/// positions are distinct.
/// </summary>
public class ScatterConformance
{
    static int Normal(int dim, int rank) => dim < 0 ? dim + Math.Max(rank, 1) : dim;

    // A dim and an index along it for scatter: sizes at most the input's on the other dims, entries
    // valid; with distinct, no two entries of a line along dim are equal (one writer per element).
    static Gen<(int Dim, TensorSpec Index)> ScatterIndex(int[] shape, bool distinct)
    {
        int rank = shape.Length;
        return
            from dim in Gens.Dim(rank)
            let d = Normal(dim, rank)
            let size = rank == 0 ? 1 : shape[d]
            from sizes in Gens.Sequence(Enumerable.Range(0, rank).Select(i =>
                i != d ? Gen.Int[0, shape[i]] : size == 0 ? Gen.Const(0) : Gen.Int[0, distinct ? size : 4]))
            from index in distinct ? DistinctAlong(sizes, d, size) : Gens.Indices(sizes, 0, size - 1)
            select (dim, index);
    }

    // An Int64 index of this shape whose lines along d are each the start of a random order of 0..size-1.
    static Gen<TensorSpec> DistinctAlong(int[] sizes, int d, int size)
    {
        int along = sizes.Length == 0 ? 1 : sizes[d];
        int lines = along == 0 ? 0 : Gens.Numel(sizes) / along;
        return from keys in Gen.Int[0, 999].Array[lines * size]
               select TensorSpec.Plain(Kind.Int64, sizes, Arrange(sizes, d, size, keys));
    }

    static double[] Arrange(int[] sizes, int d, int size, int[] keys)
    {
        var values = new double[Gens.Numel(sizes)];
        if (values.Length == 0 || sizes.Length == 0) return values;
        int along = sizes[d], inner = sizes.Skip(d + 1).Aggregate(1, (a, b) => a * b), line = 0;
        for (int o = 0; o < values.Length / (along * inner); o++)
            for (int i = 0; i < inner; i++, line++)
            {
                var order = Enumerable.Range(0, size).OrderBy(v => keys[line * size + v]).ThenBy(v => v).ToArray();
                for (int k = 0; k < along; k++) values[(o * along + k) * inner + i] = order[k];
            }
        return values;
    }

    // Scatter cases: self, an index along a dim, and src of the index's shape.
    static Gen<(TensorSpec[], int)> ScatterCases(bool distinct, Gen<double>? values = null) =>
        from shape in Gens.Shape()
        from self in Gens.Floats(shape, values)
        from g in ScatterIndex(shape, distinct)
        from src in Gens.Floats(g.Index.Shape, values)
        select (new[] { self, g.Index, src }, g.Dim);

    // A dim of a tensor of rank ≥ 1 and count distinct entries along it (D: normalised).
    static Gen<(int Dim, int D, int Count, TensorSpec Index)> DistinctIndexAlong(int[] shape) =>
        from dim in Gens.Dim(shape.Length)
        let d = Normal(dim, shape.Length)
        from count in Gen.Int[0, shape[d]]
        from index in DistinctAlong([count], 0, shape[d])
        select (dim, d, count, index);

    // A self of rank ≥ 1, a dim (D: normalised) and a 1-D index of Count entries along it, repeats allowed.
    static Gen<(TensorSpec Self, int[] Shape, int Dim, int D, int Count, TensorSpec Index)> RepeatingIndexAlong() =>
        from shape in Gens.Shape(1, 4)
        from self in Gens.Floats(shape)
        from dim in Gens.Dim(shape.Length)
        let d = Normal(dim, shape.Length)
        from count in shape[d] == 0 ? Gen.Const(0) : Gen.Int[0, 4]
        from index in Gens.Indices([count], 0, shape[d] - 1)
        select (self, shape, dim, d, count, index);

    static Gen<(TensorSpec[], int)> IndexCopyCases() =>
        from shape in Gens.Shape(1, 4)
        from self in Gens.Floats(shape)
        from a in DistinctIndexAlong(shape)
        from source in Gens.Floats(shape.Select((s, i) => i == a.D ? a.Count : s).ToArray())
        select (new[] { self, a.Index, source }, a.Dim);

    // Index tensors for the first k dims, of shapes that broadcast together, entries positive or
    // negative (repeats included), and values broadcastable to the selection.
    static Gen<(TensorSpec[], int)> AccumulateCases() =>
        from shape in Gens.Shape(1, 3, allowEmpty: false)
        from k in Gen.Int[1, shape.Length]
        from common in Gens.Shape(0, 2)
        from shapes in Gens.Sequence(Enumerable.Range(0, k).Select(_ => Gens.Broadcastable(common)))
        from indices in Gens.Sequence(shapes.Select((s, i) => Gens.Indices(s, -shape[i], shape[i] - 1)))
        from x in Gens.Floats(shape)
        from valueShape in Gens.Broadcastable(Broadcast(shapes).Concat(shape.Skip(k)).ToArray())
        from values in Gens.Floats(valueShape)
        select (new[] { x }.Concat(indices).Append(values).ToArray(), k);

    // The shape that shapes broadcast to (they are known to).
    static int[] Broadcast(params int[][] shapes)
    {
        int rank = shapes.Max(s => s.Length);
        return Enumerable.Range(0, rank).Select(i => shapes.Select(s => i - (rank - s.Length) is int j && j >= 0 ? s[j] : 1).Max()).ToArray();
    }

    // One index tensor over dim 0 with distinct entries (written positive or negative), or a Bool mask over the leading dims.
    static Gen<(TensorSpec[], int)> OverwriteCases() =>
        from shape in Gens.Shape(1, 3, allowEmpty: false)
        from useMask in Gen.Bool
        from count in Gen.Int[0, shape[0]]
        from keys in Gen.Int[0, 999].Array[shape[0]]
        from negative in Gen.Bool.Array[shape[0]]
        from maskDims in Gen.Int[1, shape.Length]
        from mask in Gens.Mask(shape.Take(maskDims).ToArray(), views: false)
        let order = Enumerable.Range(0, shape[0]).OrderBy(i => keys[i]).ThenBy(i => i).Take(count)
        let index = TensorSpec.Plain(Kind.Int64, [count], order.Select(i => negative[i] ? (double)(i - shape[0]) : i).ToArray())
        let selected = useMask ? new[] { mask.Values.Count(v => v != 0) }.Concat(shape.Skip(maskDims)).ToArray() : new[] { count }.Concat(shape.Skip(1)).ToArray()
        from x in Gens.Floats(shape)
        from valueShape in Gens.Broadcastable(selected)
        from values in Gens.Floats(valueShape)
        select (new[] { x, useMask ? mask : index, values }, 1);

    // libtorch's index_put_ on a clone, the index tensors between self and the values.
    static torch.Tensor TorchIndexPut(torch.Tensor[] x, bool accumulate) => x[0].clone().index_put_(x[^1], x[1..^1], accumulate);

    // TorchSharp 0.107 has no scatter_reduce (its internal binding and index_reduce throw
    // NotImplementedException). The oracle is libtorch's own reductions over the members of each
    // element's group: self's value (with includeSelf, or when nothing lands there) and the src
    // entries that land on it, picked by index_select into rows padded with the reduction's
    // identity, then reduced by prod, amax, amin or sum along the rows (a sum divided by the count
    // for mean). Values and gradients are libtorch's; sum is scatter_add itself.
    static torch.Tensor TorchScatterReduce(torch.Tensor self, long dim, torch.Tensor index, torch.Tensor src, ScatterReduction reduce, bool includeSelf)
    {
        if (reduce == ScatterReduction.Sum)
            return (includeSelf ? self : self.scatter(dim, index, torch.zeros_like(src))).scatter_add(dim, index, src);
        int n = (int)self.numel();
        var positions = torch.arange(n).reshape(self.shape).gather(dim, index).flatten().data<long>().ToArray();
        var members = Enumerable.Range(0, n).Select(_ => new List<long>()).ToArray();
        for (int k = 0; k < positions.Length; k++) members[positions[k]].Add(n + k);
        for (int p = 0; p < n; p++)
            if (includeSelf || members[p].Count == 0) members[p].Insert(0, p);
        int width = Math.Max(1, members.Max(m => (int?)m.Count) ?? 0);
        long pad = n + positions.Length;
        var rows = members.SelectMany(m => m.Concat(Enumerable.Repeat(pad, width - m.Count))).ToArray();
        double identity = reduce switch { ScatterReduction.Prod => 1, ScatterReduction.Amax => double.NegativeInfinity, ScatterReduction.Amin => double.PositiveInfinity, _ => 0 };
        var pool = torch.cat([self.flatten(), src.flatten(), torch.full([1], identity, self.dtype)]);
        var grouped = pool.index_select(0, torch.tensor(rows, [n, width]).flatten()).reshape(n, width);
        var reduced = reduce switch
        {
            ScatterReduction.Prod => grouped.prod(1),
            ScatterReduction.Amax => grouped.amax([1]),
            ScatterReduction.Amin => grouped.amin([1]),
            _ => grouped.sum(1) / torch.tensor(members.Select(m => (double)m.Count).ToArray(), self.dtype),
        };
        return reduced.reshape(self.shape);
    }

    static Op<(int, bool)> ScatterReduceOp(ScatterReduction reduce) =>
        Op.Create($"ScatterReduce(dim, index, src, {reduce}, includeSelf)",
            from c in ScatterCases(distinct: false, Values.Mixed)
            from includeSelf in Gen.Bool
            select (c.Item1, (c.Item2, includeSelf)),
            (x, p) => x[0].ScatterReduce(p.Item1, x[1], x[2], reduce, p.Item2),
            (x, p) => TorchScatterReduce(x[0], p.Item1, x[1], x[2], reduce, p.Item2));

    // The mask broadcast with self (or, in place, to self's shape) and at least as many source elements as it selects.
    static Gen<(TensorSpec[], int)> MaskedScatterCases(bool inPlace) =>
        from shapes in Gens.BroadcastPair()
        from maskShape in inPlace ? Gens.Broadcastable(shapes.A) : Gen.Const(shapes.B)
        let full = Broadcast(shapes.A, maskShape)
        from self in Gens.Floats(shapes.A)
        from mask in Gens.Mask(maskShape)
        from extra in Gen.Int[0, 2]
        from source in Gens.Floats([Gens.Numel(full) + extra])
        select (new[] { self, mask, source }, 0);

    static readonly OpTable Ops =
    [
        Op.Create("Scatter(dim, index, src)", ScatterCases(distinct: true), (x, d) => x[0].Scatter(d, x[1], x[2]), (x, d) => x[0].scatter(d, x[1], x[2])),
        // Only the leading index-shaped block of src is written; as for ScatterAdd, libtorch's backward
        // cannot take a larger src, so src takes no gradient here.
        Op.Create("Scatter(dim, index, larger src)",
            from shape in Gens.Shape()
            from self in Gens.Floats(shape)
            from g in ScatterIndex(shape, distinct: true)
            from extra in Gen.Int[0, 2].Array[shape.Length]
            from src in Gens.Floats(g.Index.Shape.Zip(extra, (s, e) => s + e).ToArray(), requiresGrad: false)
            select (new[] { self, g.Index, src }, g.Dim),
            (x, d) => x[0].Scatter(d, x[1], x[2]), (x, d) => x[0].scatter(d, x[1], x[2])),
        // Every writer of an element writes the same value, so repeats are allowed. TorchSharp has no
        // scatter with a number: libtorch's side scatters a tensor full of it.
        Op.Create("Scatter(dim, index, value)",
            from shape in Gens.Shape()
            from self in Gens.Floats(shape)
            from g in ScatterIndex(shape, distinct: false)
            from value in Gen.Double[-3, 3]
            select (new[] { self, g.Index }, (g.Dim, value)),
            (x, p) => x[0].Scatter(p.Dim, x[1], p.value), (x, p) => x[0].scatter(p.Dim, x[1], torch.full(x[1].shape, p.value, x[0].dtype))),
        ScatterReduceOp(ScatterReduction.Sum),
        ScatterReduceOp(ScatterReduction.Prod),
        ScatterReduceOp(ScatterReduction.Mean),
        ScatterReduceOp(ScatterReduction.Amax),
        ScatterReduceOp(ScatterReduction.Amin),
        Op.Create("IndexCopy(dim, index, source)", IndexCopyCases(), (x, d) => x[0].IndexCopy(d, x[1], x[2]), (x, d) => x[0].index_copy(d, x[1], x[2])),
        Op.Create("IndexPut(indices, values, accumulate: true)", AccumulateCases(),
            (x, _) => x[0].IndexPut(x[1..^1], x[^1], accumulate: true), (x, _) => TorchIndexPut(x, accumulate: true)),
        Op.Create("IndexPut(distinct index or mask, values)", OverwriteCases(),
            (x, _) => x[0].IndexPut(x[1..^1], x[^1]), (x, _) => TorchIndexPut(x, accumulate: false)),
        Op.Create("Take(index)",
            from shape in Gens.Shape(0, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from indexShape in Gens.Shape(0, 2)
            from index in Gens.Indices(indexShape, -Gens.Numel(shape), Gens.Numel(shape) - 1)
            select (new[] { x, index }, 0),
            (x, _) => x[0].Take(x[1]), (x, _) => x[0].take(x[1])),
        // Self and indices broadcast on the dims other than dim.
        Op.Create("TakeAlongDim(indices, dim)",
            from full in Gens.Shape(1, 4, allowEmpty: false)
            from dim in Gens.Dim(full.Length)
            let d = Normal(dim, full.Length)
            from selfOnes in Gen.Bool.Array[full.Length]
            from indexOnes in Gen.Bool.Array[full.Length]
            from picks in Gen.Int[0, 3]
            let selfShape = full.Select((s, i) => i != d && selfOnes[i] ? 1 : s).ToArray()
            let indexShape = full.Select((s, i) => i == d ? picks : indexOnes[i] ? 1 : s).ToArray()
            from x in Gens.Floats(selfShape)
            from index in Gens.Indices(indexShape, 0, full[d] - 1)
            select (new[] { x, index }, dim),
            (x, d) => x[0].TakeAlongDim(x[1], d), (x, d) => x[0].take_along_dim(x[1], d)),
        // libtorch flattens with view(-1), which refuses layouts a view cannot flatten (MetaGrad
        // reshapes them): contiguous inputs only.
        Op.Create("TakeAlongDim(indices) of the flattened tensor",
            from shape in Gens.Shape(0, 3, allowEmpty: false)
            from x in Gens.Floats(shape, views: false)
            from indexShape in Gens.Shape(0, 2)
            from index in Gens.Indices(indexShape, 0, Gens.Numel(shape) - 1, views: false)
            select (new[] { x, index }, 0),
            (x, _) => x[0].TakeAlongDim(x[1]), (x, _) => x[0].take_along_dim(x[1])),
        Op.Create("MaskedScatter(mask, source)", MaskedScatterCases(inPlace: false),
            (x, _) => x[0].MaskedScatter(x[1], x[2]), (x, _) => x[0].masked_scatter(x[1], x[2])),

        // In place on a clone (a leaf that requires grad refuses in-place writes): the clone takes
        // over the new node as its history, and gradients reach the original and the operands.
        Op.Create("MaskedFill_(mask, value)", IndexingConformance.MaskedFillCases,
            (x, v) => x[0].Clone().MaskedFill_(x[1], v), (x, v) => x[0].clone().masked_fill_(x[1], v)),
        Op.Create("ScatterAdd_(dim, index, src)", ScatterCases(distinct: false),
            (x, d) => x[0].Clone().ScatterAdd_(d, x[1], x[2]), (x, d) => x[0].clone().scatter_add_(d, x[1], x[2])),
        Op.Create("Scatter_(dim, index, src)", ScatterCases(distinct: true),
            (x, d) => x[0].Clone().Scatter_(d, x[1], x[2]), (x, d) => x[0].clone().scatter_(d, x[1], x[2])),
        Op.Create("IndexAdd_(dim, index, src)",
            from a in RepeatingIndexAlong()
            from src in Gens.Floats(a.Shape.Select((s, i) => i == a.D ? a.Count : s).ToArray())
            select (new[] { a.Self, a.Index, src }, a.Dim),
            (x, d) => x[0].Clone().IndexAdd_(d, x[1], x[2]), (x, d) => x[0].clone().index_add_(d, x[1], x[2], 1)),
        Op.Create("IndexCopy_(dim, index, source)", IndexCopyCases(),
            (x, d) => x[0].Clone().IndexCopy_(d, x[1], x[2]), (x, d) => x[0].clone().index_copy_(d, x[1], x[2])),
        Op.Create("IndexFill_(dim, index, value)",
            from a in RepeatingIndexAlong()
            from value in Gen.Double[-3, 3]
            select (new[] { a.Self, a.Index }, (a.Dim, value)),
            (x, p) => x[0].Clone().IndexFill_(p.Dim, x[1], p.value), (x, p) => x[0].clone().index_fill_(p.Dim, x[1], p.value)),
        Op.Create("IndexPut_(indices, values, accumulate: true)", AccumulateCases(),
            (x, _) => x[0].Clone().IndexPut_(x[1..^1], x[^1], accumulate: true), (x, _) => TorchIndexPut(x, accumulate: true)),
        Op.Create("MaskedScatter_(mask, source)", MaskedScatterCases(inPlace: true),
            (x, _) => x[0].Clone().MaskedScatter_(x[1], x[2]), (x, _) => x[0].clone().masked_scatter_(x[1], x[2])),
    ];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();
}
