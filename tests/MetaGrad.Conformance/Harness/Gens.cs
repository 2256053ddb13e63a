using CsCheck;

namespace MetaGrad.Conformance.Harness;

/// <summary>
/// CsCheck generators for the pieces of a case: shapes, dims, values and laid-out inputs. They are
/// built from CsCheck's own primitives, so a failing case shrinks toward fewer dims, smaller sizes,
/// a plain layout and smaller values.
/// </summary>
public static class Gens
{
    /// <summary>A dim size: 0 now and then (where PyTorch allows empty tensors), 1 often (broadcasting, squeeze), else 2 to 4.</summary>
    public static readonly Gen<int> Size = Gen.Frequency((1, Gen.Const(0)), (3, Gen.Const(1)), (8, Gen.Int[2, 4]));

    /// <summary>A dim size of at least 1.</summary>
    public static readonly Gen<int> NonEmptySize = Gen.Frequency((1, Gen.Const(1)), (3, Gen.Int[2, 4]));

    /// <summary>A shape of rank minRank to maxRank (0-d included when minRank is 0).</summary>
    public static Gen<int[]> Shape(int minRank = 0, int maxRank = 4, bool allowEmpty = true) =>
        Gen.Int[minRank, maxRank].SelectMany(rank => (allowEmpty ? Size : NonEmptySize).Array[rank]);

    /// <summary>
    /// Two shapes that broadcast together, in every direction: each is the full shape with some
    /// leading dims dropped and some dims set to 1 ([3, 1] against [1, 4], [4] against [2, 3, 4], ...).
    /// </summary>
    public static Gen<(int[] A, int[] B)> BroadcastPair(int minRank = 0, int maxRank = 4) =>
        from full in Shape(minRank, maxRank)
        from a in Broadcastable(full)
        from b in Broadcastable(full)
        select (a, b);

    /// <summary>A shape that broadcasts to <paramref name="full"/>: leading dims dropped, a quarter of the rest set to 1.</summary>
    public static Gen<int[]> Broadcastable(int[] full) =>
        from drop in Gen.Int[0, full.Length]
        from ones in Gen.Int[0, 3].Array[full.Length]
        select full.Skip(drop).Select((s, i) => ones[i + drop] == 0 ? 1 : s).ToArray();

    /// <summary>A valid dim of a tensor of this rank, negative half the time (a 0-d tensor accepts 0 and -1).</summary>
    public static Gen<int> Dim(int rank) => Gen.Int[-Math.Max(rank, 1), Math.Max(rank, 1) - 1];

    /// <summary>A non-empty list of distinct dims of a tensor of rank ≥ 1, each written positive or negative.</summary>
    public static Gen<int[]> DimList(int rank) =>
        from pick in Gen.Bool.Array[rank]
        from first in Gen.Int[0, rank - 1]
        from negative in Gen.Bool.Array[rank]
        select Enumerable.Range(0, rank).Where(d => pick[d] || d == first).Select(d => negative[d] ? d - rank : d).ToArray();

    /// <summary>A floating input of this shape in any layout (expanded ones only if <paramref name="expand"/>), its leaf requiring grad.</summary>
    public static Gen<TensorSpec> Floats(int[] shape, Gen<double>? values = null, bool requiresGrad = true, bool views = true, bool expand = true) =>
        Laid(Kind.Float, shape, values ?? Values.Normal, requiresGrad, views, expand);

    /// <summary>
    /// A floating input whose leaf values are all distinct (a random order of evenly spaced values),
    /// in a layout that never repeats an element: for operations whose choice among ties is unspecified.
    /// </summary>
    public static Gen<TensorSpec> DistinctFloats(int[] shape) =>
        from spec in Laid(Kind.Float, shape, Gen.Const(0.0), requiresGrad: true, views: true, expand: false)
        from keys in Gen.Int[0, 999].Array[spec.Values.Length]
        let order = Enumerable.Range(0, keys.Length).OrderBy(i => keys[i]).ThenBy(i => i).ToArray()
        select spec with { Values = order.Select(i => (i - keys.Length / 2) * 0.25).ToArray() };

    /// <summary>An Int64 index input of this shape with entries in [low, high], in any layout.</summary>
    public static Gen<TensorSpec> Indices(int[] shape, int low, int high, bool views = true) =>
        Laid(Kind.Int64, shape, Gen.Int[low, Math.Max(low, high)].Select(i => (double)i), false, views);

