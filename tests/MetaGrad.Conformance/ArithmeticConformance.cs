using MetaGrad.Conformance.Harness;

namespace MetaGrad.Conformance;

/// <summary>Elementwise arithmetic and math functions, with broadcasting in every direction.</summary>
public class ArithmeticConformance
{
    static readonly OpTable Ops =
    [
        Op.Binary("Add", Values.Normal, Values.Normal, (a, b) => a + b, (a, b) => a + b),
        Op.Binary("Sub", Values.Normal, Values.Normal, (a, b) => a - b, (a, b) => a - b),
        Op.Binary("Mul", Values.Normal, Values.Normal, (a, b) => a * b, (a, b) => a * b),
        Op.Binary("Div", Values.Normal, Values.AwayFromZero, (a, b) => a / b, (a, b) => a / b),
        Op.Unary("Exp", Values.Normal, x => x.Exp(), x => x.exp()),
    ];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();
}
