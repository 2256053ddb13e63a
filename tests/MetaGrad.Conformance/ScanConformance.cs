using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// Scans (cumsum, cumprod, logcumsumexp), products, per-dim any/all, count_nonzero, aminmax,
/// argsort, the order statistics (median, mode, quantile) and the counting of values (unique,
/// bincount, histc), on 0-d, empty and non-contiguous inputs with negative dims.
/// </summary>
public class ScanConformance
{
    static long[] L(int[] dims) => dims.Select(d => (long)d).ToArray();

    // One input and one dim of it.
    static Gen<(TensorSpec[], (int Dim, bool KeepDim))> OverDim(Gen<double> values, bool allowEmpty = true, bool requiresGrad = true) =>
        from shape in Gens.Shape(allowEmpty: allowEmpty)
        from x in Gens.Floats(shape, values, requiresGrad)
        from dim in Gens.Dim(shape.Length)
        from keepDim in Gen.Bool
        select (new[] { x }, (dim, keepDim));

    // One input of distinct values and one dim of it: for operations whose choice among ties is unspecified.
    static Gen<(TensorSpec[], (int Dim, bool KeepDim))> DistinctOverDim(bool allowEmpty = false) =>
        from shape in Gens.Shape(allowEmpty: allowEmpty)
        from x in Gens.DistinctFloats(shape)
        from dim in Gens.Dim(shape.Length)
        from keepDim in Gen.Bool
        select (new[] { x }, (dim, keepDim));

    static int SizeAt(long[] shape, int dim) => shape.Length == 0 ? 1 : (int)shape[dim < 0 ? dim + shape.Length : dim];

    // TorchSharp's quantile and aminmax read dim -1 as "all dims" (None): pass dims written from the start.
    static long FromStart(torch.Tensor x, int dim) => dim < 0 ? dim + Math.Max(x.dim(), 1) : dim;

