using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// Reductions, extremes, sorting and the softmax family: over all dims and over generated dim lists
/// (negative dims, keepDim), on 0-d, empty and non-contiguous inputs.
/// </summary>
public class ReductionConformance
{
    static long[] L(int[] dims) => dims.Select(d => (long)d).ToArray();

    // One input and a dim list of it (null: all dims).
    static Gen<(TensorSpec[], (int[]? Dims, bool KeepDim))> OverDims(Gen<double> values, bool allowEmpty = true, bool expand = true) =>
        from shape in Gens.Shape(allowEmpty: allowEmpty)
        from x in Gens.Floats(shape, values, expand: expand)
        from all in Gen.Frequency((1, Gen.Const(true)), (4, Gen.Const(false)))
        from dims in shape.Length == 0 ? Gen.OneOf(Gen.Const(new[] { 0 }), Gen.Const(new[] { -1 })) : Gens.DimList(shape.Length)
        from keepDim in Gen.Bool
        select (new[] { x }, (all ? null : dims, keepDim));

    // One input and one dim of it.
    static Gen<(TensorSpec[], (int Dim, bool KeepDim))> OverDim(Gen<double> values, bool allowEmpty = true, int minRank = 0) =>
        from shape in Gens.Shape(minRank, allowEmpty: allowEmpty)
        from x in Gens.Floats(shape, values)
        from dim in Gens.Dim(shape.Length)
        from keepDim in Gen.Bool
        select (new[] { x }, (dim, keepDim));

    static Gen<(TensorSpec[], int)> NonEmpty(Gen<double> values) =>
        from shape in Gens.Shape(allowEmpty: false) from x in Gens.Floats(shape, values) select (new[] { x }, 0);

    static readonly Gen<double> NormOrder = Gen.OneOf(Gen.Const(1.0), Gen.Const(2.0), Gen.Const(3.0), Gen.Const(1.5), Gen.Const(double.PositiveInfinity));

