using CsCheck;
using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>Elementwise arithmetic and math functions, with broadcasting in every direction, and type promotion.</summary>
public class ArithmeticConformance
{
    // A number operand: integral values as often as fractional ones, since a C# integral double
    // joins a tensor like a Python int (it never widens a float tensor).
    static readonly Gen<double> Number = Gen.Frequency((1, Gen.Int[-3, 3].Select(i => (double)i)), (1, Gen.Double[-3, 3]));
    static readonly Gen<double> NonZeroNumber = Gen.Frequency((1, Gen.OneOf(Gen.Const(-2.0), Gen.Const(1.0), Gen.Const(3.0))), (1, Values.AwayFromZero));

    static Op<double> WithNumber(string name, Gen<double> values, Gen<double> numbers, Func<Tensor, double, Tensor> metaGrad, Func<torch.Tensor, double, torch.Tensor> torch) =>
        Op.Unary(name, values, numbers, metaGrad, torch);

    // Integral exponents meet zeros and negative bases; the others only positive bases.
    static readonly Gen<double> IntegralExponent = Gen.OneOf(Gen.Const(0.0), Gen.Const(1.0), Gen.Const(2.0), Gen.Const(3.0));
    static readonly Gen<double> OtherExponent = Gen.OneOf(Gen.Const(-2.0), Gen.Const(-1.0), Gen.Const(-0.5), Gen.Const(0.5), Gen.Const(1.5), Gen.Const(2.5));
    static readonly Gen<double> Bound = Gen.OneOf(Gen.Const(-1.0), Gen.Const(0.0), Gen.Const(1.0), Gen.Double[-2, 2]);