    static readonly OpTable Ops =
    [
        Op.Create("Cumsum(dim)", OverDim(Values.Normal), (x, p) => x[0].Cumsum(p.Dim), (x, p) => x[0].cumsum(p.Dim)),
        Op.Create("Cumsum(Int64) gives Int64",
            from shape in Gens.Shape() from x in Gens.Indices(shape, -5, 5) from dim in Gens.Dim(shape.Length) select (new[] { x }, dim),
            (x, d) => x[0].Cumsum(d), (x, d) => x[0].cumsum(d)),
        Op.Create("Cumsum(Bool) gives Int64",
            from shape in Gens.Shape() from x in Gens.Mask(shape) from dim in Gens.Dim(shape.Length) select (new[] { x }, dim),
            (x, d) => x[0].Cumsum(d), (x, d) => x[0].cumsum(d)),
        // Mixed values hold zeros: the gradient's special case at them is compared too.
        Op.Create("Cumprod(dim)", OverDim(Values.Mixed), (x, p) => x[0].Cumprod(p.Dim), (x, p) => x[0].cumprod(p.Dim)),
        Op.Create("Cumprod(Int64) gives Int64",
            from shape in Gens.Shape() from x in Gens.Indices(shape, -3, 3) from dim in Gens.Dim(shape.Length) select (new[] { x }, dim),
            (x, d) => x[0].Cumprod(d), (x, d) => x[0].cumprod(d)),
        Op.Create("Logcumsumexp(dim)", OverDim(Values.Normal), (x, p) => x[0].Logcumsumexp(p.Dim), (x, p) => x[0].logcumsumexp(p.Dim)),
        Op.Create("Logcumsumexp(dim) of large values", OverDim(Values.Large), (x, p) => x[0].Logcumsumexp(p.Dim), (x, p) => x[0].logcumsumexp(p.Dim)),
        Op.Unary("Prod()", Values.Mixed, x => x.Prod(), x => x.prod()),
        Op.Create("Prod(dim, keepDim)", OverDim(Values.Mixed), (x, p) => x[0].Prod(p.Dim, p.KeepDim), (x, p) => x[0].prod(p.Dim, p.KeepDim)),
        Op.Create("Prod(Int64) gives Int64",
            from shape in Gens.Shape() from x in Gens.Indices(shape, -3, 3) select (new[] { x }, 0),
            (x, _) => x[0].Prod(), (x, _) => x[0].prod()),

        // Ties hold exact zeros; Bool masks too.
        Op.Create("Any(dim, keepDim)", OverDim(Values.Ties, requiresGrad: false), (x, p) => x[0].Any(p.Dim, p.KeepDim), (x, p) => x[0].any(p.Dim, p.KeepDim)),
        Op.Create("All(dim, keepDim)", OverDim(Values.Ties, requiresGrad: false), (x, p) => x[0].All(p.Dim, p.KeepDim), (x, p) => x[0].all(p.Dim, p.KeepDim)),
        Op.Create("Any(dim) of Bool",
            from shape in Gens.Shape() from x in Gens.Mask(shape) from dim in Gens.Dim(shape.Length) select (new[] { x }, dim),
            (x, d) => x[0].Any(d), (x, d) => x[0].any(d)),
        Op.Create("All(dim) of Bool",
            from shape in Gens.Shape() from x in Gens.Mask(shape) from dim in Gens.Dim(shape.Length) select (new[] { x }, dim),
            (x, d) => x[0].All(d), (x, d) => x[0].all(d)),
        Op.Create("CountNonzero(dims)",
            from shape in Gens.Shape(minRank: 1)
            from x in Gens.Floats(shape, Values.Ties, requiresGrad: false)
            from all in Gen.Bool
            from dims in Gens.DimList(shape.Length)
            select (new[] { x }, all ? null : dims),
            (x, d) => x[0].CountNonzero(d), (x, d) => x[0].count_nonzero(d is null ? null : L(d))),

        // Forward only: libtorch has no derivative for aminmax (MetaGrad gives amin's and amax's).
        Op.CreateMany("Aminmax(dim, keepDim)",
            from c in OverDim(Values.Mixed, allowEmpty: false, requiresGrad: false)
            from all in Gen.Bool
            select (c.Item1, (Dim: all ? (int?)null : c.Item2.Dim, c.Item2.KeepDim)),
            (x, p) => { var (lo, hi) = x[0].Aminmax(p.Dim, p.KeepDim); return [lo, hi]; },
            (x, p) => { var (lo, hi) = x[0].aminmax(p.Dim is int d ? FromStart(x[0], d) : null, p.KeepDim); return [lo, hi]; }),

        // MetaGrad's argsort is stable: against torch's stable sort with ties, and torch.argsort on distinct values.
        Op.Create("Argsort(dim, descending) with ties", OverDim(Values.Ties, requiresGrad: false),
            (x, p) => x[0].Argsort(p.Dim, p.KeepDim), (x, p) => x[0].sort(p.Dim, p.KeepDim, stable: true).Indices),
        Op.Create("Argsort(dim, descending)", DistinctOverDim(allowEmpty: true),
            (x, p) => x[0].Argsort(p.Dim, p.KeepDim), (x, p) => x[0].argsort(p.Dim, p.KeepDim)),

        // Median of all: ties (Mixed) share the gradient evenly in both.
        Op.Create("Median()",
            from shape in Gens.Shape(allowEmpty: false) from x in Gens.Floats(shape, Values.Mixed) select (new[] { x }, 0),
            (x, _) => x[0].Median(), (x, _) => x[0].median()),
        // TorchSharp lacks median(dim); torch.median(dim) is the lower median, kthvalue at k = (n - 1)/2 + 1
        // (distinct values: which of tied elements either picks is unspecified).
        Op.CreateMany("Median(dim, keepDim)", DistinctOverDim(),
            (x, p) => { var (v, i) = x[0].Median(p.Dim, p.KeepDim); return [v, i]; },
            (x, p) =>
            {
                int n = SizeAt(x[0].shape, p.Dim);
                var (v, i) = x[0].kthvalue((n - 1) / 2 + 1, p.Dim, p.KeepDim);
                return [v, i];
            }),
        Op.CreateMany("Mode(dim, keepDim)", OverDim(Values.Ties, allowEmpty: false),
            (x, p) => { var (v, i) = x[0].Mode(p.Dim, p.KeepDim); return [v, i]; },
            (x, p) => { var (v, i) = x[0].mode(p.Dim, p.KeepDim); return [v, i]; }),

        // TorchSharp's quantile takes a q tensor and a dim, and interpolates linearly only.
        Op.Create("Quantile(q, dim, keepDim)",
            from c in DistinctOverDim()
            from q in Gen.Frequency((1, Gen.Const(0.0)), (1, Gen.Const(1.0)), (1, Gen.Const(0.5)), (4, Gen.Double[0, 1]))
            select (c.Item1, (c.Item2.Dim, c.Item2.KeepDim, q)),
            (x, p) => x[0].Quantile(p.q, p.Dim, p.KeepDim),
            (x, p) => x[0].quantile(torch.tensor(p.q, x[0].dtype), FromStart(x[0], p.Dim), p.KeepDim)),
        Op.Create("Quantile(q tensor, dim, keepDim)",
            from c in DistinctOverDim()
            from qs in Gen.Double[0, 1].Array[1, 3]
            select (c.Item1, (c.Item2.Dim, c.Item2.KeepDim, qs)),
            (x, p) => x[0].Quantile(Tensor.From(p.qs, [p.qs.Length]).To(x[0].DType), p.Dim, p.KeepDim),
            (x, p) => x[0].quantile(torch.tensor(p.qs).to(x[0].dtype), FromStart(x[0], p.Dim), p.KeepDim)),
        Op.Create("Quantile(q) of all, keepDim",
            from shape in Gens.Shape(allowEmpty: false)
            from x in Gens.DistinctFloats(shape)
            from q in Gen.Double[0, 1]
            from keepDim in Gen.Bool
            select (new[] { x }, (q, keepDim)),
            (x, p) => x[0].Quantile(p.q, keepDim: p.keepDim), (x, p) => x[0].quantile(torch.tensor(p.q, x[0].dtype), -1, p.keepDim)),

        Op.CreateMany("Unique(returnInverse, returnCounts)",
            from shape in Gens.Shape()
            from x in Gen.OneOf(Gens.Indices(shape, -3, 3), Gens.Floats(shape, Values.Ties, requiresGrad: false))
            select (new[] { x }, 0),
            (x, _) => { var (v, i, c) = x[0].Unique(returnInverse: true, returnCounts: true); return [v, i!, c!]; },
            (x, _) => { var (v, i, c) = x[0].unique(true, true, true); return [v, i!, c!]; }),
        // Few values (0 and 1) over short slices, so that repeated slices are common.
        Op.CreateMany("Unique(returnInverse, returnCounts, dim)",
            from shape in Gens.Shape(minRank: 1)
            from x in Gen.OneOf(Gens.Indices(shape, 0, 1), Gens.Floats(shape, Gen.Int[0, 1].Select(i => (double)i), requiresGrad: false))
            from dim in Gens.Dim(shape.Length)
            where shape.Where((s, j) => j != (dim < 0 ? dim + shape.Length : dim)).All(s => s > 0)   // else refused (ScanErrorConformance)
            select (new[] { x }, dim),
            (x, d) => { var (v, i, c) = x[0].Unique(returnInverse: true, returnCounts: true, dim: d); return [v, i!, c!]; },
            (x, d) => { var (v, i, c) = x[0].unique(true, true, true, d); return [v, i!, c!]; }),
        Op.Create("Bincount(minlength)",
            from n in Gen.Int[0, 6]
            from x in Gens.Indices([n], 0, 5)
            from minlength in Gen.Int[0, 8]
            select (new[] { x }, minlength),
            (x, m) => x[0].Bincount(minlength: m), (x, m) => x[0].bincount(null, m)),
        Op.Create("Bincount(weights, minlength)",
            from n in Gen.Int[0, 6]
            from x in Gens.Indices([n], 0, 5)
            from w in Gens.Floats([n], Values.Normal, requiresGrad: false)
            from minlength in Gen.Int[0, 8]
            select (new[] { x, w }, minlength),
            (x, m) => x[0].Bincount(x[1], m), (x, m) => x[0].bincount(x[1], m)),
        // TorchSharp passes histc's range as integers; min == max == 0 takes the data's range.
        Op.Create("Histc(bins, min, max)",
            from shape in Gens.Shape()
            from x in Gens.Floats(shape, Values.Normal, requiresGrad: false)
            from bins in Gen.Int[1, 7]
            from lo in Gen.Int[-3, 2]
            from width in Gen.Frequency((1, Gen.Const(0)), (4, Gen.Int[1, 4]))
            select (new[] { x }, (bins, min: width == 0 ? 0 : lo, max: width == 0 ? 0 : lo + width)),
            (x, p) => x[0].Histc(p.bins, p.min, p.max), (x, p) => x[0].histc(p.bins, p.min, p.max)),
    ];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();
}
