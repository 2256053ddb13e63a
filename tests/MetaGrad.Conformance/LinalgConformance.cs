using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// torch.linalg: inverses, solves, determinants, Cholesky, norms, QR, eigh, SVD, pinv and lstsq,
/// values and gradients, on generated matrices made well conditioned inside the call (X + c·I with
/// c above any off-diagonal row sum, X·Xᵀ + n·I), so the gradient also runs through that shift.
/// Decompositions are compared through quantities that do not depend on the arbitrary signs of
/// their vectors (|Q|, |R|, |V|, |U|, |Vh| and the values), whose gradients are defined. libtorch
/// computes in float64 (MetaGrad factorizes in double whatever the dtype), so float32 results are
/// held to float32's tolerance of the exact answer.
/// </summary>
public class LinalgConformance
{
    // Diagonal dominance: |x| ≤ 3, so 3n + 1 on the diagonal outweighs any row of n - 1 others.
    static Tensor Shifted(Tensor x) => x + Tensor.Eye(x.Shape[^1], dtype: x.DType) * (3.0 * x.Shape[^1] + 1);
    static torch.Tensor Shifted(torch.Tensor x) => x + torch.eye(x.shape[^1], dtype: x.dtype) * (3.0 * x.shape[^1] + 1);
    static Tensor Spd(Tensor x) => x.Matmul(x.MT) + Tensor.Eye(x.Shape[^1], dtype: x.DType) * x.Shape[^1];
    static torch.Tensor Spd(torch.Tensor x) => x.matmul(x.mT) + torch.eye(x.shape[^1], dtype: x.dtype) * x.shape[^1];

    // Values without the exact zeros, ties and simple fractions Values.Normal favours, in layouts
    // that never repeat an element: matrices of full rank with distinct singular values, where the
    // decompositions' gradients are defined (a rank-deficient one has no unique gradient to compare).
    static readonly Gen<double> Generic = Gen.UInt.Select(u => -3 + 6 * (unchecked(u * 2654435761u) / 4294967296.0));

    static Gen<TensorSpec> Full(int[] shape) => Gens.Floats(shape, Generic, expand: false);

    // The identity of A [rows..., cols...] seen as a matrix of its first ind dims, in A's shape.
    static Tensor Identity(Tensor a, int ind)
    {
        int rows = a.Shape.Take(ind).Aggregate(1, (p, s) => p * s);
        return Tensor.Eye(rows, dtype: a.DType).Reshape(a.Shape.ToArray());
    }

    static torch.Tensor Identity(torch.Tensor a, int ind)
    {
        long rows = a.shape.Take(ind).Aggregate(1L, (p, s) => p * s);
        return torch.eye(rows, dtype: a.dtype).reshape(a.shape);
    }

    // 20·I for A [2, 3, 6] (or [6, 2, 3], whose dim 0 moves to the end), so that A is well conditioned.
    static Tensor Shift(Tensor a, bool moved) =>
        moved ? Tensor.Eye(6, dtype: a.DType).Reshape(2, 3, 6).Permute(2, 0, 1) * 20.0 : Tensor.Eye(6, dtype: a.DType).Reshape(2, 3, 6) * 20.0;

    static torch.Tensor Shift(torch.Tensor a, bool moved) =>
        moved ? torch.eye(6, dtype: a.dtype).reshape(2, 3, 6).permute(2, 0, 1) * 20.0 : torch.eye(6, dtype: a.dtype).reshape(2, 3, 6) * 20.0;

    static long[]? L(int[]? dims) => dims?.Select(d => (long)d).ToArray();

    static Gen<(TensorSpec[], int)> Squares(Gen<int> size, bool allowEmpty = true) =>
        from batch in Gens.Shape(0, 2, allowEmpty)
        from n in size
        from x in Full([.. batch, n, n])
        select (new[] { x }, 0);

    static Gen<(TensorSpec[], int)> Matrices(int maxRank = 2) =>
        from batch in Gens.Shape(0, maxRank)
        from m in Gens.NonEmptySize
        from n in Gens.NonEmptySize
        from x in Full([.. batch, m, n])
        select (new[] { x }, 0);

    static readonly Gen<double> VectorOrds = Gen.OneOf(Gen.Const(2.0), Gen.Const(1.0), Gen.Const(3.0), Gen.Const(0.0),
        Gen.Const(-1.5), Gen.Const(double.PositiveInfinity), Gen.Const(double.NegativeInfinity));

    static readonly Gen<double> MatrixOrds = Gen.OneOf(Gen.Const(1.0), Gen.Const(-1.0), Gen.Const(2.0), Gen.Const(-2.0),
        Gen.Const(double.PositiveInfinity), Gen.Const(double.NegativeInfinity));

