using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// The rearranging shape operations (unflatten, movedim, unfold, broadcast_to, tile, roll, rot90,
/// diff, meshgrid, repeat_interleave), over every layout, with gradients.
/// </summary>
public class RearrangeConformance
{
    internal static long[] L(IEnumerable<int> v) => v.Select(d => (long)d).ToArray();

    internal static int Normal(int dim, int rank) => dim < 0 ? dim + Math.Max(rank, 1) : dim;

    internal static Gen<(TensorSpec[], P)> One<P>(Gen<int[]> shapes, Func<int[], Gen<P>> args) =>
        from shape in shapes
        from x in Gens.Floats(shape)
        from p in args(shape)
        select (new[] { x }, p);

    // Sizes whose product is n: a divisor and its cofactor, a 1 between them now and then, one maybe written -1.
    static Gen<int[]> Factors(int n) =>
        from first in n == 0 ? Gen.Int[0, 3] : Gen.Int[1, n].Where(f => n % f == 0)
        let second = n == 0 ? (first == 0 ? 3 : 0) : n / first
        from withOne in Gen.Bool
        from infer in Gen.Int[-1, 2]
        let sizes = withOne ? new[] { first, 1, second } : new[] { first, second }
        select n == 0 || infer < 0 || infer >= sizes.Length ? sizes : sizes.Select((s, i) => i == infer ? -1 : s).ToArray();

    // Distinct source dims of a tensor of rank ≥ 1 and as many distinct destinations, each written positive or negative.
    static Gen<(int[] Source, int[] Destination)> MoveArgs(int rank) =>
        from count in Gen.Int[1, rank]
        from sourceKeys in Gen.Int[0, 999].Array[rank]
        from destKeys in Gen.Int[0, 999].Array[rank]
        from negative in Gen.Bool.Array[2 * rank]
        let source = Enumerable.Range(0, rank).OrderBy(i => sourceKeys[i]).ThenBy(i => i).Take(count)
        let destination = Enumerable.Range(0, rank).OrderBy(i => destKeys[i]).ThenBy(i => i).Take(count)
        select (source.Select((d, i) => negative[i] ? d - rank : d).ToArray(), destination.Select((d, i) => negative[rank + i] ? d - rank : d).ToArray());

    static Gen<(int Dim, int Size, int Step)> UnfoldArgs(int[] shape) =>
        from dim in Gens.Dim(shape.Length)
        let n = shape.Length == 0 ? 1 : shape[Normal(dim, shape.Length)]
        from size in Gen.Int[0, n]
        from step in Gen.Int[1, 3]
        select (dim, size, step);

    static Gen<int[]> BroadcastTarget(int[] shape) =>
        from lead in Gens.Size.Array[Gen.Int[0, 2]]
        from grow in Gens.Size.Array[shape.Length]
        select lead.Concat(shape.Select((s, i) => s == 1 ? grow[i] : s)).ToArray();

    // Two distinct dims of a tensor of rank ≥ 2, written positive or negative.
    static Gen<int[]> Plane(int rank) =>
        from a in Gen.Int[0, rank - 1]
        from step in Gen.Int[1, rank - 1]
        from negative in Gen.Bool.Array[2]
        select new[] { negative[0] ? a - rank : a, negative[1] ? (a + step) % rank - rank : (a + step) % rank };

    // Diff's prepend and append: the input's shape but along dim, where each has 0 to 2 elements.
    static Gen<(TensorSpec[], (int N, int Dim, bool Prepend, bool Append))> DiffCases() =>
        from shape in Gens.Shape(1, 4)
        from dim in Gens.Dim(shape.Length)
        let d = Normal(dim, shape.Length)
        from n in Gen.Int[0, 4]
        from ends in Gen.Int[0, 2].Array[2]
        from withEnds in Gen.Bool.Array[2]
        from x in Gens.Floats(shape)
        from prepend in Gens.Floats(shape.Select((s, i) => i == d ? ends[0] : s).ToArray())
        from append in Gens.Floats(shape.Select((s, i) => i == d ? ends[1] : s).ToArray())
        select (new[] { x }.Concat(withEnds[0] ? [prepend] : []).Concat(withEnds[1] ? [append] : []).ToArray(), (n, dim, withEnds[0], withEnds[1]));

    static (T? Prepend, T? Append) Ends<T>(T[] x, bool prepend, bool append) where T : class =>
        (prepend ? x[1] : null, append ? x[prepend ? 2 : 1] : null);

    // TorchSharp's diff takes n = 1 only: libtorch's first difference (with the ends joined), taken n times.
    static torch.Tensor TorchDiff(torch.Tensor x, int n, int dim, torch.Tensor? prepend, torch.Tensor? append)
    {
        if (n == 0) return torch.cat([.. new[] { prepend, x, append }.OfType<torch.Tensor>()], dim);
        var y = x.diff(1, dim, prepend, append);
        for (int i = 1; i < n; i++) y = y.diff(1, dim);
        return y;
    }

