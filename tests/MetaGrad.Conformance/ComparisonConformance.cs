using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>Comparisons and logic: forward values only (Bool results carry no gradient in either library).</summary>
public class ComparisonConformance
{
    // Ties make == and <= meaningful.
    static Op<int> Compare(string name, Func<Tensor, Tensor, Tensor> metaGrad, Func<torch.Tensor, torch.Tensor, torch.Tensor> torch) =>
        Op.Binary(name, Values.Ties, Values.Ties, metaGrad, torch);

    static Op<double> CompareNumber(string name, Func<Tensor, double, Tensor> metaGrad, Func<torch.Tensor, double, torch.Tensor> torch) =>
        Op.Create(name,
            from shape in Gens.Shape()
            from x in Gens.Floats(shape, Values.Mixed)
            from s in Gen.OneOf(Gen.Const(-1.0), Gen.Const(0.0), Gen.Const(1.0), Gen.Double[-2, 2])
            select (new[] { x }, s),
            (x, s) => metaGrad(x[0], s), (x, s) => torch(x[0], s));

    static Op<int> Logical(string name, Func<Tensor, Tensor, Tensor> metaGrad, Func<torch.Tensor, torch.Tensor, torch.Tensor> torch) =>
        Op.Create(name,
            from shapes in Gens.BroadcastPair()
            from a in Gens.Mask(shapes.A)
            from b in Gens.Mask(shapes.B)
            select (new[] { a, b }, 0),
            (x, _) => metaGrad(x[0], x[1]), (x, _) => torch(x[0], x[1]));

    static readonly OpTable Ops =
    [
        Compare("Eq", (a, b) => a == b, (a, b) => a.eq(b)),
        Compare("Ne", (a, b) => a != b, (a, b) => a.ne(b)),
        Compare("Lt", (a, b) => a < b, (a, b) => a.lt(b)),
        Compare("Le", (a, b) => a <= b, (a, b) => a.le(b)),
        Compare("Gt", (a, b) => a > b, (a, b) => a.gt(b)),
        Compare("Ge", (a, b) => a >= b, (a, b) => a.ge(b)),
        CompareNumber("Eq(number)", (x, s) => x == s, (x, s) => x.eq(s)),
        CompareNumber("Ne(number)", (x, s) => x != s, (x, s) => x.ne(s)),
        CompareNumber("Lt(number)", (x, s) => x < s, (x, s) => x.lt(s)),
        CompareNumber("Le(number)", (x, s) => x <= s, (x, s) => x.le(s)),
        CompareNumber("Gt(number)", (x, s) => x > s, (x, s) => x.gt(s)),
        CompareNumber("Ge(number)", (x, s) => x >= s, (x, s) => x.ge(s)),
        Op.Create("Lt(Int64 tensor, float tensor)",
            from shapes in Gens.BroadcastPair()
            from a in Gens.Indices(shapes.A, -2, 2)
            from b in Gens.Floats(shapes.B, Values.Mixed)
            select (new[] { a, b }, 0),
            (x, _) => x[0] < x[1], (x, _) => x[0].lt(x[1])),
        Logical("And", (a, b) => a & b, (a, b) => a.logical_and(b)),
        Logical("Or", (a, b) => a | b, (a, b) => a.logical_or(b)),
        Logical("Xor", (a, b) => a ^ b, (a, b) => a.logical_xor(b)),
        Op.Create("Not",
            from shape in Gens.Shape()
            from m in Gens.Mask(shape)
            select (new[] { m }, 0),
            (x, _) => ~x[0], (x, _) => x[0].logical_not()),
    ];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();
}
