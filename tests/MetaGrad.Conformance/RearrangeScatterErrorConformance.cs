using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// Generated invalid calls of the rearranging operations (RearrangeConformance) and of writing and
/// reading by index (ScatterConformance): libtorch rejects every one, and MetaGrad must throw too,
/// naming the operation called.
/// </summary>
public class RearrangeScatterErrorConformance
{
    static long[] L(IEnumerable<int> v) => RearrangeConformance.L(v);

    static int Normal(int dim, int rank) => RearrangeConformance.Normal(dim, rank);

    static Gen<(TensorSpec[], P)> One<P>(Gen<int[]> shapes, Func<int[], Gen<P>> args) => RearrangeConformance.One(shapes, args);

    // A self of rank ≥ 1 with no empty dim, a dim, and a [1, ..., 1] Int64 index holding `entry(size)` (libtorch checks entries it visits).
    static Gen<(TensorSpec[], int)> BadEntry(Func<int, Gen<int>> entry, bool withSrc) =>
        from shape in Gens.Shape(1, 3, allowEmpty: false)
        from self in Gens.Floats(shape)
        from dim in Gens.Dim(shape.Length)
        from value in entry(shape[Normal(dim, shape.Length)])
        let ones = shape.Select(_ => 1).ToArray()
        from src in Gens.Floats(ones)
        select (withSrc ? new[] { self, TensorSpec.Plain(Kind.Int64, ones, [value]), src } : [self, TensorSpec.Plain(Kind.Int64, ones, [value])], dim);

    static Gen<int> Beyond(int size) => Gen.OneOf(Gen.Int[size, size + 2], Gen.Int[-3, -1]);

