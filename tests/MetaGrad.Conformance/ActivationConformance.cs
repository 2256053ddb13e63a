using CsCheck;
using MetaGrad.Conformance.Harness;
using F = MetaGrad.NN.Functional;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// torch.nn.functional's activations (MetaGrad.NN.Functional), on moderate values with exact zeros
/// (the kinks), and on large magnitudes where a naive formula overflows.
/// </summary>
public class ActivationConformance
{
    static readonly Gen<double> Slope = Gen.OneOf(Gen.Const(0.01), Gen.Const(0.2), Gen.Const(-0.5));
    static readonly Gen<double> Alpha = Gen.OneOf(Gen.Const(1.0), Gen.Const(0.5), Gen.Const(2.0));
    static readonly Gen<(double Beta, double Threshold)> SoftplusArgs =
        from beta in Gen.OneOf(Gen.Const(1.0), Gen.Const(0.5), Gen.Const(2.0))
        from threshold in Gen.OneOf(Gen.Const(20.0), Gen.Const(1.0), Gen.Const(5.0))
        select (beta, threshold);
    static readonly Gen<string> Approximate = Gen.OneOf(Gen.Const("none"), Gen.Const("tanh"));

    static torch.Tensor Gelu(torch.Tensor x, string approximate) =>
        torch.nn.functional.gelu(x, approximate == "tanh" ? TorchSharp.Modules.GELU.Approximate.tanh : TorchSharp.Modules.GELU.Approximate.none);

    static Op<int> Softmaxes(string name, Gen<double> values, Func<Tensor, int, Tensor> metaGrad, Func<torch.Tensor, int, torch.Tensor> torch) =>
        Op.Create(name,
            from shape in Gens.Shape()
            from x in Gens.Floats(shape, values)
            from dim in Gens.Dim(shape.Length)
            select (new[] { x }, dim),
            (x, d) => metaGrad(x[0], d), (x, d) => torch(x[0], d));

    static IEnumerable<Op> Family(string suffix, Gen<double> values) =>
    [
        Op.Unary("Relu" + suffix, values, F.Relu, x => torch.nn.functional.relu(x)),
        Op.Unary("LeakyRelu" + suffix, values, Slope, (x, s) => F.LeakyRelu(x, s), (x, s) => torch.nn.functional.leaky_relu(x, s)),
        Op.Unary("Elu" + suffix, values, Alpha, (x, a) => F.Elu(x, a), (x, a) => torch.nn.functional.elu(x, a)),
        Op.Unary("Gelu" + suffix, values, Approximate, (x, a) => F.Gelu(x, a), Gelu),
        Op.Unary("Sigmoid" + suffix, values, F.Sigmoid, x => torch.nn.functional.sigmoid(x)),
        Op.Unary("LogSigmoid" + suffix, values, F.LogSigmoid, x => torch.nn.functional.logsigmoid(x)),
        Op.Unary("Softplus" + suffix, values, SoftplusArgs, (x, p) => F.Softplus(x, p.Beta, p.Threshold), (x, p) => torch.nn.functional.softplus(x, p.Beta, p.Threshold)),
        Op.Unary("Tanh" + suffix, values, F.Tanh, x => torch.nn.functional.tanh(x)),
        Op.Unary("Silu" + suffix, values, F.Silu, x => torch.nn.functional.silu(x)),
        Softmaxes("Softmax" + suffix, values, F.Softmax, (x, d) => torch.nn.functional.softmax(x, d)),
        Softmaxes("LogSoftmax" + suffix, values, F.LogSoftmax, (x, d) => torch.nn.functional.log_softmax(x, d)),
        Softmaxes("LogSumExp" + suffix, values, (x, d) => x.LogSumExp(d), (x, d) => x.logsumexp(d)),
    ];

    // Moderate values with exact zeros, then ±100, ±1000 and values up to ±120 (stability).
    static readonly OpTable Ops = [.. Family("", Values.Mixed), .. Family(" at large magnitudes", Values.Large)];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();
}
