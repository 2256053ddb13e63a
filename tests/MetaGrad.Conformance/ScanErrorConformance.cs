using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// Invalid calls of the scans, products, per-dim tests and order statistics (ScanConformance's
/// operations): libtorch rejects every one, and MetaGrad must throw too, naming the operation.
/// </summary>
public class ScanErrorConformance
{
    static readonly OpTable Ops =
    [
        ErrorConformance.BadDimOp("Cumsum", (x, d) => x.Cumsum(d), (x, d) => x.cumsum(d)),
        ErrorConformance.BadDimOp("Cumprod", (x, d) => x.Cumprod(d), (x, d) => x.cumprod(d)),
        ErrorConformance.BadDimOp("Logcumsumexp", (x, d) => x.Logcumsumexp(d), (x, d) => x.logcumsumexp(d)),
        ErrorConformance.BadDimOp("Prod", (x, d) => x.Prod(d), (x, d) => x.prod(d)),
        ErrorConformance.BadDimOp("Any", (x, d) => x.Any(d), (x, d) => x.any(d)),
        ErrorConformance.BadDimOp("All", (x, d) => x.All(d), (x, d) => x.all(d)),
        ErrorConformance.BadDimOp("Argsort", (x, d) => x.Argsort(d), (x, d) => x.argsort(d)),
        ErrorConformance.BadDimOp("Mode", (x, d) => x.Mode(d).Values, (x, d) => x.mode(d).values),

        Op.Throws("Mode over an empty dim", "Mode",
            from shape in Gens.Shape(1, 3)
            where shape.Contains(0)
            from x in Gens.Floats(shape)
            select (new[] { x }, Array.IndexOf(shape, 0)),
            (x, d) => x[0].Mode(d).Values, (x, d) => x[0].mode(d).values),
        Op.Throws("Aminmax of an empty tensor", "Aminmax",
            from shape in Gens.Shape(1, 3)
            where shape.Contains(0)
            from x in Gens.Floats(shape)
            select (new[] { x }, 0),
            (x, _) => x[0].Aminmax().Min, (x, _) => x[0].aminmax().Item1),
        Op.Throws("Quantile with q outside [0, 1]", "Quantile",
            from shape in Gens.Shape(allowEmpty: false)
            from x in Gens.Floats(shape)
            from q in Gen.OneOf(Gen.Double[-2, -0.01], Gen.Double[1.01, 3])
            select (new[] { x }, q),
            (x, q) => x[0].Quantile(q), (x, q) => x[0].quantile(torch.tensor(q, x[0].dtype))),
        Op.Throws("Quantile of an empty tensor", "Quantile",
            from shape in Gens.Shape(1, 3)
            where shape.Contains(0)
            from x in Gens.Floats(shape)
            select (new[] { x }, 0),
            (x, _) => x[0].Quantile(0.5), (x, _) => x[0].quantile(torch.tensor(0.5, x[0].dtype))),
        Op.Throws("Unique along dim with another dim empty", "Unique",
            from shape in Gens.Shape(2, 3)
            from dim in Gens.Dim(shape.Length)
            where shape.Where((s, j) => j != (dim < 0 ? dim + shape.Length : dim)).Any(s => s == 0)
            from x in Gens.Indices(shape, 0, 2)
            select (new[] { x }, dim),
            (x, d) => x[0].Unique(dim: d).Values, (x, d) => x[0].unique(dim: d).output),
        Op.Throws("Bincount with a negative entry", "Bincount",
            from n in Gen.Int[1, 5]
            from x in Gens.Indices([n], -3, -1)
            select (new[] { x }, 0),
            (x, _) => x[0].Bincount(), (x, _) => x[0].bincount(null)),
        Op.Throws("Bincount of a tensor that is not 1-D", "Bincount",
            from shape in Gen.OneOf(Gen.Const(new[] { 2, 3 }), Gen.Const(new[] { 1, 1, 2 }))
            from x in Gens.Indices(shape, 0, 3)
            select (new[] { x }, 0),
            (x, _) => x[0].Bincount(), (x, _) => x[0].bincount(null)),
        Op.Throws("Histc with min above max", "Histc",
            from shape in Gens.Shape()
            from x in Gens.Floats(shape, requiresGrad: false)
            from lo in Gen.Int[-3, 3]
            from gap in Gen.Int[1, 3]
            select (new[] { x }, (min: lo + gap, max: lo)),
            (x, p) => x[0].Histc(10, p.min, p.max), (x, p) => x[0].histc(10, p.min, p.max)),
    ];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void RejectedByBoth(string op) => Ops[op].Check();
}
