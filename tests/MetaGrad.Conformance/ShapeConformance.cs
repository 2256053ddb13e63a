using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>Views, copies, joins, splits and matrix products, over every layout.</summary>
public class ShapeConformance
{
    static long[] L(IEnumerable<int> v) => v.Select(d => (long)d).ToArray();

    static Gen<(TensorSpec[], P)> One<P>(Gen<int[]> shapes, Func<int[], Gen<P>> args, Gen<double>? values = null) =>
        from shape in shapes
        from x in Gens.Floats(shape, values)
        from p in args(shape)
        select (new[] { x }, p);

    // A random order of 0..n-1 (sort keys rather than a shuffle, so a seed always gives the same order).
    static Gen<int[]> Permutation(int n) =>
        Gen.Int[0, 999].Array[n].Select(keys => Enumerable.Range(0, n).OrderBy(i => keys[i]).ThenBy(i => i).ToArray());

    static int[] PrimeFactors(int n)
    {
        var f = new List<int>();
        for (int p = 2; n > 1; p++)
            while (n % p == 0) { f.Add(p); n /= p; }
        return f.ToArray();
    }

    // Another shape with as many elements: the prime factors regrouped, 1s inserted, one size maybe written -1.
    static Gen<int[]> SameNumel(int[] shape)
    {
        int n = Gens.Numel(shape);
        if (n == 0)
            return from order in Permutation(shape.Length)
                   from ones in Gen.Int[0, 2]
                   select order.Select(i => shape[i]).Concat(Enumerable.Repeat(1, ones)).ToArray();
        var factors = PrimeFactors(n);
        return
            from order in Permutation(factors.Length)
            from cut in Gen.Bool.Array[factors.Length]
            from ones in Gen.Int[0, 2].Array[3]
            from infer in Gen.Int[-1, 3]
            select Regroup(order.Select(i => factors[i]).ToArray(), cut, ones, infer);
    }

    static int[] Regroup(int[] factors, bool[] cut, int[] ones, int infer)
    {
        var dims = new List<int>();
        for (int i = 0; i < factors.Length; i++)
        {
            if (i == 0 || cut[i]) dims.Add(factors[i]);
            else dims[^1] *= factors[i];
        }
        foreach (var at in ones) dims.Insert(Math.Min(at, dims.Count), 1);
        if (infer >= 0 && infer < dims.Count) dims[infer] = -1;
        return dims.ToArray();
    }

    // A target for Expand: new leading dims, size-1 dims grown (to 0 too), kept sizes sometimes written -1.
    static Gen<int[]> ExpandTarget(int[] shape) =>
        from lead in Gens.Size.Array[Gen.Int[0, 2]]
        from grow in Gens.Size.Array[shape.Length]
        from keep in Gen.Bool.Array[shape.Length]
        select lead.Concat(shape.Select((s, i) => s == 1 ? (keep[i] ? -1 : grow[i]) : keep[i] ? -1 : s)).ToArray();

    // A dim of a tensor of rank ≥ 1 and an index inside it (the shape has no empty dim).
    static Gen<(int Dim, int Start, int Length)> NarrowArgs(int[] shape) =>
        from dim in Gens.Dim(shape.Length)
        let size = shape[dim < 0 ? dim + shape.Length : dim]
        from start in Gen.Int[0, size]
        from length in Gen.Int[0, size - start]
        from negative in Gen.Bool
        select (dim, negative && start < size ? start - size : start, length);

    // Sizes along dim that add up to its size.
    static Gen<int[]> Composition(int size) =>
        from cuts in Gen.Bool.Array[Math.Max(size - 1, 0)]
        from extraZero in Gen.Frequency((4, Gen.Const(false)), (1, Gen.Const(true)))
        select Pieces(size, cuts, extraZero);

    static int[] Pieces(int size, bool[] cuts, bool extraZero)
    {
        var pieces = new List<int>();
        int run = 0;
        for (int i = 0; i < size; i++)
        {
            run++;
            if (i == size - 1 || cuts[i]) { pieces.Add(run); run = 0; }
        }
        if (pieces.Count == 0 || extraZero) pieces.Add(0);
        return pieces.ToArray();
    }