    /// <summary>A Bool mask input of this shape, in any layout.</summary>
    public static Gen<TensorSpec> Mask(int[] shape, bool views = true) =>
        Laid(Kind.Bool, shape, Gen.Bool.Select(b => b ? 1.0 : 0.0), false, views);

    // Contiguous most often; otherwise a transposed, stepped or expanded view of a leaf.
    static Gen<TensorSpec> Laid(Kind kind, int[] shape, Gen<double> values, bool requiresGrad, bool views, bool expand = true)
    {
        int rank = shape.Length;
        var layouts = new List<(int, IGen<TensorSpec>)>
        {
            (4, values.Array[Numel(shape)].Select(v => new TensorSpec(kind, shape, LayoutKind.Contiguous, shape, v, RequiresGrad: requiresGrad))),
        };
        if (views && rank >= 2)
            layouts.Add((1,
                from d0 in Gen.Int[0, rank - 1]
                from step in Gen.Int[1, rank - 1]
                let d1 = (d0 + step) % rank
                let leaf = Swap(shape, d0, d1)
                from v in values.Array[Numel(leaf)]
                select new TensorSpec(kind, shape, LayoutKind.Transposed, leaf, v, d0, d1, requiresGrad)));
        if (views && rank >= 1)
        {
            layouts.Add((1,
                from d in Gen.Int[0, rank - 1]
                let leaf = shape.Select((s, i) => i == d ? 2 * s : s).ToArray()
                from v in values.Array[Numel(leaf)]
                select new TensorSpec(kind, shape, LayoutKind.Stepped, leaf, v, d, 0, requiresGrad)));
            if (expand) layouts.Add((1,
                from leaf in Broadcastable(shape)
                from v in values.Array[Numel(leaf)]
                select new TensorSpec(kind, shape, LayoutKind.Expanded, leaf, v, 0, 0, requiresGrad)));
        }
        return Gen.Frequency(layouts.ToArray());
    }

    static int[] Swap(int[] shape, int a, int b)
    {
        var s = (int[])shape.Clone();
        (s[a], s[b]) = (s[b], s[a]);
        return s;
    }

    /// <summary>One value from each generator, in order.</summary>
    public static Gen<T[]> Sequence<T>(IEnumerable<Gen<T>> gens) =>
        gens.Aggregate(Gen.Const(Array.Empty<T>()), (acc, g) => from a in acc from v in g select a.Append(v).ToArray());

    /// <summary>The element count of a shape.</summary>
    public static int Numel(IEnumerable<int> shape) => shape.Aggregate(1, (n, s) => n * s);
}

/// <summary>
/// Value distributions for floating inputs. CsCheck's doubles favour simple values (0, ±1, small
/// fractions), so ties happen, and reach down to 1e-300; magnitudes below 1e-6 are taken as 0, since
/// in float32 their squares fall below the normal range and both engines then only round differently.
/// </summary>
public static class Values
{
    static Gen<double> Range(double low, double high) => Gen.Double[low, high].Select(v => Math.Abs(v) < 1e-6 ? 0 : v);

    /// <summary>Moderate values of either sign.</summary>
    public static readonly Gen<double> Normal = Range(-3, 3);

    /// <summary>Strictly positive values, away from 0 (Log, Sqrt, Pow bases).</summary>
    public static readonly Gen<double> Positive = Range(0.2, 4);

    /// <summary>Values of either sign with |x| ≥ 0.5 (divisors).</summary>
    public static readonly Gen<double> AwayFromZero =
        from m in Range(0.5, 3) from negative in Gen.Bool select negative ? -m : m;

    /// <summary>Small integers -2..2: exact ties and exact zeros (max, sort, abs, relu, clamp at a bound).</summary>
    public static readonly Gen<double> Ties = Gen.Int[-2, 2].Select(i => (double)i);

    /// <summary>Multiples of 1/4 in [-4, 4]: sums and means of them are exact, so equal values have exactly zero spread.</summary>
    public static readonly Gen<double> Quarters = Gen.Int[-16, 16].Select(i => i / 4.0);

    /// <summary>Mostly Normal with a share of ties and zeros, for operations that have kinks or pick elements.</summary>
    public static readonly Gen<double> Mixed = Gen.Frequency((3, Normal), (1, Ties));

    /// <summary>Large magnitudes where a naive formula overflows: ±100 and ±1000 among values up to ±120.</summary>
    public static readonly Gen<double> Large = Gen.Frequency(
        (3, Range(-120, 120)),
        (1, Gen.OneOf(Gen.Const(100.0), Gen.Const(-100.0), Gen.Const(1000.0), Gen.Const(-1000.0))));
}