    static readonly OpTable Ops =
    [
        Op.Throws("Unflatten into sizes of another product", "Unflatten",
            One(Gens.Shape(1, 3, allowEmpty: false), shape => from dim in Gens.Dim(shape.Length) select (dim, new[] { shape[Normal(dim, shape.Length)] + 1, 1 })),
            (x, p) => x[0].Unflatten(p.dim, p.Item2), (x, p) => x[0].unflatten(Normal(p.dim, (int)x[0].ndim), L(p.Item2))),
        Op.Throws("Movedim with a repeated source dim", "Movedim",
            One(Gens.Shape(2, 4), shape => from d in Gen.Int[0, shape.Length - 1] select (new[] { d, d - shape.Length }, new[] { 0, 1 })),
            (x, p) => x[0].Movedim(p.Item1, p.Item2), (x, p) => x[0].movedim(L(p.Item1), L(p.Item2))),
        Op.Throws("Movedim with as many sources as destinations", "Movedim",
            One(Gens.Shape(2, 4), _ => Gen.Const(0)),
            (x, _) => x[0].Movedim([0, 1], [1]), (x, _) => x[0].movedim([0L, 1L], [1L])),
        Op.Throws("Unfold with a window longer than the dim", "Unfold",
            One(Gens.Shape(1, 3), shape => from dim in Gens.Dim(shape.Length) from more in Gen.Int[1, 2] select (dim, shape[Normal(dim, shape.Length)] + more)),
            (x, p) => x[0].Unfold(p.dim, p.Item2, 1), (x, p) => x[0].unfold(p.dim, p.Item2, 1)),
        Op.Throws("Unfold with a step below 1", "Unfold",
            One(Gens.Shape(1, 3, allowEmpty: false), shape => Gen.Int[-2, 0]),
            (x, step) => x[0].Unfold(0, 1, step), (x, step) => x[0].unfold(0, 1, step)),
        Op.Throws("Roll with more shifts than dims", "Roll",
            One(Gens.Shape(2, 3), _ => Gen.Const(0)),
            (x, _) => x[0].Roll([1, 2], [0]), (x, _) => x[0].roll([1L, 2L], [0L])),
        Op.Throws("Rot90 in a plane of one dim", "Rot90",
            One(Gens.Shape(2, 3), shape => Gen.Int[0, shape.Length - 1]),
            (x, d) => x[0].Rot90(1, [d, d - x[0].NDim]), (x, d) => x[0].rot90(1, (d, d - x[0].ndim))),
        Op.Throws("Rot90 of a tensor below 2 dims", "Rot90",
            One(Gens.Shape(0, 1), _ => Gen.Const(0)),
            (x, _) => x[0].Rot90(), (x, _) => x[0].rot90()),
        Op.Throws("Diff of a 0-d tensor", "Diff",
            One(Gens.Shape(0, 0), _ => Gen.Const(0)),
            (x, _) => x[0].Diff(), (x, _) => x[0].diff()),
        Op.Throws("Diff with a prepend of another shape", "Diff",
            from shape in Gens.Shape(2, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from other in Gens.Floats(shape.Select((s, i) => i == 0 ? s + 1 : s).ToArray())
            select (new[] { x, other }, 0),
            (x, _) => x[0].Diff(1, -1, x[1]), (x, _) => x[0].diff(1, -1, x[1])),
        Op.Throws("Meshgrid of a 2-d tensor", "Meshgrid",
            from a in Gens.Floats([2])
            from b in Gens.Floats([2, 2])
            select (new[] { a, b }, 0),
            (x, _) => Tensor.Meshgrid(x)[0], (x, _) => torch.meshgrid(x)[0]),
        Op.Throws("Meshgrid with an unknown indexing", "Meshgrid",
            from a in Gens.Floats([2])
            select (new[] { a }, 0),
            (x, _) => Tensor.Meshgrid(x, "ji")[0], (x, _) => torch.meshgrid(x, "ji")[0]),
        Op.Throws("RepeatInterleave with a count per slice of another length", "RepeatInterleave",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from repeats in Gens.Indices([shape[0] + 1], 0, 2)
            select (new[] { x, repeats }, 0),
            (x, d) => x[0].RepeatInterleave(x[1], d), (x, d) => x[0].repeat_interleave(x[1], d)),
        Op.Throws("RepeatInterleave with a negative count", "RepeatInterleave",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from repeats in Gens.Indices([shape[0]], -2, -1)
            select (new[] { x, repeats }, 0),
            (x, d) => x[0].RepeatInterleave(x[1], d), (x, d) => x[0].repeat_interleave(x[1], d)),

        Op.Throws("Scatter with an index out of range", "Scatter", BadEntry(Beyond, withSrc: true),
            (x, d) => x[0].Scatter(d, x[1], x[2]), (x, d) => x[0].scatter(d, x[1], x[2])),
        Op.Throws("Scatter of a src of another dtype", "Scatter", BadEntry(size => Gen.Const(0), withSrc: true),
            (x, d) => x[0].Scatter(d, x[1], x[2].To(x[2].DType == DType.Float32 ? DType.Float64 : DType.Float32)),
            (x, d) => x[0].scatter(d, x[1], x[2].to_type(x[2].dtype == torch.ScalarType.Float32 ? torch.ScalarType.Float64 : torch.ScalarType.Float32))),
        Op.Throws("ScatterAdd_ with an index out of range", "ScatterAdd_", BadEntry(Beyond, withSrc: true),
            (x, d) => x[0].Clone().ScatterAdd_(d, x[1], x[2]), (x, d) => x[0].clone().scatter_add_(d, x[1], x[2])),
        Op.Throws("IndexCopy of a source of the wrong shape", "IndexCopy",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from source in Gens.Floats(shape.Select((s, i) => i == 0 ? 3 : s).ToArray())
            select (new[] { x, TensorSpec.Plain(Kind.Int64, [2], [0, 0]), source }, 0),
            (x, d) => x[0].IndexCopy(d, x[1], x[2]), (x, d) => x[0].index_copy(d, x[1], x[2])),
        Op.Throws("IndexCopy with an index out of range", "IndexCopy",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from value in Beyond(shape[0])
            from source in Gens.Floats(shape.Select((s, i) => i == 0 ? 1 : s).ToArray())
            select (new[] { x, TensorSpec.Plain(Kind.Int64, [1], [value]), source }, 0),
            (x, d) => x[0].IndexCopy(d, x[1], x[2]), (x, d) => x[0].index_copy(d, x[1], x[2])),
        Op.Throws("Take with an index out of range", "Take",
            from shape in Gens.Shape(0, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            let n = Gens.Numel(shape)
            from value in Gen.OneOf(Gen.Int[n, n + 2], Gen.Int[-n - 3, -n - 1])
            select (new[] { x, TensorSpec.Plain(Kind.Int64, [1], [value]) }, 0),
            (x, _) => x[0].Take(x[1]), (x, _) => x[0].take(x[1])),
        Op.Throws("TakeAlongDim with indices of another rank", "TakeAlongDim",
            from shape in Gens.Shape(2, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            select (new[] { x, TensorSpec.Plain(Kind.Int64, [1], [0]) }, 0),
            (x, d) => x[0].TakeAlongDim(x[1], d), (x, d) => x[0].take_along_dim(x[1], d)),
        Op.Throws("MaskedScatter with too few source elements", "MaskedScatter",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from source in Gens.Floats([Gens.Numel(shape) - 1])
            select (new[] { x, TensorSpec.Plain(Kind.Bool, shape, Enumerable.Repeat(1.0, Gens.Numel(shape)).ToArray()), source }, 0),
            (x, _) => x[0].MaskedScatter(x[1], x[2]), (x, _) => x[0].masked_scatter(x[1], x[2])),
        Op.Throws("MaskedFill_ with a mask that broadcasts self", "MaskedFill_",
            from shape in Gens.Shape(0, 2)
            from x in Gens.Floats(shape)
            from mask in Gens.Mask([2, .. shape])
            select (new[] { x, mask }, 0),
            (x, _) => x[0].Clone().MaskedFill_(x[1], 1), (x, _) => x[0].clone().masked_fill_(x[1], 1)),
        Op.Throws("IndexAdd_ on a leaf that requires grad", "IndexAdd_",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape, views: false)
            from src in Gens.Floats(shape.Select((s, i) => i == 0 ? 1 : s).ToArray())
            select (new[] { x, TensorSpec.Plain(Kind.Int64, [1], [0]), src }, 0),
            (x, d) => x[0].IndexAdd_(d, x[1], x[2]), (x, d) => x[0].index_add_(d, x[1], x[2], 1)),
    ];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void RejectedByBoth(string op) => Ops[op].Check();
}
