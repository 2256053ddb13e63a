using CsCheck;
using MetaGrad.Conformance.Harness;
using MetaGrad.Conformance.Training;
using MetaGrad.Conformance.Interop;
using F = MetaGrad.NN.Functional;
using TF = TorchSharp.torch.nn.functional;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// The piecewise and gated activations of torch.nn.functional (relu6, hardtanh, hardswish,
/// hardsigmoid, mish, selu, celu, glu, softmin, softsign, tanhshrink, threshold, prelu): on moderate
/// values with zeros, on quarters in [-8, 8] that land exactly on every kink (±3, ±1, 0, 6), and on
/// large magnitudes. Then the PReLU module, whose parameter must load into torch.nn.PReLU by name.
/// </summary>
public class ActivationBreadthConformance
{
    /// <summary>Multiples of 1/4 in [-8, 8]: exactly the kinks at -3, -1, 0, 1, 3 and 6, and values between.</summary>
    static readonly Gen<double> Kinks = Gen.Int[-32, 32].Select(i => i / 4.0);

    static readonly Gen<(double Min, double Max)> HardtanhBounds =
        Gen.OneOf(Gen.Const((-1.0, 1.0)), Gen.Const((0.0, 6.0)), Gen.Const((-2.0, 0.5)));
    static readonly Gen<(double Threshold, double Value)> ThresholdArgs =
        Gen.OneOf(Gen.Const((0.0, -1.0)), Gen.Const((1.0, 20.0)), Gen.Const((-0.5, 0.5)));
    static readonly Gen<double> Alpha = Gen.OneOf(Gen.Const(1.0), Gen.Const(0.5), Gen.Const(2.0));

    // TorchSharp 0.107's functional hardtanh does not clip to the bounds it is given (0, 6 leaves
    // -3.5 as is), so libtorch's side is hardtanh's definition in libtorch's clamp and where: the
    // gradient passes strictly inside the bounds, as libtorch's hardtanh_backward (and relu6, which
    // the Relu6 rows compare directly) does. See Training/DIFFERENCES.md.
    static torch.Tensor Hardtanh(torch.Tensor x, double min, double max) =>
        torch.where((x > min) & (x < max), x, x.clamp(min, max).detach());

    // libtorch's float64 hardsigmoid_backward multiplies by 1/6 rounded to float (a float constant),
    // which is off by 3e-8; MetaGrad's gradient is 1/6 exactly. So in float64 the oracle is libtorch's
    // kernel outside (-3, 3) and (x + 3)/6 inside, whose gradient libtorch computes as grad/6.
    static torch.Tensor Hardsigmoid(torch.Tensor x) =>
        x.dtype == torch.ScalarType.Float64
            ? torch.where((x > -3) & (x < 3), (x + 3) / 6, TF.hardsigmoid(x).detach())
            : TF.hardsigmoid(x);

    static Op<int> Softmin(string name, Gen<double> values) =>
        Op.Create(name,
            from shape in Gens.Shape()
            from x in Gens.Floats(shape, values)
            from dim in Gens.Dim(shape.Length)
            select (new[] { x }, dim),
            (x, d) => F.Softmin(x[0], d), (x, d) => TF.softmin(x[0], d));

    // The halved dim is doubled, so that its size is even.
    static Op<int> Glu(string name, Gen<double> values) =>
        Op.Create(name,
            from half in Gens.Shape(minRank: 1)
            from dim in Gens.Dim(half.Length)
            let shape = half.Select((s, i) => i == (dim + half.Length) % half.Length ? 2 * s : s).ToArray()
            from x in Gens.Floats(shape, values)
            select (new[] { x }, dim),
            (x, d) => F.Glu(x[0], d), (x, d) => TF.glu(x[0], d));

    // One slope, or one per channel (dim 1) where the input has one.
    static Op<int> Prelu(string name, Gen<double> values) =>
        Op.Create(name,
            from shape in Gens.Shape()
            from perChannel in Gen.Bool
            from x in Gens.Floats(shape, values)
            from w in Gens.Floats([perChannel && shape.Length >= 2 ? shape[1] : 1], Values.Normal)
            select (new[] { x, w }, 0),
            (x, _) => F.Prelu(x[0], x[1]), (x, _) => TF.prelu(x[0], x[1]));

    static IEnumerable<Op> Family(string suffix, Gen<double> values) =>
    [
        Op.Unary("Relu6" + suffix, values, F.Relu6, x => TF.relu6(x)),
        Op.Unary("Hardtanh" + suffix, values, HardtanhBounds, (x, b) => F.Hardtanh(x, b.Min, b.Max), (x, b) => Hardtanh(x, b.Min, b.Max)),
        Op.Unary("Hardswish" + suffix, values, F.Hardswish, x => TF.hardswish(x)),
        Op.Unary("Hardsigmoid" + suffix, values, F.Hardsigmoid, Hardsigmoid),
        Op.Unary("Mish" + suffix, values, F.Mish, x => TF.mish(x)),
        Op.Unary("Selu" + suffix, values, F.Selu, x => TF.selu(x)),
        Op.Unary("Celu" + suffix, values, Alpha, (x, a) => F.Celu(x, a), (x, a) => TF.celu(x, a)),
        Op.Unary("Softsign" + suffix, values, F.Softsign, x => TF.softsign(x)),
        Op.Unary("Tanhshrink" + suffix, values, F.Tanhshrink, x => TF.tanhshrink(x)),
        Op.Unary("Threshold" + suffix, values, ThresholdArgs, (x, t) => F.Threshold(x, t.Threshold, t.Value), (x, t) => TF.threshold(x, t.Threshold, t.Value)),
        Softmin("Softmin" + suffix, values),
        Glu("Glu" + suffix, values),
        Prelu("Prelu" + suffix, values),
    ];

    static readonly OpTable Ops = [.. Family("", Values.Mixed), .. Family(" on the kinks", Kinks), .. Family(" at large magnitudes", Values.Large)];

    public static TheoryData<string> Names => Ops.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();

    [Theory]
    [InlineData(DType.Float32, 1)]
    [InlineData(DType.Float64, 3)]
    public void PReLUModuleLoadsIntoTorchAndAgrees(DType dtype, int channels)
    {
        using var scope = torch.NewDisposeScope();
        var ours = new NN.PReLU(channels, init: 0.1, dtype: dtype);
        using (Autograd.NoGrad()) ours.Weight.Copy_(ModuleConformanceTests.Randn(7, dtype, channels));
        var theirs = torch.nn.PReLU(channels, dtype: TorchBridge.ToTorch(dtype));
        ModuleConformanceTests.LoadInto(theirs, ours);

        var input = ModuleConformanceTests.Randn(1, dtype, 2, 3, 4);
        var x = input.Detach().Clone().RequiresGrad_();
        var tx = TorchBridge.ToTorch(input).requires_grad_();
        var y = ours.Forward(x);
        var ty = theirs.forward(tx);
        var (rtol, atol) = dtype == DType.Float64 ? (1e-12, 1e-14) : (1e-5, 1e-6);
        TorchBridge.AssertClose(ty, y, rtol, atol, "PReLU: output");
        var upstream = ModuleConformanceTests.Randn(99, dtype, 2, 3, 4);
        (y * upstream).Sum().Backward();
        (ty * TorchBridge.ToTorch(upstream)).sum().backward();
        TorchBridge.AssertClose(tx.grad!, x.Grad!, rtol, atol, "PReLU: input gradient");
        ModuleConformanceTests.AssertSameParameterGradients("PReLU", ours, theirs, rtol, atol);
    }
}