    static Op<P> Create<P>(string name, Gen<(TensorSpec[] Inputs, P Args)> cases, Func<Tensor[], P, Tensor> metaGrad, Func<torch.Tensor[], P, torch.Tensor> torch) =>
        Op.Create(name, cases, metaGrad, torch, oracle: DType.Float64);

    static Op<P> CreateMany<P>(string name, Gen<(TensorSpec[] Inputs, P Args)> cases, Func<Tensor[], P, Tensor[]> metaGrad, Func<torch.Tensor[], P, torch.Tensor[]> torch) =>
        Op.CreateMany(name, cases, metaGrad, torch, oracle: DType.Float64);

    static readonly OpTable Ops =
    [
        Create("Inv", Squares(Gens.Size), (x, _) => Linalg.Inv(Shifted(x[0])), (x, _) => torch.linalg.inv(Shifted(x[0]))),
        Create("Solve(matrix B, broadcast batches)",
            from batches in Gens.BroadcastPair(0, 2)
            from n in Gens.Size
            from k in Gens.Size
            from a in Gens.Floats([.. batches.A, n, n])
            from b in Gens.Floats([.. batches.B, n, k])
            select (new[] { a, b }, 0),
            (x, _) => Linalg.Solve(Shifted(x[0]), x[1]), (x, _) => torch.linalg.solve(Shifted(x[0]), x[1])),
        Create("Solve(vector B)",
            from batch in Gens.Shape(0, 2)
            from n in Gens.Size
            from batched in Gen.Bool
            from a in Gens.Floats([.. batch, n, n])
            from b in Gens.Floats(batched ? [.. batch, n] : [n])
            select (new[] { a, b }, 0),
            (x, _) => Linalg.Solve(Shifted(x[0]), x[1]), (x, _) => torch.linalg.solve(Shifted(x[0]), x[1])),
        Create("Solve(left: false)",
            from batch in Gens.Shape(0, 2)
            from n in Gens.Size
            from k in Gens.Size
            from a in Gens.Floats([.. batch, n, n])
            from b in Gens.Floats([.. batch, k, n])
            select (new[] { a, b }, 0),
            (x, _) => Linalg.Solve(Shifted(x[0]), x[1], left: false), (x, _) => torch.linalg.solve(Shifted(x[0]), x[1], left: false)),
        CreateMany("InvEx", Squares(Gens.Size),
            (x, _) => { var (inverse, info) = Linalg.InvEx(Shifted(x[0])); return [inverse, info]; },
            // TorchSharp 0.107's inv_ex does not return libtorch's inverse (DIFFERENCES.md): the
            // reference is inv, with info 0 for these invertible matrices.
            (x, _) => { var a = Shifted(x[0]); return [torch.linalg.inv(a), torch.zeros(a.shape[..^2], torch.int32)]; }),
        CreateMany("CholeskyEx(upper)",
            from c in Squares(Gens.Size)
            from upper in Gen.Bool
            select (c.Item1, upper),
            (x, upper) => { var (l, info) = Linalg.CholeskyEx(Spd(x[0]), upper); return [l, info]; },
            (x, upper) => { var (l, info) = torch.linalg.cholesky_ex(Spd(x[0])); return [upper ? l.mT : l, info]; }),
        Create("Det", Squares(Gens.Size), (x, _) => Linalg.Det(Shifted(x[0])), (x, _) => torch.linalg.det(Shifted(x[0]))),
        // Without the shift: any matrix; near-singular ones are rare among ±3 values of up to 4×4.
        Create("Det(unshifted)", Squares(Gen.Int[1, 3]), (x, _) => Linalg.Det(x[0] * 0.5), (x, _) => torch.linalg.det(x[0] * 0.5)),
        // Singular: the gradient is the cofactor matrix, which libtorch takes from the SVD too.
        Create("Det(a repeated row)",
            from batch in Gens.Shape(0, 2)
            from n in Gen.Int[2, 4]
            from x in Full([.. batch, n - 1, n])
            select (new[] { x }, 0),
            (x, _) => Linalg.Det(Tensor.Cat([x[0], x[0].Narrow(-2, 0, 1)], -2)),
            (x, _) => torch.linalg.det(torch.cat([x[0], x[0].narrow(-2, 0, 1)], -2))),
        CreateMany("Slogdet", Squares(Gens.Size),
            (x, _) => { var (s, l) = Linalg.Slogdet(Shifted(x[0]) * -1.0); return [s, l]; },
            (x, _) => { var (s, l) = torch.linalg.slogdet(Shifted(x[0]) * -1.0); return [s, l]; }),
        Create("Cholesky", Squares(Gens.Size), (x, _) => Linalg.Cholesky(Spd(x[0])), (x, _) => torch.linalg.cholesky(Spd(x[0]))),
        Create("Cholesky(upper)", Squares(Gens.Size), (x, _) => Linalg.Cholesky(Spd(x[0]), upper: true), (x, _) => torch.linalg.cholesky(Spd(x[0])).mT),
        Create("VectorNorm(ord, dims, keepDim)",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from ord in VectorOrds
            from all in Gen.Bool
            from dims in Gens.DimList(shape.Length)
            from keepDim in Gen.Bool
            select (new[] { x }, (ord, Dims: all ? null : dims, keepDim)),
            (x, p) => Linalg.VectorNorm(x[0], p.ord, p.Dims, p.keepDim),
            (x, p) => torch.linalg.vector_norm(x[0], p.ord, L(p.Dims), p.keepDim)),
        Create("MatrixNorm(ord, keepDim)",
            from c in Matrices()
            from ord in MatrixOrds
            from keepDim in Gen.Bool
            select (c.Item1, (ord, keepDim)),
            (x, p) => Linalg.MatrixNorm(x[0], p.ord, null, p.keepDim),
            (x, p) => torch.linalg.matrix_norm(x[0], p.ord, null, p.keepDim)),
        Create("MatrixNorm(fro or nuc, dims, keepDim)",
            from shape in Gens.Shape(2, 4, allowEmpty: false)
            from x in Full(shape)
            from nuc in Gen.Bool
            from d0 in Gens.Dim(shape.Length)
            from shift in Gen.Int[1, shape.Length - 1]
            from keepDim in Gen.Bool
            select (new[] { x }, (Ord: nuc ? "nuc" : "fro", Dims: new[] { d0, (d0 + shape.Length + shift) % shape.Length }, keepDim)),
            (x, p) => Linalg.MatrixNorm(x[0], p.Ord, p.Dims, p.keepDim),
            (x, p) => torch.linalg.matrix_norm(x[0], p.Ord, L(p.Dims), p.keepDim)),
        Create("Norm(ord over a 1-D or 2-D input)",
            from rank in Gen.Int[1, 2]
            from shape in Gens.Shape(rank, rank, allowEmpty: false)
            from x in rank == 1 ? Gens.Floats(shape) : Full(shape)
            from ord in rank == 1 ? VectorOrds : MatrixOrds
            select (new[] { x }, ord),
            (x, ord) => Linalg.Norm(x[0], ord), (x, ord) => torch.linalg.norm(x[0], ord)),
        Create("Norm(no ord)", from shape in Gens.Shape(0, 3) from x in Gens.Floats(shape) select (new[] { x }, 0),
            (x, _) => Linalg.Norm(x[0]), (x, _) => torch.linalg.norm(x[0])),
        CreateMany("QR(reduced) as |Q|, |R|", Matrices(),
            (x, _) => { var (q, r) = Linalg.QR(x[0]); return [q.Abs(), r.Abs()]; },
            (x, _) => { var (q, r) = torch.linalg.qr(x[0]); return [q.abs(), r.abs()]; }),
        CreateMany("QR(complete, wide) as |Q|, |R|",
            from batch in Gens.Shape(0, 1)
            from m in Gens.NonEmptySize
            from extra in Gen.Int[0, 2]
            from x in Full([.. batch, m, m + extra])
            select (new[] { x }, 0),
            (x, _) => { var (q, r) = Linalg.QR(x[0], "complete"); return [q.Abs(), r.Abs()]; },
            (x, _) => { var (q, r) = torch.linalg.qr(x[0], torch.linalg.QRMode.Complete); return [q.abs(), r.abs()]; }),
        CreateMany("Eigh as values, |vectors|", Squares(Gens.NonEmptySize),
            (x, _) => { var (l, v) = Linalg.Eigh(x[0] + x[0].MT); return [l, v.Abs()]; },
            (x, _) => { var (l, v) = torch.linalg.eigh(x[0] + x[0].mT); return [l, v.abs()]; }),
        Create("Eigvalsh(lower triangle only)", Squares(Gens.Size), (x, _) => Linalg.Eigvalsh(x[0]), (x, _) => torch.linalg.eigvalsh(x[0])),
        CreateMany("SVD(reduced) as |U|, S, |Vh|", Matrices(),
            (x, _) => { var (u, s, vh) = Linalg.SVD(x[0], fullMatrices: false); return [u.Abs(), s, vh.Abs()]; },
            (x, _) => { var (u, s, vh) = torch.linalg.svd(x[0], fullMatrices: false); return [u.abs(), s, vh.abs()]; }),
        CreateMany("SVD(full) as S, |U|, |Vh| of the first min(m, n) vectors", Matrices(),
            (x, _) =>
            {
                var (u, s, vh) = Linalg.SVD(x[0]);
                int k = s.Shape[^1];
                return [s, u.Narrow(-1, 0, k).Abs(), vh.Narrow(-2, 0, k).Abs()];
            },
            (x, _) =>
            {
                var (u, s, vh) = torch.linalg.svd(x[0]);
                long k = s.shape[^1];
                return [s, u.narrow(-1, 0, k).abs(), vh.narrow(-2, 0, k).abs()];
            }),
        Create("Svdvals", Matrices(), (x, _) => Linalg.Svdvals(x[0]), (x, _) => torch.linalg.svdvals(x[0])),
        Create("Pinv", Matrices(), (x, _) => Linalg.Pinv(x[0]), (x, _) => torch.linalg.pinv(x[0])),
        Create("Lstsq(solution)",
            from batch in Gens.Shape(0, 1)
            from m in Gens.NonEmptySize
            from n in Gens.NonEmptySize
            from k in Gens.NonEmptySize
            from a in Full([.. batch, m, n])
            from b in Full([.. batch, m, k])
            select (new[] { a, b }, 0),
            (x, _) => Linalg.Lstsq(x[0], x[1]), (x, _) => torch.linalg.lstsq(x[0], x[1]).Solution),
        Create("SolveTriangular(upper, left, unitriangular)",
            from batch in Gens.Shape(0, 2)
            from n in Gens.Size
            from k in Gens.Size
            from left in Gen.Bool
            from a in Gens.Floats([.. batch, n, n])
            from b in Gens.Floats(left ? [.. batch, n, k] : [.. batch, k, n])
            from upper in Gen.Bool
            from unit in Gen.Bool
            select (new[] { a, b }, (upper, left, unit)),
            (x, p) => Linalg.SolveTriangular(Shifted(x[0]), x[1], p.upper, p.left, p.unit),
            (x, p) => torch.linalg.solve_triangular(Shifted(x[0]), x[1], p.upper, p.left, p.unit)),
        Create("MatrixPower(n)",
            from batch in Gens.Shape(0, 2)
            from size in Gens.Size
            from x in Gens.Floats([.. batch, size, size])
            from n in Gen.Int[-3, 4]
            select (new[] { x }, n),
            (x, n) => Linalg.MatrixPower(Shifted(x[0]) * 0.1, n),
            (x, n) => (Shifted(x[0]) * 0.1).matrix_power(n)),
        Create("MultiDot(vector ends)",
            from dims in Gens.Sequence(Enumerable.Repeat(Gens.NonEmptySize, 5))
            from rowFirst in Gen.Bool
            from columnLast in Gen.Bool
            from a in Gens.Floats(rowFirst ? [dims[0]] : [dims[4], dims[0]])
            from b in Gens.Floats([dims[0], dims[1]])
            from c in Gens.Floats([dims[1], dims[2]])
            from d in Gens.Floats(columnLast ? [dims[2]] : [dims[2], dims[3]])
            select (new[] { a, b, c, d }, 0),
            (x, _) => Linalg.MultiDot(x), (x, _) => torch.linalg.multi_dot(x)),
        Create("Vecdot(dim)",
            from shapes in Gens.BroadcastPair(0, 2)
            from n in Gens.Size
            from x in Gens.Floats([.. shapes.A, n])
            from y in Gens.Floats([.. shapes.B, n])              // libtorch does not broadcast the summed dim
            select (new[] { x, y }, -1),
            (x, d) => Linalg.Vecdot(x[0], x[1], d), (x, d) => torch.linalg.vecdot(x[0], x[1], d)),
        Create("Cross(dim)",
            from batch in Gens.Shape(0, 2)
            from at in Gen.Int[0, batch.Length]
            from x in Gens.Floats([.. batch[..at], 3, .. batch[at..]])
            from y in Gens.Floats([.. batch[..at], 3, .. batch[at..]])
            select (new[] { x, y }, at),
            (x, d) => Linalg.Cross(x[0], x[1], d), (x, d) => torch.linalg.cross(x[0], x[1], d)),
        Create("MatrixRank", Matrices(),
            (x, _) => Linalg.MatrixRank(Tensor.Cat([x[0], x[0].Narrow(-1, 0, 1)], -1)),
            (x, _) => torch.linalg.matrix_rank(torch.cat([x[0], x[0].narrow(-1, 0, 1)], -1))),
        Create("Cond(p)",
            from c in Squares(Gens.NonEmptySize, allowEmpty: false)
            from p in Gen.OneOf(Gen.Const((double?)null), Gen.Const<double?>(2), Gen.Const<double?>(-2), Gen.Const<double?>(1), Gen.Const<double?>(double.PositiveInfinity))
            select (c.Item1, p),
            // libtorch's backward of cond with p = 1 or ∞ aborts the process (DIFFERENCES.md): the
            // reference for those is its own definition, ‖A‖·‖A⁻¹‖.
            (x, p) => Linalg.Cond(Shifted(x[0]), p),
            (x, p) => p is null ? torch.linalg.cond(Shifted(x[0])) : p is 2 or -2 ? torch.linalg.cond(Shifted(x[0]), p.Value)
                : torch.linalg.matrix_norm(Shifted(x[0]), p.Value) * torch.linalg.matrix_norm(torch.linalg.inv(Shifted(x[0])), p.Value)),
        Create("TensorInv(ind)",
            from split in Gen.OneOf(Gen.Const((new[] { 2, 3 }, new[] { 6 })), Gen.Const((new[] { 4 }, new[] { 2, 2 })), Gen.Const((new[] { 2, 2 }, new[] { 2, 2 })))
            from x in Full([.. split.Item1, .. split.Item2])
            select (new[] { x }, split.Item1.Length),
            (x, ind) => Linalg.TensorInv(x[0] + Identity(x[0], ind) * 20.0, ind),
            (x, ind) => torch.linalg.tensorinv(x[0] + Identity(x[0], ind) * 20.0, ind)),
        Create("TensorSolve(dims)",
            from moved in Gen.Bool
            from a in Full(moved ? [6, 2, 3] : [2, 3, 6])
            from b in Full([2, 3])
            select (new[] { a, b }, moved ? new long[] { 0 } : null),
            (x, dims) => Linalg.TensorSolve(x[0] + Shift(x[0], dims is not null), x[1], dims is null ? null : [0]),
            (x, dims) => torch.linalg.tensorsolve(x[0] + Shift(x[0], dims is not null), x[1], dims ?? [])),   // TorchSharp 0.107 throws on null dims
        Create("Vander(N)",
            from shape in Gens.Shape(1, 3, allowEmpty: false)
            from x in Gens.Floats(shape)
            from n in Gen.OneOf(Gen.Const((int?)null), Gen.Int[2, 5].Select(v => (int?)v))
            where n is not null || shape[^1] > 1
            select (new[] { x }, n),
            (x, n) => Linalg.Vander(x[0], n), (x, n) => torch.linalg.vander(x[0], n)),

        Op.Throws("Inv of a singular matrix", "linalg.inv", Squares(Gens.NonEmptySize, allowEmpty: false), (x, _) => Linalg.Inv(x[0] * 0.0), (x, _) => torch.linalg.inv(x[0] * 0.0)),
        Op.Throws("Solve with a singular matrix", "linalg.solve", Squares(Gens.NonEmptySize, allowEmpty: false),
            (x, _) => Linalg.Solve(x[0] * 0.0, x[0]), (x, _) => torch.linalg.solve(x[0] * 0.0, x[0])),
        Op.Throws("Cholesky of a negative-definite matrix", "linalg.cholesky", Squares(Gens.NonEmptySize, allowEmpty: false),
            (x, _) => Linalg.Cholesky(-Spd(x[0])), (x, _) => torch.linalg.cholesky(-Spd(x[0]))),
        Op.Throws("Inv of a non-square matrix", "linalg.inv",
            from m in Gens.NonEmptySize from extra in Gen.Int[1, 2] from x in Gens.Floats([m, m + extra]) select (new[] { x }, 0),
            (x, _) => Linalg.Inv(x[0]), (x, _) => torch.linalg.inv(x[0])),
        Op.Throws("Det of a vector", "linalg.det", from n in Gens.NonEmptySize from x in Gens.Floats([n]) select (new[] { x }, 0),
            (x, _) => Linalg.Det(x[0]), (x, _) => torch.linalg.det(x[0])),
        Op.Throws("Solve with mismatched rows", "linalg.solve",
            from n in Gens.NonEmptySize from a in Gens.Floats([n, n]) from b in Gens.Floats([n + 1, 2]) select (new[] { a, b }, 0),
            (x, _) => Linalg.Solve(x[0], x[1]), (x, _) => torch.linalg.solve(x[0], x[1])),
    ];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();
}
