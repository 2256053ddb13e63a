namespace MetaGrad.Tests;

public class AutogradTests
{
    [Fact]
    public void Grad_RunsOnlyTheNodesBetweenOutputsAndInputs()
    {
        var x = Tensor.From(new[] { 1.0, 2.0 }).RequiresGrad_();
        var y = x.Exp();
        var z = (y * y).Sum();
        // dz/dy = 2y; Exp's backward neither runs nor frees its saved output, so y can still backward.
        Check.Values([2 * Math.E, 2 * Math.Exp(2)], Autograd.Grad(z, y), 1e-12);
        Assert.Null(x.Grad);
        y.Backward(Tensor.OnesLike(y));
        Check.Values([Math.E, Math.Exp(2)], x.Grad!, 1e-12);
    }

    [Fact]
    public void Backward_AccumulatesIntoLeavesAcrossCalls()
    {
        var x = Tensor.From(new float[] { 1, 2, 3 }, requiresGrad: true);
        (x * x).Sum().Backward();
        (x * 3f).Sum().Backward();
        Assert.Equal(new float[] { 5, 7, 9 }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void Backward_SumsGradientsOfATensorUsedTwice()
    {
        var x = Tensor.From(2.0, requiresGrad: true);
        var y = x * x;        // y used twice below: the engine must wait for both paths
        var z = y * y + y;    // x⁴ + x² → 4x³ + 2x = 36
        z.Backward();
        Assert.Equal(36.0, x.Grad!.Item<double>());
    }

    [Fact]
    public void Backward_VisitsEachNodeOnceInADiamond()
    {
        var x = Tensor.From(new double[] { 1, 2 }, requiresGrad: true);
        var a = x.Exp();
        var b = a * 2.0;
        var c = a * 3.0;
        int calls = 0;
        a.RegisterHook(g => { calls++; return null; });
        (b + c).Sum().Backward();
        Assert.Equal(1, calls);
        Check.Values(new[] { 5 * Math.E, 5 * Math.Exp(2) }, x.Grad!);
    }

    [Fact]
    public void CreateGraph_SecondDerivativeOfCubeIsSixX()
    {
        var x = Tensor.From(new double[] { 1, 2, -3 }, requiresGrad: true);
        var y = x.Pow(3).Sum();
        var dx = Autograd.Grad(y, x, createGraph: true);
        Check.Values([3, 12, 27], dx);
        var d2x = Autograd.Grad(dx.Sum(), x);
        Check.Values([6, 12, -18], d2x);
    }

    [Fact]
    public void CreateGraph_ThroughBackwardAccumulatesDifferentiableGrad()
    {
        var x = Tensor.From(3.0, requiresGrad: true);
        (x * x * x).Backward(createGraph: true);
        var g = x.Grad!;
        Assert.True(g.RequiresGrad);
        Assert.Equal(27.0, g.Item<double>());
        x.Grad = null;
        g.Backward();
        Assert.Equal(18.0, x.Grad!.Item<double>());
    }

    [Fact]
    public void HigherOrder_ThirdDerivativeOfSigmoidMatchesFormula()
    {
        var x = Tensor.From(0.3, requiresGrad: true);
        var s = x.Sigmoid();
        var d1 = Autograd.Grad(s, x, createGraph: true);
        var d2 = Autograd.Grad(d1, x, createGraph: true);
        var d3 = Autograd.Grad(d2, x);
        double sv = 1 / (1 + Math.Exp(-0.3));
        Assert.Equal(sv * (1 - sv), d1.Item<double>(), 12);
        Assert.Equal(sv * (1 - sv) * (1 - 2 * sv), d2.Item<double>(), 12);
        Assert.Equal(sv * (1 - sv) * (1 - 6 * sv + 6 * sv * sv), d3.Item<double>(), 12);
    }

    [Fact]
    public void RetainGraph_AllowsASecondBackward()
    {
        var x = Tensor.From(new double[] { 1, 2 }, requiresGrad: true);
        var y = (x * x).Sum();
        y.Backward(retainGraph: true);
        y.Backward();
        Check.Values([4, 8], x.Grad!);
    }

    [Fact]
    public void RetainGrad_KeepsTheGradientOfANonLeaf()
    {
        var x = Tensor.From(new double[] { 1, 2 }, requiresGrad: true);
        var h = x * 3.0;
        h.RetainGrad();
        (h * h).Sum().Backward();
        Check.Values([6, 12], h.Grad!);
        Check.Values([18, 36], x.Grad!);
    }

    [Fact]
    public void RegisterHook_CanReplaceTheGradient()
    {
        var x = Tensor.From(new double[] { 1, 2 }, requiresGrad: true);
        x.RegisterHook(g => g * 10.0);
        (x * x).Sum().Backward();
        Check.Values([20, 40], x.Grad!);
    }

    [Fact]
    public void NoGrad_StopsRecordingOnThisThreadOnly()
    {
        var x = Tensor.From(new double[] { 1, 2 }, requiresGrad: true);
        Tensor inside;
        bool otherThreadRecords = false;
        using (Autograd.NoGrad())
        {
            inside = x * 2.0;
            var t = new Thread(() => otherThreadRecords = (x * 2.0).RequiresGrad);
            t.Start();
            t.Join();
            using (Autograd.EnableGrad()) Assert.True((x * 2.0).RequiresGrad);
        }
        Assert.False(inside.RequiresGrad);
        Assert.Null(inside.GradFn);
        Assert.True(otherThreadRecords);
        Assert.True((x * 2.0).RequiresGrad);
    }

    [Fact]
    public void Grad_DoesNotTouchDotGradAndReturnsPerInput()
    {
        var a = Tensor.From(new double[] { 1, 2 }, requiresGrad: true);
        var b = Tensor.From(new double[] { 3, 4 }, requiresGrad: true);
        var h = a * b;
        var grads = Autograd.Grad([(h * a).Sum()], [a, b, h]);
        Check.Values([6, 16], grads[0]!);   // d(a²b)/da = 2ab
        Check.Values([1, 4], grads[1]!);    // a²
        Check.Values([1, 2], grads[2]!);    // d(h·a)/dh = a
        Assert.Null(a.Grad);
    }

    [Fact]
    public void Grad_UnusedInput_ThrowsUnlessAllowed()
    {
        var a = Tensor.From(1.0, requiresGrad: true);
        var b = Tensor.From(1.0, requiresGrad: true);
        var y = a * 2.0;
        var ex = Assert.Throws<InvalidOperationException>(() => Autograd.Grad([y], [b], retainGraph: true));
        Assert.Contains("not have been used", ex.Message);
        Assert.Null(Autograd.Grad([y], [b], allowUnused: true)[0]);
    }

    [Fact]
    public void Detach_SharesStorageButLeavesTheGraph()
    {
        var x = Tensor.From(new double[] { 1, 2 }, requiresGrad: true);
        var y = x * 2.0;
        var d = y.Detach();
        Assert.False(d.RequiresGrad);
        using (Autograd.NoGrad()) y.Add_(1.0);
        Check.Values([3, 5], d);
    }

    [Fact]
    public void InPlaceOnNonLeaf_RebasesHistory()
    {
        var x = Tensor.From(new double[] { 1, 2, 3 }, requiresGrad: true);
        var y = x * 2.0;
        y.Add_(x);            // y = 3x
        y.Mul_(x);            // y = 3x² → dy/dx = 6x
        Assert.Equal("MulBackward", y.GradFn!.Name);
        y.Sum().Backward();
        Check.Values([6, 12, 18], x.Grad!);
    }

    [Fact]
    public void IndexAssignment_GradientSkipsOverwrittenPositions()
    {
        var x = Tensor.From(new float[] { 1, 2, 3, 4 }, requiresGrad: true);
        var v = Tensor.From(new float[] { 10, 20 }, requiresGrad: true);
        var y = x * 1f;
        y[1..3] = v;
        Assert.Equal(new float[] { 1, 10, 20, 4 }, y.ToArray<float>());
        (y * Tensor.From(new float[] { 1, 2, 3, 4 })).Sum().Backward();
        Assert.Equal(new float[] { 1, 0, 0, 4 }, x.Grad!.ToArray<float>());
        Assert.Equal(new float[] { 2, 3 }, v.Grad!.ToArray<float>());
    }

    [Fact]
    public void MaskedIndexAssignment_WithoutGrad_WritesInPlaceAndSharesWithViews()
    {
        var x = Tensor.From(new float[,] { { 1, -2 }, { -3, 4 } });
        var row = x[1];
        x[x < 0f] = Tensor.From(0f);
        Assert.Equal(new float[] { 1, 0, 0, 4 }, x.ToArray<float>());
        Assert.Equal(new float[] { 0, 4 }, row.ToArray<float>());
        Assert.Equal(1, x.Version);
    }

    [Fact]
    public void CustomFunction_WorksLikeTorchAutogradFunction()
    {
        var x = Tensor.From(new double[] { 0.5, -1, 2 }, requiresGrad: true);
        var y = new Cube().Apply(x);
        Assert.Equal("CubeBackward", y.GradFn!.Name);
        y.Sum().Backward();
        Check.Values([0.75, 3, 12], x.Grad!);
        Assert.True(Autograd.GradCheck(t => new Cube().Apply(t[0]), [Check.Input(3, 2)]));
    }

    sealed class Cube : UnaryFunction
    {
        protected override Tensor Forward(Context ctx, Tensor x)
        {
            ctx.Save(x);
            return x * x * x;
        }

        protected override Tensor Backward(Context ctx, Tensor grad)
        {
            var (x, _) = (ctx.Saved[0], 0);
            return grad * 3.0 * x * x;
        }
    }
}
