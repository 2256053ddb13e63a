using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>Vector and matrix products, diagonals, Kronecker products and einsum, values and gradients.</summary>
public class ProductConformance
{
    static Gen<(TensorSpec[], P)> Two<P>(int[] a, int[] b, P args) =>
        from x in Gens.Floats(a)
        from y in Gens.Floats(b)
        select (new[] { x, y }, args);

    static readonly Gen<double> Scale = Gen.OneOf(Gen.Const(0.5), Gen.Const(1.0), Gen.Const(-2.0));

    static readonly OpTable Ops =
    [
        Op.Create("Outer", from n in Gens.Size from m in Gens.Size from c in Two([n], [m], 0) select c,
            (x, _) => x[0].Outer(x[1]), (x, _) => torch.outer(x[0], x[1])),
        Op.Create("Dot", from n in Gens.Size from c in Two([n], [n], 0) select c,
            (x, _) => x[0].Dot(x[1]), (x, _) => x[0].dot(x[1])),
        Op.Create("Mv", from n in Gens.Size from m in Gens.Size from c in Two([n, m], [m], 0) select c,
            (x, _) => x[0].Mv(x[1]), (x, _) => x[0].mv(x[1])),
        Op.Create("Addmm(beta, alpha)",
            from n in Gens.Size from k in Gens.Size from m in Gens.Size
            from input in Gens.Broadcastable([n, m])
            from i in Gens.Floats(input)
            from a in Gens.Floats([n, k])
            from b in Gens.Floats([k, m])
            from beta in Scale
            from alpha in Scale
            select (new[] { i, a, b }, (beta, alpha)),
            (x, p) => Tensor.Addmm(x[0], x[1], x[2], p.beta, p.alpha), (x, p) => torch.addmm(x[0], x[1], x[2], (float)p.beta, (float)p.alpha)),
        // TorchSharp 0.107's baddbmm binds its operands in another order (it expands batch2 to
        // batch1's shape): the reference is libtorch's bmm, scaled and added (DIFFERENCES.md).
        Op.Create("Baddbmm(beta, alpha)",
            from bs in Gens.Size from n in Gens.Size from k in Gens.Size from m in Gens.Size
            from i in Gens.Floats([bs, n, m])
            from a in Gens.Floats([bs, n, k])
            from b in Gens.Floats([bs, k, m])
            from beta in Scale
            from alpha in Scale
            select (new[] { i, a, b }, (beta, alpha)),
            (x, p) => Tensor.Baddbmm(x[0], x[1], x[2], p.beta, p.alpha), (x, p) => x[0] * p.beta + x[1].bmm(x[2]) * p.alpha),
        Op.Create("Diagonal(offset, dim1, dim2)",
            from shape in Gens.Shape(2, 4)
            from x in Gens.Floats(shape)
            from dim1 in Gens.Dim(shape.Length)
            from shift in Gen.Int[1, shape.Length - 1]
            from offset in Gen.Int[-3, 3]
            select (new[] { x }, (offset, dim1, dim2: (dim1 + shape.Length + shift) % shape.Length)),
            (x, p) => x[0].Diagonal(p.offset, p.dim1, p.dim2), (x, p) => x[0].diagonal(p.offset, p.dim1, p.dim2)),
        Op.Create("DiagEmbed(offset, dim1, dim2)",
            from shape in Gens.Shape(1, 3)
            from x in Gens.Floats(shape)
            from dim1 in Gens.Dim(shape.Length + 1)
            from shift in Gen.Int[1, shape.Length]
            from offset in Gen.Int[-2, 2]
            select (new[] { x }, (offset, dim1, dim2: (dim1 + shape.Length + 1 + shift) % (shape.Length + 1))),
            (x, p) => x[0].DiagEmbed(p.offset, p.dim1, p.dim2), (x, p) => x[0].diag_embed(p.offset, p.dim1, p.dim2)),
        Op.Create("Diag(diagonal)",
            from shape in Gens.Shape(1, 2)
            from x in Gens.Floats(shape)
            from diagonal in Gen.Int[-2, 2]
            select (new[] { x }, diagonal),
            (x, d) => x[0].Diag(d), (x, d) => x[0].diag(d)),
        // Square and wide matrices only: libtorch's trace backward writes the gradient at every
        // (columns + 1)-th element, which for a tall matrix also hits elements off the diagonal
        // (DIFFERENCES.md; ProductTests checks tall ones by finite differences).
        Op.Create("Trace", from n in Gens.Size from extra in Gen.Int[0, 2] from x in Gens.Floats([n, n + extra]) select (new[] { x }, 0),
            (x, _) => x[0].Trace(), (x, _) => x[0].trace()),
        // Contiguous operands: libtorch's kron views its inputs and refuses other layouts.
        Op.Create("Kron",
            from a in Gens.Shape(0, 3)
            from b in Gens.Shape(0, 3)
            from x in Gens.Floats(a, views: false, expand: false)
            from y in Gens.Floats(b, views: false, expand: false)
            select (new[] { x, y }, 0),
            (x, _) => x[0].Kron(x[1]), (x, _) => torch.kron(x[0], x[1])),
        Einsum("ij,jk->ik", [[3, 4], [4, 2]]),
        Einsum("bij,bkj->bik", [[2, 3, 4], [2, 2, 4]]),
        Einsum("ii->i", [[3, 3]]),
        Einsum("ii", [[3, 3]]),
        Einsum("i,j", [[3], [4]]),
        Einsum("...ij,...jk->...ik", [[2, 3, 4], [4, 2]]),
        Einsum("ij,jk,kl->li", [[2, 3], [3, 4], [4, 2]]),
        Einsum("abc,cb->a", [[2, 3, 4], [4, 3]]),
        Einsum("iij,j->ij", [[3, 3, 2], [2]]),
    ];

    static Op<int> Einsum(string equation, int[][] shapes) =>
        Op.Create($"Einsum(\"{equation}\")",
            from specs in Gens.Sequence(shapes.Select(s => Gens.Floats(s)))
            select (specs, 0),
            (x, _) => Tensor.Einsum(equation, x), (x, _) => torch.einsum(equation, x));

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();
}