    // Shapes of torch.matmul's cases: 1-D on either side, batch dims that broadcast, empty sizes.
    static Gen<(TensorSpec[], int)> MatmulCases() =>
        from aRank in Gen.Int[1, 4]
        from bRank in Gen.Int[1, 4]
        from n in Gens.Size
        from k in Gens.Size
        from m in Gens.Size
        from batch in Gens.Shape(Math.Max(Math.Max(aRank, bRank) - 2, 0), Math.Max(Math.Max(aRank, bRank) - 2, 0))
        from aBatch in Gens.Broadcastable(batch)
        from bBatch in Gens.Broadcastable(batch)
        let aShape = aRank == 1 ? new[] { k } : Tail(aBatch, aRank - 2).Concat([n, k]).ToArray()
        let bShape = bRank == 1 ? new[] { k } : Tail(bBatch, bRank - 2).Concat([k, m]).ToArray()
        from a in Gens.Floats(aShape)
        from b in Gens.Floats(bShape)
        select (new[] { a, b }, 0);

    // The last `rank` dims of a broadcastable batch shape, padded with leading 1s.
    static int[] Tail(int[] batch, int rank) =>
        Enumerable.Repeat(1, Math.Max(rank - batch.Length, 0)).Concat(batch.Skip(Math.Max(batch.Length - rank, 0))).ToArray();

