namespace MetaGrad.Tests;

/// <summary>A Function with several outputs: each output has its own gradient, hooks and identity in the graph.</summary>
public class MultiOutputFunctionTests
{
    /// <summary>(sin x, cos x, the index of the largest x) from one node; the index is not differentiable.</summary>
    sealed class SinCosArgMax : MultiOutputFunction
    {
        protected override Tensor[] Forward(Context ctx, Tensor[] inputs)
        {
            ctx.Save(inputs[0]);
            return [inputs[0].Sin(), inputs[0].Cos(), inputs[0].ArgMax()];
        }

        // d/dx = g_sin·cos x − g_cos·sin x, a missing gradient counting as zero.
        protected override Tensor?[] Backward(Context ctx, Tensor?[] grads)
        {
            var x = ctx.Saved[0];
            var dx = Tensor.ZerosLike(x);
            if (grads[0] is { } gs) dx = dx + gs * x.Cos();
            if (grads[1] is { } gc) dx = dx - gc * x.Sin();
            return [dx];
        }
    }

    static Tensor X() => Tensor.From(new[] { 0.5, -1.0, 2.0 }, requiresGrad: true);

    static double[] Map(Tensor x, Func<double, double> f) => x.Detach().ToArray<double>().Select(f).ToArray();

    static void Near(double[] expected, Tensor? actual) =>
        Assert.Equal(expected, actual!.ToArray<double>(), (a, b) => Math.Abs(a - b) < 1e-12);

    [Fact]
    public void BothOutputs_EachBringTheirGradient()
    {
        var x = X();
        var outs = new SinCosArgMax().Apply(x);
        (outs[0] * 2.0 + outs[1] * 3.0).Sum().Backward();
        Near(Map(x, v => 2 * Math.Cos(v) - 3 * Math.Sin(v)), x.Grad);
        Assert.Same(outs[0].GradFn, outs[1].GradFn);
    }

    [Fact]
    public void AnUnusedOutput_ReachesBackwardAsNull()
    {
        var x = X();
        new SinCosArgMax().Apply(x)[1].Sum().Backward();
        Near(Map(x, v => -Math.Sin(v)), x.Grad);
    }

    [Fact]
    public void AnIntegerOutput_StaysOutOfTheGraph()
    {
        var outs = new SinCosArgMax().Apply(X());
        Assert.Equal(2L, outs[2].Item<long>());
        Assert.Null(outs[2].GradFn);
        Assert.False(outs[2].RequiresGrad);
    }

    [Fact]
    public void GradCheck_HoldsForAWeightedSumOfTheOutputs() =>
        Assert.True(Autograd.GradCheck(a =>
        {
            var outs = new SinCosArgMax().Apply(a[0]);
            return (outs[0] * outs[1] + outs[1].Pow(2)).Sum();
        }, [X()]));

    [Fact]
    public void AutogradGrad_WithRespectToOneOutput_GetsThatOutputsGradient()
    {
        var outs = new SinCosArgMax().Apply(X());
        var (s, c) = (outs[0], outs[1]);
        var grads = Autograd.Grad([(s * c * 4.0).Sum()], [c, s]);
        Near(Map(s, v => 4 * v), grads[0]);     // d/dc = 4 s
        Near(Map(c, v => 4 * v), grads[1]);     // d/ds = 4 c
    }

    [Fact]
    public void HooksAndRetainGrad_SeeTheirOwnOutputOnly()
    {
        var x = X();
        var outs = new SinCosArgMax().Apply(x);
        outs[1].RetainGrad();
        var seen = new List<double[]>();
        outs[0].RegisterHook(g => { seen.Add(g.ToArray<double>()); return g * 10.0; });
        (outs[0] + outs[1] * 5.0).Sum().Backward();
        Assert.Equal([[1.0, 1.0, 1.0]], seen);
        Assert.Equal([5.0, 5.0, 5.0], outs[1].Grad!.ToArray<double>());
        Assert.Null(outs[0].Grad);
        Near(Map(x, v => 10 * Math.Cos(v) - 5 * Math.Sin(v)), x.Grad);
    }

    [Fact]
    public void TheBackwardDifferentiatesAgain()
    {
        var x = X();
        var first = Autograd.Grad(new SinCosArgMax().Apply(x)[0].Sum(), x, createGraph: true);   // cos x
        Near(Map(x, v => -Math.Sin(v)), Autograd.Grad(first.Sum(), x));
    }
}