    static readonly OpTable Ops =
    [
        Op.Unary("Sum()", Values.Normal, x => x.Sum(), x => x.sum()),
        Op.Create("Sum(dims, keepDim)", OverDims(Values.Normal),
            (x, p) => x[0].Sum(p.Dims, p.KeepDim),
            (x, p) => p.Dims is null ? (p.KeepDim ? x[0].sum(L(Enumerable.Range(0, (int)x[0].dim()).ToArray()), true) : x[0].sum()) : x[0].sum(L(p.Dims), p.KeepDim)),
        Op.Create("Sum(dim, keepDim)", OverDim(Values.Normal), (x, p) => x[0].Sum(p.Dim, p.KeepDim), (x, p) => x[0].sum(p.Dim, p.KeepDim)),
        Op.Create("Sum(Int64) gives Int64",
            from shape in Gens.Shape()
            from x in Gens.Indices(shape, -5, 5)
            select (new[] { x }, 0),
            (x, _) => x[0].Sum(), (x, _) => x[0].sum()),
        Op.Create("Sum(Bool) gives Int64",
            from shape in Gens.Shape()
            from x in Gens.Mask(shape)
            select (new[] { x }, 0),
            (x, _) => x[0].Sum(), (x, _) => x[0].sum()),
        Op.Unary("Mean()", Values.Normal, x => x.Mean(), x => x.mean()),
        Op.Create("Mean(dims, keepDim)", OverDims(Values.Normal),
            (x, p) => x[0].Mean(p.Dims, p.KeepDim),
            (x, p) => x[0].mean(L(p.Dims ?? Enumerable.Range(0, (int)x[0].dim()).ToArray()), p.KeepDim)),
        Op.Create("Var(dims, correction, keepDim)",
            from c in OverDims(Values.Mixed)
            from unbiased in Gen.Bool
            select (c.Item1, (c.Item2.Dims, c.Item2.KeepDim, unbiased)),
            (x, p) => x[0].Var(p.Dims, p.unbiased ? 1 : 0, p.KeepDim),
            (x, p) => x[0].var(L(p.Dims ?? Enumerable.Range(0, (int)x[0].dim()).ToArray()), p.unbiased, p.KeepDim)),
        // Std's gradient (x - mean)/((N - c)·std) is 0/0 where the spread is rounding noise (an
        // expanded -0.1 has std 1.7e-17), and each engine's rounding picks another value. So equal
        // values are exact quarters (zero spread exactly, gradient 0 in both), and random values are
        // never duplicated by an expanded view.
        Op.Create("Std(dims, correction, keepDim)",
            from c in Gen.OneOf(OverDims(Values.Quarters), OverDims(Values.Normal, expand: false))
            from unbiased in Gen.Bool
            select (c.Item1, (c.Item2.Dims, c.Item2.KeepDim, unbiased)),
            (x, p) => x[0].Std(p.Dims, p.unbiased ? 1 : 0, p.KeepDim),
            (x, p) => x[0].std(L(p.Dims ?? Enumerable.Range(0, (int)x[0].dim()).ToArray()), p.unbiased, p.KeepDim)),
        // The inf-norm of an empty tensor has no identity: libtorch rejects it (see ErrorConformance).
        Op.Create("Norm(p, dims, keepDim)",
            from p in NormOrder
            from c in OverDims(Values.Mixed, allowEmpty: !double.IsInfinity(p))
            select (c.Item1, (c.Item2.Dims, c.Item2.KeepDim, p)),
            (x, a) => x[0].Norm(a.p, a.Dims, a.KeepDim),
            (x, a) => torch.linalg.vector_norm(x[0], a.p, a.Dims is null ? null : L(a.Dims), a.KeepDim)),

        // amax/amin: ties (Mixed values) split the gradient evenly in both libraries.
        Op.Create("Max()", NonEmpty(Values.Mixed), (x, _) => x[0].Max(), (x, _) => x[0].max()),
        Op.Create("Min()", NonEmpty(Values.Mixed), (x, _) => x[0].Min(), (x, _) => x[0].min()),
        Op.Create("Max(dims, keepDim) as amax", OverDims(Values.Mixed, allowEmpty: false),
            (x, p) => x[0].Max(p.Dims, p.KeepDim),
            (x, p) => x[0].amax(L(p.Dims ?? Enumerable.Range(0, (int)x[0].dim()).ToArray()), p.KeepDim)),
        Op.Create("Min(dims, keepDim) as amin", OverDims(Values.Mixed, allowEmpty: false),
            (x, p) => x[0].Min(p.Dims, p.KeepDim),
            (x, p) => x[0].amin(L(p.Dims ?? Enumerable.Range(0, (int)x[0].dim()).ToArray()), p.KeepDim)),
        Op.Create("Max(dim, keepDim) as amax", OverDim(Values.Mixed, allowEmpty: false),
            (x, p) => x[0].Max(p.Dim, p.KeepDim), (x, p) => x[0].amax([p.Dim], p.KeepDim)),
        Op.Create("Min(dim, keepDim) as amin", OverDim(Values.Mixed, allowEmpty: false),
            (x, p) => x[0].Min(p.Dim, p.KeepDim), (x, p) => x[0].amin([p.Dim], p.KeepDim)),

        // Ties: the first index wins in both.
        Op.Create("ArgMax()", NonEmpty(Values.Mixed), (x, _) => x[0].ArgMax(), (x, _) => x[0].argmax()),
        Op.Create("ArgMin()", NonEmpty(Values.Mixed), (x, _) => x[0].ArgMin(), (x, _) => x[0].argmin()),
        Op.Create("ArgMax(dim, keepDim)", OverDim(Values.Mixed, allowEmpty: false),
            (x, p) => x[0].ArgMax(p.Dim, p.KeepDim), (x, p) => x[0].argmax(p.Dim, p.KeepDim)),
        Op.Create("ArgMin(dim, keepDim)", OverDim(Values.Mixed, allowEmpty: false),
            (x, p) => x[0].ArgMin(p.Dim, p.KeepDim), (x, p) => x[0].argmin(p.Dim, p.KeepDim)),

        // torch.max(x, dim) and torch.min(x, dim): the first extreme's index, which takes the whole gradient.
        Op.CreateMany("MaxWithIndices(dim, keepDim)", OverDim(Values.Mixed, allowEmpty: false),
            (x, p) => { var (v, i) = x[0].MaxWithIndices(p.Dim, p.KeepDim); return [v, i]; },
            (x, p) => { var (v, i) = x[0].max(p.Dim, p.KeepDim); return [v, i]; }),
        Op.CreateMany("MinWithIndices(dim, keepDim)", OverDim(Values.Mixed, allowEmpty: false),
            (x, p) => { var (v, i) = x[0].MinWithIndices(p.Dim, p.KeepDim); return [v, i]; },
            (x, p) => { var (v, i) = x[0].min(p.Dim, p.KeepDim); return [v, i]; }),

        // A stable sort in both, so tied values keep their order and the indices agree.
        Op.CreateMany("Sort(dim, descending)", OverDim(Values.Mixed),
            (x, p) => { var (v, i) = x[0].Sort(p.Dim, descending: p.KeepDim); return [v, i]; },
            (x, p) => { var (v, i) = x[0].sort(p.Dim, descending: p.KeepDim, stable: true); return [v, i]; }),
        // Distinct values: which of several tied elements topk picks is unspecified (see the README).
        Op.CreateMany("TopK(k, dim, largest)",
            from shape in Gens.Shape()
            from x in Gens.DistinctFloats(shape)
            from dim in Gens.Dim(shape.Length)
            let size = shape.Length == 0 ? 1 : shape[dim < 0 ? dim + shape.Length : dim]
            from k in Gen.Int[0, size]
            from largest in Gen.Bool
            select (new[] { x }, (k, dim, largest)),
            (x, p) => { var (v, i) = x[0].TopK(p.k, p.dim, p.largest); return [v, i]; },
            (x, p) => { var (v, i) = x[0].topk(p.k, p.dim, p.largest); return [v, i]; }),

        Op.Create("LogSumExp(dim, keepDim)", OverDim(Values.Normal),
            (x, p) => x[0].LogSumExp(p.Dim, p.KeepDim), (x, p) => x[0].logsumexp(p.Dim, p.KeepDim)),
        Op.Create("Softmax(dim)", OverDim(Values.Normal),
            (x, p) => x[0].Softmax(p.Dim), (x, p) => x[0].softmax(p.Dim)),
        Op.Create("LogSoftmax(dim)", OverDim(Values.Normal),
            (x, p) => x[0].LogSoftmax(p.Dim), (x, p) => x[0].log_softmax(p.Dim)),
    ];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();
}