    static readonly OpTable Ops =
    [
        Op.Create("Unflatten(dim, sizes)",
            One(Gens.Shape(1, 4), shape => from dim in Gens.Dim(shape.Length) from sizes in Factors(shape[Normal(dim, shape.Length)]) select (dim, sizes)),
            // TorchSharp refuses a negative dim (PyTorch does not): its side gets the dim normalised.
            (x, p) => x[0].Unflatten(p.dim, p.sizes), (x, p) => x[0].unflatten(Normal(p.dim, (int)x[0].ndim), L(p.sizes))),
        Op.Create("Movedim(source, destination)",
            One(Gens.Shape(1, 4), shape => MoveArgs(shape.Length)),
            (x, p) => x[0].Movedim(p.Source, p.Destination), (x, p) => x[0].movedim(L(p.Source), L(p.Destination))),
        Op.Create("Movedim(int, int)",
            One(Gens.Shape(), shape => from a in Gens.Dim(shape.Length) from b in Gens.Dim(shape.Length) select (a, b)),
            (x, p) => x[0].Movedim(p.a, p.b), (x, p) => torch.movedim(x[0], p.a, p.b)),
        // Windows may overlap (step < size) or skip elements (step > size); their gradients add up.
        Op.Create("Unfold(dimension, size, step)", One(Gens.Shape(), UnfoldArgs),
            (x, p) => x[0].Unfold(p.Dim, p.Size, p.Step), (x, p) => x[0].unfold(p.Dim, p.Size, p.Step)),
        Op.Create("BroadcastTo(shape)", One(Gens.Shape(), BroadcastTarget),
            (x, s) => x[0].BroadcastTo(s), (x, s) => x[0].broadcast_to(L(s))),
        Op.CreateMany("BroadcastTensors",
            from shapes in Gens.BroadcastPair()
            from third in Gens.Broadcastable(shapes.A)
            from a in Gens.Floats(shapes.A)
            from b in Gens.Floats(shapes.B)
            from c in Gens.Floats(third)
            select (new[] { a, b, c }, 0),
            (x, _) => Tensor.BroadcastTensors(x), (x, _) => [.. torch.broadcast_tensors(x)]),
        // Fewer reps than dims are padded with leading 1s; more add leading dims.
        Op.Create("Tile(reps)", One(Gens.Shape(), shape => Gen.Int[0, 3].Array[Gen.Int[0, shape.Length + 2]]),
            (x, r) => x[0].Tile(r), (x, r) => x[0].tile(L(r))),
        Op.Create("Roll(shift) of the flattened tensor", One(Gens.Shape(), _ => Gen.Int[-9, 9]),
            (x, s) => x[0].Roll(s), (x, s) => x[0].roll(s)),
        Op.Create("Roll(shifts, dims)",
            One(Gens.Shape(1, 4), shape => from dims in Gens.DimList(shape.Length) from shifts in Gen.Int[-9, 9].Array[dims.Length] select (shifts, dims)),
            (x, p) => x[0].Roll(p.shifts, p.dims), (x, p) => x[0].roll(L(p.shifts), L(p.dims))),
        Op.Create("Rot90(k, dims)",
            One(Gens.Shape(2, 4), shape => from k in Gen.Int[-5, 5] from dims in Plane(shape.Length) select (k, dims)),
            (x, p) => x[0].Rot90(p.k, p.dims), (x, p) => x[0].rot90(p.k, (p.dims[0], p.dims[1]))),
        Op.Create("Diff(n, dim, prepend, append)", DiffCases(),
            (x, p) => x[0].Diff(p.N, p.Dim, Ends(x, p.Prepend, p.Append).Prepend, Ends(x, p.Prepend, p.Append).Append),
            (x, p) => TorchDiff(x[0], p.N, p.Dim, Ends(x, p.Prepend, p.Append).Prepend, Ends(x, p.Prepend, p.Append).Append)),
        Op.CreateMany("Meshgrid(tensors, indexing)",
            from count in Gen.Int[1, 3]
            from shapes in Gens.Sequence(Enumerable.Range(0, count).Select(_ => Gens.Shape(0, 1)))
            from parts in Gens.Sequence(shapes.Select(s => Gens.Floats(s)))
            from indexing in Gen.OneOf(Gen.Const("ij"), Gen.Const("xy"))
            select (parts, indexing),
            (x, i) => Tensor.Meshgrid(x, i), (x, i) => torch.meshgrid(x, i)),
        Op.Create("RepeatInterleave(repeats) of the flattened tensor", One(Gens.Shape(), _ => Gen.Int[0, 3]),
            (x, r) => x[0].RepeatInterleave(r), (x, r) => x[0].repeat_interleave(r)),
        Op.Create("RepeatInterleave(repeats, dim)",
            One(Gens.Shape(1, 4), shape => from r in Gen.Int[0, 3] from dim in Gens.Dim(shape.Length) select (r, dim)),
            (x, p) => x[0].RepeatInterleave(p.r, p.dim), (x, p) => x[0].repeat_interleave(p.r, p.dim)),
        // A count per slice, or one count for all.
        Op.Create("RepeatInterleave(repeats tensor, dim)",
            from shape in Gens.Shape(1, 4)
            from x in Gens.Floats(shape)
            from dim in Gens.Dim(shape.Length)
            from single in Gen.Frequency((3, Gen.Const(false)), (1, Gen.Const(true)))
            from repeats in Gens.Indices([single ? 1 : shape[Normal(dim, shape.Length)]], 0, 3)
            select (new[] { x, repeats }, dim),
            (x, d) => x[0].RepeatInterleave(x[1], d), (x, d) => x[0].repeat_interleave(x[1], d)),
    ];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();
}
