using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// Invalid calls of the elementwise math (Tensor.Math.cs) that libtorch rejects: shapes that do not
/// broadcast, dtypes the operation refuses or that must match, an integer divisor of zero. MetaGrad
/// must throw too, naming the operation.
/// </summary>
public class ElementMathErrorConformance
{
    // Shapes whose last dims are different sizes of at least 2, the first with leading dims: [.., a] against [b].
    static readonly Gen<(int[] A, int[] B)> Clashing =
        from lead in Gens.Shape(0, 2, allowEmpty: false)
        from a in Gen.Int[2, 4]
        from b in Gen.Int[2, 4]
        from swap in Gen.Bool
        let first = lead.Append(a).ToArray()
        let second = new[] { a == b ? a + 1 : b }
        select swap ? (second, first) : (first, second);

    static Op<int> Clash(string op, Func<Tensor, Tensor, Tensor> metaGrad, Func<torch.Tensor, torch.Tensor, torch.Tensor> torch) =>
        Op.Throws($"{op} of shapes that do not broadcast", op,
            from shapes in Clashing
            from a in Gens.Floats(shapes.A)
            from b in Gens.Floats(shapes.B, Values.AwayFromZero)
            select (new[] { a, b }, 0),
            (x, _) => metaGrad(x[0], x[1]), (x, _) => torch(x[0], x[1]));

    static Op<int> Integers(string name, string op, Func<Tensor, Tensor, Tensor> metaGrad, Func<torch.Tensor, torch.Tensor, torch.Tensor> torch) =>
        Op.Throws(name, op,
            from shape in Gens.Shape(0, 3, allowEmpty: false)
            from a in Gens.Indices(shape, -3, 3)
            from b in Gens.Indices(shape, 1, 3)
            select (new[] { a, b }, 0),
            (x, _) => metaGrad(x[0], x[1]), (x, _) => torch(x[0], x[1]));

    // The other float dtype than the one under test.
    static DType Other(Tensor x) => x.DType == DType.Float32 ? DType.Float64 : DType.Float32;
    static torch.ScalarType Other(torch.Tensor x) => x.dtype == torch.ScalarType.Float32 ? torch.ScalarType.Float64 : torch.ScalarType.Float32;

    static readonly OpTable Ops =
    [
        Clash("Atan2", (a, b) => a.Atan2(b), (a, b) => a.atan2(b)),
        Clash("Hypot", (a, b) => a.Hypot(b), (a, b) => a.hypot(b)),
        Clash("Copysign", (a, b) => a.Copysign(b), (a, b) => a.copysign(b)),
        Clash("Xlogy", (a, b) => a.Xlogy(b), (a, b) => a.xlogy(b)),
        Clash("Fmod", (a, b) => a.Fmod(b), (a, b) => a.fmod(b)),
        Clash("Remainder", (a, b) => a.Remainder(b), (a, b) => a.remainder(b)),
        Clash("Lerp", (a, b) => a.Lerp(b, 0.25), (a, b) => a.lerp(b, torch.tensor(0.25, a.dtype))),
        Clash("Addcmul", (a, b) => a.Addcmul(b, b), (a, b) => a.addcmul(b, b, 1)),
        Clash("Addcdiv", (a, b) => a.Addcdiv(a, b), (a, b) => a.addcdiv(a, b, 1)),

        Op.Throws("Lerp with end of another dtype", "Lerp",
            from shape in Gens.Shape()
            from a in Gens.Floats(shape)
            from b in Gens.Floats(shape)
            select (new[] { a, b }, 0),
            (x, _) => x[0].Lerp(x[1].To(Other(x[1])), 0.5), (x, _) => x[0].lerp(x[1].to_type(Other(x[1])), torch.tensor(0.5, x[0].dtype))),
        Op.Throws("Lerp with a weight of another dtype", "Lerp",
            from shape in Gens.Shape(minRank: 1)   // a 0-d weight of another float dtype is converted
            from a in Gens.Floats(shape)
            from w in Gens.Floats(shape)
            select (new[] { a, w }, 0),
            (x, _) => x[0].Lerp(x[0], x[1].To(Other(x[1]))), (x, _) => x[0].lerp(x[0], x[1].to_type(Other(x[1])))),
        Integers("Lerp of Int64 tensors", "Lerp", (a, b) => a.Lerp(b, b), (a, b) => a.lerp(b, b)),
        Integers("Fmod by an Int64 zero", "Fmod", (a, b) => a.Fmod(b * 0.0), (a, b) => a.fmod(b * 0)),
        Integers("Remainder by an Int64 zero", "Remainder", (a, b) => a.Remainder(b * 0.0), (a, b) => a.remainder(b * 0)),
        Op.Throws("Addcdiv of Int64 tensors", "Addcdiv",
            from shape in Gens.Shape(0, 3, allowEmpty: false)
            from s in Gens.Floats(shape)
            from a in Gens.Indices(shape, -3, 3)
            from b in Gens.Indices(shape, 1, 3)
            select (new[] { s, a, b }, 0),
            (x, _) => x[0].Addcdiv(x[1], x[2]), (x, _) => x[0].addcdiv(x[1], x[2], 1)),
        Integers("Hypot of Int64 tensors", "Hypot", (a, b) => a.Hypot(b), (a, b) => a.hypot(b)),
        Integers("Frac of an Int64 tensor", "Frac", (a, _) => a.Frac(), (a, _) => a.frac()),
        Integers("Round(decimals) of an Int64 tensor", "Round", (a, _) => a.Round(1), (a, _) => a.round(1)),

        Op.Throws("IsClose of another dtype", "IsClose",
            from shape in Gens.Shape()
            from a in Gens.Floats(shape)
            from b in Gens.Floats(shape)
            select (new[] { a, b }, 0),
            (x, _) => x[0].IsClose(x[1].To(Other(x[1]))), (x, _) => x[0].isclose(x[1].to_type(Other(x[1])))),
        Op.Throws("IsClose(equalNan) with other broadcast beyond self", "IsClose",
            from shape in Gens.Shape(0, 2, allowEmpty: false)
            from extra in Gen.Int[2, 4]
            from a in Gens.Floats(shape)
            from b in Gens.Floats([extra, .. shape])
            select (new[] { a, b }, 0),
            (x, _) => x[0].IsClose(x[1], equalNan: true), (x, _) => x[0].isclose(x[1], 1e-5, 1e-8, true)),
        Op.Throws("IsClose with a negative rtol", "IsClose",
            from shape in Gens.Shape()
            from a in Gens.Floats(shape)
            select (new[] { a }, 0),
            (x, _) => x[0].IsClose(x[0], rtol: -1e-3), (x, _) => x[0].isclose(x[0], rtol: -1e-3)),
    ];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void RejectedByBoth(string op) => Ops[op].Check();
}