    static readonly OpTable Ops =
    [
        Op.Binary("Add", Values.Normal, Values.Normal, (a, b) => a + b, (a, b) => a + b),
        Op.Binary("Sub", Values.Normal, Values.Normal, (a, b) => a - b, (a, b) => a - b),
        Op.Binary("Mul", Values.Normal, Values.Normal, (a, b) => a * b, (a, b) => a * b),
        Op.Binary("Div", Values.Normal, Values.AwayFromZero, (a, b) => a / b, (a, b) => a / b),
        Op.Binary("Pow(tensor, tensor)", Values.Positive, Values.Normal, (a, b) => a.Pow(b), (a, b) => a.pow(b)),
        // 0 ** b: d/db is taken as 0 for b ≥ 0, d/da is b·0^(b-1) (0, or inf below b = 1).
        Op.Binary("Pow(tensor, tensor) at zero base", Gen.OneOf(Gen.Const(0.0), Values.Positive), Gen.OneOf(Gen.Const(0.0), Gen.Const(0.5), Gen.Const(1.0), Gen.Const(2.0), Gen.Const(3.0)),
            (a, b) => a.Pow(b), (a, b) => a.pow(b)),
        Op.Binary("Maximum", Values.Mixed, Values.Mixed, (a, b) => a.Maximum(b), (a, b) => torch.maximum(a, b)),
        Op.Binary("Minimum", Values.Mixed, Values.Mixed, (a, b) => a.Minimum(b), (a, b) => torch.minimum(a, b)),

        WithNumber("Add(tensor, number)", Values.Normal, Number, (x, s) => x + s, (x, s) => x + PythonNumber.Of(s)),
        WithNumber("Add(number, tensor)", Values.Normal, Number, (x, s) => s + x, (x, s) => PythonNumber.Of(s) + x),
        WithNumber("Sub(tensor, number)", Values.Normal, Number, (x, s) => x - s, (x, s) => x - PythonNumber.Of(s)),
        WithNumber("Sub(number, tensor)", Values.Normal, Number, (x, s) => s - x, (x, s) => PythonNumber.Of(s) - x),
        WithNumber("Mul(tensor, number)", Values.Normal, Number, (x, s) => x * s, (x, s) => x * PythonNumber.Of(s)),
        WithNumber("Mul(number, tensor)", Values.Normal, Number, (x, s) => s * x, (x, s) => PythonNumber.Of(s) * x),
        WithNumber("Div(tensor, number)", Values.Normal, NonZeroNumber, (x, s) => x / s, (x, s) => x / PythonNumber.Of(s)),
        WithNumber("Div(number, tensor)", Values.AwayFromZero, Number, (x, s) => s / x, (x, s) => PythonNumber.Of(s) / x),
        WithNumber("Pow(tensor, integral number)", Values.Mixed, IntegralExponent, (x, p) => x.Pow(p), (x, p) => x.pow(p)),
        WithNumber("Pow(tensor, other number)", Values.Positive, OtherExponent, (x, p) => x.Pow(p), (x, p) => x.pow(p)),

        Op.Unary("Neg", Values.Normal, x => -x, x => -x),
        Op.Unary("Exp", Values.Normal, x => x.Exp(), x => x.exp()),
        Op.Unary("Log", Values.Positive, x => x.Log(), x => x.log()),
        Op.Unary("Log1p", Gen.Double[-0.8, 3], x => x.Log1p(), x => x.log1p()),
        Op.Unary("Sqrt", Values.Positive, x => x.Sqrt(), x => x.sqrt()),
        Op.Unary("Rsqrt", Values.Positive, x => x.Rsqrt(), x => x.rsqrt()),
        Op.Unary("Sin", Values.Normal, x => x.Sin(), x => x.sin()),
        Op.Unary("Cos", Values.Normal, x => x.Cos(), x => x.cos()),
        Op.Unary("Tanh", Values.Normal, x => x.Tanh(), x => x.tanh()),
        Op.Unary("Sigmoid", Values.Normal, x => x.Sigmoid(), x => x.sigmoid()),
        Op.Unary("Relu", Values.Mixed, x => x.Relu(), x => x.relu()),
        Op.Unary("Erf", Values.Normal, x => x.Erf(), x => x.erf()),
        Op.Unary("Abs", Values.Mixed, x => x.Abs(), x => x.abs()),
        Op.Unary("Square", Values.Normal, x => x.Square(), x => x.square()),
        Op.Unary("Reciprocal", Values.AwayFromZero, x => x.Reciprocal(), x => x.reciprocal()),

        // Bounds among the tie values, so elements sit exactly on a bound (the gradient passes there).
        Op.Create("Clamp(min, max)",
            from shape in Gens.Shape()
            from x in Gens.Floats(shape, Values.Mixed)
            from lo in Bound
            from hi in Bound
            select (new[] { x }, (lo, hi)),
            (x, b) => x[0].Clamp(b.lo, b.hi), (x, b) => x[0].clamp(b.lo, b.hi)),
        WithNumber("Clamp(min)", Values.Mixed, Bound, (x, lo) => x.Clamp(min: lo), (x, lo) => x.clamp_min(lo)),
        WithNumber("Clamp(max)", Values.Mixed, Bound, (x, hi) => x.Clamp(max: hi), (x, hi) => x.clamp_max(hi)),

        // Conversions: between float dtypes the gradient converts back; to integers it stops.
        Op.Unary("To(the other float dtype)", Values.Normal,
            x => x.To(x.DType == DType.Float32 ? DType.Float64 : DType.Float32),
            x => x.to_type(x.dtype == torch.ScalarType.Float32 ? torch.ScalarType.Float64 : torch.ScalarType.Float32)),
        Op.Unary("To(Int64)", Values.Normal, x => x.To(DType.Int64), x => x.to_type(torch.ScalarType.Int64)),
        Op.Unary("To(Bool)", Values.Mixed, x => x.To(DType.Bool), x => x.to_type(torch.ScalarType.Bool)),

        // Zero-gradient functions on halves (their gradients: ElementMathConformance).
        Op.Create("Sign, Floor, Ceil, Round", Halves(), (x, _) => Tensor.Stack([x[0].Sign(), x[0].Floor(), x[0].Ceil(), x[0].Round()]),
            (x, _) => torch.stack([x[0].sign(), x[0].floor(), x[0].ceil(), x[0].round()])),

        InPlace("Add_(tensor, alpha)", Values.Normal, (y, o) => y.Add_(o, alpha: -1.5), (y, o) => y.add_(o, -1.5)),
        InPlace("Sub_(tensor)", Values.Normal, (y, o) => y.Sub_(o), (y, o) => y.sub_(o)),
        InPlace("Mul_(tensor)", Values.Normal, (y, o) => y.Mul_(o), (y, o) => y.mul_(o)),
        InPlace("Div_(tensor)", Values.AwayFromZero, (y, o) => y.Div_(o), (y, o) => y.div_(o)),
        InPlace("Copy_(tensor)", Values.Normal, (y, o) => y.Copy_(o), (y, o) => y.copy_(o)),
        InPlace("Clamp_ then Mul_(number)", Values.Normal, (y, _) => y.Clamp_(-1, 1).Mul_(2.5), (y, _) => y.clamp_(-1, 1).mul_(2.5)),

        // Type promotion (PyTorch's result_type): integers meet floats, and 0-d tensors don't widen.
        Op.Create("Add(Int64 tensor, float tensor)",
            from shapes in Gens.BroadcastPair()
            from a in Gens.Indices(shapes.A, -3, 3)
            from b in Gens.Floats(shapes.B)
            select (new[] { a, b }, 0),
            (x, _) => x[0] + x[1], (x, _) => x[0] + x[1]),
        Op.Create("Div(Int64 tensor, Int64 tensor) gives Float32",
            from shapes in Gens.BroadcastPair()
            from a in Gens.Indices(shapes.A, -5, 5)
            from b in Gens.Indices(shapes.B, 1, 4)
            select (new[] { a, b }, 0),
            (x, _) => x[0] / x[1], (x, _) => x[0] / x[1]),
        Op.Create("Pow(Int64 tensor, Int64 tensor)",
            from shapes in Gens.BroadcastPair()
            from a in Gens.Indices(shapes.A, -3, 3)
            from b in Gens.Indices(shapes.B, -3, 4)
            select (new[] { a, b }, 0),
            (x, _) => x[0].Pow(x[1]), (x, _) => x[0].pow(x[1])),
        Op.Create("Mul(Int64 tensor, number)",
            from shape in Gens.Shape()
            from a in Gens.Indices(shape, -3, 3)
            from s in Number
            select (new[] { a }, s),
            (x, s) => x[0] * s, (x, s) => x[0] * PythonNumber.Of(s)),
        Op.Create("Add(tensor, 0-d Float64 tensor) keeps the tensor's dtype",
            from shape in Gens.Shape(minRank: 1)
            from a in Gens.Floats(shape)
            from b in Gens.Floats([])
            select (new[] { a, b }, 0),
            (x, _) => x[0] + x[1].To(DType.Float64), (x, _) => x[0] + x[1].to_type(torch.ScalarType.Float64)),
    ];

    // In place on a clone (a leaf that requires grad refuses in-place writes): the clone takes over
    // the new node as its history, and gradients reach both the original and the operand.
    static Op<int> InPlace(string name, Gen<double> right, Func<Tensor, Tensor, Tensor> metaGrad, Func<torch.Tensor, torch.Tensor, torch.Tensor> torch) =>
        Op.Create(name,
            from shape in Gens.Shape()
            from x in Gens.Floats(shape)
            from otherShape in Gens.Broadcastable(shape)
            from otherNeedsGrad in Gen.Bool
            from other in Gens.Floats(otherShape, right, requiresGrad: otherNeedsGrad)
            select (new[] { x, other }, 0),
            (x, _) => metaGrad(x[0].Clone(), x[1]), (x, _) => torch(x[0].clone(), x[1]));

    // Halves hit round-half-to-even; no gradient is asked for.
    static Gen<(TensorSpec[], int)> Halves() =>
        from shape in Gens.Shape()
        from x in Gens.Floats(shape, Gen.Int[-7, 7].Select(i => i / 2.0), requiresGrad: false)
        select (new[] { x }, 0);

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();
}