    static readonly OpTable Ops =
    [
        Op.Create("Reshape", One(Gens.Shape(), SameNumel), (x, s) => x[0].Reshape(s), (x, s) => x[0].reshape(L(s))),
        Op.Create("View of a contiguous tensor",
            from shape in Gens.Shape()
            from x in Gens.Floats(shape, views: false)
            from s in SameNumel(shape)
            select (new[] { x }, s),
            (x, s) => x[0].View(s), (x, s) => x[0].view(L(s))),
        // Whether a view exists depends on the strides: MetaGrad must refuse exactly when libtorch does.
        Op.Create("View of any layout", One(Gens.Shape(), SameNumel), (x, s) => x[0].View(s), (x, s) => x[0].view(L(s)), Expect.Agree, "View"),
        Op.Create("Flatten(start, end)",
            One(Gens.Shape(), shape => from a in Gens.Dim(shape.Length) from b in Gens.Dim(shape.Length) select (a, b))
                .Where(c => Normal(c.Item2.a, c.Item1[0].Shape.Length) <= Normal(c.Item2.b, c.Item1[0].Shape.Length)),
            (x, p) => x[0].Flatten(p.a, p.b), (x, p) => x[0].flatten(p.a, p.b)),
        Op.Create("Permute",
            One(Gens.Shape(), shape => from order in Permutation(shape.Length) from negative in Gen.Bool.Array[shape.Length]
                                       select order.Select((d, i) => negative[i] ? d - shape.Length : d).ToArray()),
            (x, p) => x[0].Permute(p), (x, p) => x[0].permute(L(p))),
        Op.Create("Transpose(dim0, dim1)",
            One(Gens.Shape(), shape => from a in Gens.Dim(shape.Length) from b in Gens.Dim(shape.Length) select (a, b)),
            (x, p) => x[0].Transpose(p.a, p.b), (x, p) => x[0].transpose(p.a, p.b)),
        Op.Create("T", One(Gens.Shape(), _ => Gen.Const(0)), (x, _) => x[0].T, (x, _) => x[0].T),
        Op.Create("MT", One(Gens.Shape(2, 4), _ => Gen.Const(0)), (x, _) => x[0].MT, (x, _) => x[0].mT),
        Op.Create("Squeeze()", One(Gens.Shape(), _ => Gen.Const(0)), (x, _) => x[0].Squeeze(), (x, _) => x[0].squeeze()),
        Op.Create("Squeeze(dim)", One(Gens.Shape(), shape => Gens.Dim(shape.Length)), (x, d) => x[0].Squeeze(d), (x, d) => x[0].squeeze(d)),
        Op.Create("Unsqueeze(dim)", One(Gens.Shape(), shape => Gen.Int[-shape.Length - 1, shape.Length]),
            (x, d) => x[0].Unsqueeze(d), (x, d) => x[0].unsqueeze(d)),
        Op.Create("Expand", One(Gens.Shape(), ExpandTarget), (x, s) => x[0].Expand(s), (x, s) => x[0].expand(L(s))),
        Op.Create("Repeat",
            One(Gens.Shape(), shape => Gen.Int[0, 3].Array[Gen.Int[shape.Length, shape.Length + 2]]),
            (x, r) => x[0].Repeat(r), (x, r) => x[0].repeat(L(r))),
        Op.Create("Flip(dims)", One(Gens.Shape(1, 4), shape => Gens.DimList(shape.Length)), (x, d) => x[0].Flip(d), (x, d) => x[0].flip(L(d))),
        Op.Create("Narrow(dim, start, length)", One(Gens.Shape(1, 4, allowEmpty: false), NarrowArgs),
            (x, p) => x[0].Narrow(p.Dim, p.Start, p.Length), (x, p) => x[0].narrow(p.Dim, p.Start, p.Length)),
        Op.Create("Select(dim, index)",
            One(Gens.Shape(1, 4, allowEmpty: false), shape =>
                from dim in Gens.Dim(shape.Length)
                let size = shape[dim < 0 ? dim + shape.Length : dim]
                from index in Gen.Int[-size, size - 1]
                select (dim, index)),
            (x, p) => x[0].Select(p.dim, p.index), (x, p) => x[0].select(p.dim, p.index)),
        Op.Unary("Contiguous", Values.Normal, x => x.Contiguous(), x => x.contiguous()),
        Op.Unary("Clone", Values.Normal, x => x.Clone(), x => x.clone()),

        Op.Create("Cat(tensors, dim)",
            from shape in Gens.Shape(1, 4)
            from dim in Gens.Dim(shape.Length)
            from sizes in Gens.Size.Array[Gen.Int[1, 3]]
            from parts in Gens.Sequence(sizes.Select(s => Gens.Floats(shape.Select((v, i) => i == Normal(dim, shape.Length) ? s : v).ToArray())))
            from legacyEmpty in Gen.Frequency((5, Gen.Const(false)), (1, Gen.Const(true)))
            select (legacyEmpty ? parts.Append(TensorSpec.Plain(Kind.Float, [0], [], requiresGrad: true)).ToArray() : parts, dim),
            (x, d) => Tensor.Cat(x, d), (x, d) => torch.cat(x, d)),
        Op.Create("Stack(tensors, dim)",
            from shape in Gens.Shape(0, 3)
            from dim in Gen.Int[-shape.Length - 1, shape.Length]
            from count in Gen.Int[1, 3]
            from parts in Gens.Sequence(Enumerable.Range(0, count).Select(_ => Gens.Floats(shape)))
            select (parts, dim),
            (x, d) => Tensor.Stack(x, d), (x, d) => torch.stack(x, d)),
        Op.CreateMany("Split(size, dim)",
            One(Gens.Shape(1, 4), shape => from dim in Gens.Dim(shape.Length) from size in Gen.Int[1, 4] select (dim, size)),
            (x, p) => x[0].Split(p.size, p.dim), (x, p) => x[0].split(p.size, p.dim)),
        Op.CreateMany("Split(sizes, dim)",
            One(Gens.Shape(1, 4), shape =>
                from dim in Gens.Dim(shape.Length)
                from sizes in Composition(shape[Normal(dim, shape.Length)])
                select (dim, sizes)),
            (x, p) => x[0].Split(p.sizes, p.dim), (x, p) => x[0].split(L(p.sizes), p.dim)),
        Op.CreateMany("Unbind(dim)",
            One(Gens.Shape(1, 4), shape => Gens.Dim(shape.Length)),
            (x, dim) => x[0].Unbind(dim), (x, dim) => x[0].unbind(dim)),
        Op.CreateMany("Chunk(chunks, dim)",
            One(Gens.Shape(1, 4), shape => from dim in Gens.Dim(shape.Length) from chunks in Gen.Int[1, 5] select (dim, chunks)),
            (x, p) => x[0].Chunk(p.chunks, p.dim), (x, p) => x[0].chunk(p.chunks, p.dim)),

        Op.Create("Matmul", MatmulCases(), (x, _) => x[0].Matmul(x[1]), (x, _) => x[0].matmul(x[1])),
        Op.Create("Bmm",
            from b in Gens.Size from n in Gens.Size from k in Gens.Size from m in Gens.Size
            from x in Gens.Floats([b, n, k])
            from y in Gens.Floats([b, k, m])
            select (new[] { x, y }, 0),
            (x, _) => x[0].Bmm(x[1]), (x, _) => x[0].bmm(x[1])),
        Op.Create("Mm",
            from n in Gens.Size from k in Gens.Size from m in Gens.Size
            from x in Gens.Floats([n, k])
            from y in Gens.Floats([k, m])
            select (new[] { x, y }, 0),
            (x, _) => x[0].Mm(x[1]), (x, _) => x[0].mm(x[1])),
    ];

    static int Normal(int dim, int rank) => dim < 0 ? dim + Math.Max(rank, 1) : dim;

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();
}
