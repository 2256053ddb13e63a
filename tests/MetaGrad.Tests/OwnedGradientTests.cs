using MetaGrad.Optim;
using MetaGrad.Backends.Cpu;

namespace MetaGrad.Tests;

/// <summary>
/// The backward engine reuses the buffers of gradients it made itself: a leaf's first gradient is
/// the formula's own result (no copy), an intermediate gradient's buffer goes back to the pool once
/// used. Anything a hook, user code or a second holder can reach must stay intact.
/// </summary>
[Collection(ProcessWideState.Name)]   // reads the pool's process-wide count of released buffers
public class OwnedGradientTests
{
    // Large enough (16 KiB) for the pool to take back.
    const int N = 4096;

    static Tensor Leaf() => (Tensor.Arange(N, dtype: DType.Float32) / N).RequiresGrad_();

    static float[] Filled(float v) => Enumerable.Repeat(v, N).ToArray();

    /// <summary>Times its input by 3, remembering the gradient it returned.</summary>
    class Triple : UnaryFunction
    {
        public Tensor? Returned;
        public Tensor? Received;
        protected override Tensor Forward(Context ctx, Tensor x) => x * 3f;
        protected override Tensor? Backward(Context ctx, Tensor grad)
        {
            Received = grad;
            return Returned = grad * 3f;
        }
    }

    /// <summary>The same formula as MetaGrad's own: the engine may take what it returns.</summary>
    sealed class BuiltInTriple : Triple
    {
        internal override bool KeepsNothing => true;
    }

    // Another pass of the same sizes, which takes back from the pool whatever the first gave back.
    static void ChurnThePool()
    {
        for (int i = 0; i < 3; i++)
        {
            var y = Leaf();
            (y * 5f * 7f).Sum().Backward();
        }
    }

    [Fact]
    public void ALeafsFirstGradient_IsTheFormulasOwnBuffer_NotACopy()
    {
        var x = Leaf();
        var f = new BuiltInTriple();
        f.Apply(x).Sum().Backward();
        Assert.Same(f.Returned!.Storage, x.Grad!.Storage);
        Assert.Equal(Filled(3), x.Grad.ToArray<float>());
    }

    [Fact]
    public void AUserFunctionsGradients_AreCopiedAndKeptIntact()
    {
        var x = Leaf();
        var f = new Triple();
        (f.Apply(x * 2f) * 5f).Sum().Backward();
        Assert.NotSame(f.Returned!.Storage, x.Grad!.Storage);
        ChurnThePool();
        Assert.Equal(Filled(5), f.Received!.ToArray<float>());
        Assert.Equal(Filled(15), f.Returned.ToArray<float>());
        Assert.Equal(Filled(30), x.Grad.ToArray<float>());
    }

    [Fact]
    public void AnIntermediateGradient_GoesBackToThePool_OnceUsed()
    {
        var x = Leaf();
        var y = x * 2f * 3f;   // 3's gradient (made by this pass) is used by the 2's node, then free
        long before = BufferPool<float>.Released;
        y.Sum().Backward();
        Assert.Equal(before + 1, BufferPool<float>.Released);
        Assert.Equal(Filled(6), x.Grad!.ToArray<float>());
    }

    [Fact]
    public void OneGradientForTwoLeaves_GivesEachItsOwnBuffer()
    {
        var (a, b) = (Leaf(), Leaf());
        ((a + b) * 2f).Sum().Backward();
        Assert.NotSame(a.Grad!.Storage, b.Grad!.Storage);
        a.Grad.Add_(1f);
        Assert.Equal(Filled(2), b.Grad.ToArray<float>());
        Assert.Equal(Filled(3), a.Grad.ToArray<float>());
    }

    [Fact]
    public void ALeafUsedTwice_SumsBothGradients()
    {
        var x = Leaf();
        (x * 2f * x).Sum().Backward();
        var expected = (x.Detach() * 4f).ToArray<float>();
        Assert.Equal(expected, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void AGradientAHookKept_StaysIntact()
    {
        var x = Leaf();
        var h = x * 2f;
        Tensor? kept = null;
        h.RegisterHook(g => { kept = g; return null; });
        (h * 3f * 5f).Sum().Backward();
        ChurnThePool();
        Assert.Equal(Filled(15), kept!.ToArray<float>());
        Assert.Equal(Filled(30), x.Grad!.ToArray<float>());
    }

    [Fact]
    public void ARetainedGradient_StaysIntact()
    {
        var x = Leaf();
        var h = x * 2f;
        h.RetainGrad();
        (h * 3f * 5f).Sum().Backward();
        ChurnThePool();
        Assert.Equal(Filled(15), h.Grad!.ToArray<float>());
    }

    [Fact]
    public void AutogradGradsResults_StayIntact()
    {
        var x = Leaf();
        var grads = Autograd.Grad([(x * 2f * 3f).Sum()], [x]);
        ChurnThePool();
        Assert.Equal(Filled(6), grads[0]!.ToArray<float>());
    }

    // PyTorch 1.13: g = x.grad; another backward; g is x.grad and holds the sum (AccumulateGrad
    // adds in place when not recording).
    [Fact]
    public void ASecondBackward_AddsIntoTheGradientAlreadyThere()
    {
        var x = Leaf();
        (x * 2f).Sum().Backward();
        var g = x.Grad!;
        (x * 3f).Sum().Backward();
        Assert.Same(g, x.Grad);
        Assert.Equal(Filled(5), g.ToArray<float>());
    }

    [Fact]
    public void AReleasedStorage_FailsLoudly_InsteadOfReadingAnotherTensorsBuffer()
    {
        var t = Tensor.Ones([N]);
        t.Storage.Release();
        var reuse = Tensor.Full([N], 7f);   // may take the released buffer
        Assert.Equal(Filled(7), reuse.ToArray<float>());
        Assert.ThrowsAny<Exception>(() => t.ToArray<float>());
    }

    /// <summary>y = x·e^x, saving x, y and e^x, which it makes for backward alone.</summary>
    class TimesExp : UnaryFunction
    {
        public Tensor? Made;
        protected override Tensor Forward(Context ctx, Tensor x)
        {
            Made = x.Exp();
            var y = x * Made;
            ctx.Save(x, y, Made);
            return y;
        }

        protected override Tensor? Backward(Context ctx, Tensor grad)
        {
            var (x, _, e) = ctx.Saved;
            return grad * e * (x + 1f);
        }
    }

    sealed class BuiltInTimesExp : TimesExp
    {
        internal override bool KeepsNothing => true;
    }

    static float[] TimesExpGradient(Tensor x) => x.Detach().ToArray<float>().Select(v => MathF.Exp(v) * (v + 1)).ToArray();

    [Fact]
    public void ATensorAForwardMadeForBackwardAlone_GoesBackToThePool_AfterBackward()
    {
        var x = Leaf();
        var f = new BuiltInTimesExp();
        var y = f.Apply(x);
        y.Sum().Backward();
        Assert.Equal(0, f.Made!.Storage.Length);                       // given back
        Check.Values(TimesExpGradient(x), x.Grad!, 1e-5f);
        Check.Values(x.Detach().ToArray<float>().Select(v => v * MathF.Exp(v)).ToArray(), y, 1e-5f);   // the output, also saved, stays
    }

    [Fact]
    public void ATensorAForwardMadeForBackward_StaysWhileTheGraphIsKeptOrRecorded()
    {
        var x = Leaf();
        var retained = new BuiltInTimesExp();
        var y = retained.Apply(x).Sum();
        y.Backward(retainGraph: true);
        Assert.Equal(N, retained.Made!.Storage.Length);
        y.Backward();
        Check.Values(TimesExpGradient(x).Select(v => 2 * v).ToArray(), x.Grad!, 1e-5f);

        var recorded = new BuiltInTimesExp();
        var first = Autograd.Grad([recorded.Apply(x).Sum()], [x], createGraph: true)[0]!;
        Assert.Equal(N, recorded.Made!.Storage.Length);
        first.Sum().Backward();   // reads e^x again through the recorded backward
    }

    [Fact]
    public void ATensorAUserForwardMade_IsNeverGivenBack()
    {
        var x = Leaf();
        var f = new TimesExp();
        f.Apply(x).Sum().Backward();
        ChurnThePool();
        Assert.Equal(x.Detach().Exp().ToArray<float>(), f.Made!.ToArray<float>());
    }

    // A parameter, a step of SGD on it, and its gradient's storage (read without showing .Grad to user code).
    static (Tensor Weight, SGD Optimizer, Storage GradStorage) SteppedOnce()
    {
        var w = Leaf();
        var optimizer = new SGD([w], lr: 0.1);
        (w * 3f * 5f).Sum().Backward();
        optimizer.Step();
        return (w, optimizer, w.GradUnseen!.Storage);
    }

    [Fact]
    public void ZeroGrad_GivesAGradientNoOneSaw_BackToThePool()
    {
        var (_, optimizer, storage) = SteppedOnce();
        long released = BufferPool<float>.Released;
        optimizer.ZeroGrad();
        Assert.Equal(released + 1, BufferPool<float>.Released);
        Assert.Throws<IndexOutOfRangeException>(() => ((CpuStorage<float>)storage).Data[0]);   // the storage let its array go
    }

    [Fact]
    public void ZeroGrad_LeavesAGradientUserCodeRead_ToTheCollector()
    {
        var (w, optimizer, _) = SteppedOnce();
        var seen = w.Grad!;
        optimizer.ZeroGrad();
        ChurnThePool();
        Assert.Null(w.Grad);
        Assert.Equal(Filled(15), seen.ToArray<float>());
    }

    [Fact]
    public void ZeroGrad_LeavesAGradientTheUserSet_Alone()
    {
        var w = Leaf();
        var mine = Tensor.Ones(N);
        w.Grad = mine;
        new SGD([w], lr: 0.1).ZeroGrad();
        ChurnThePool();
        Assert.Equal(Filled(1), mine.ToArray<float>());
    }

    /// <summary>An update rule written outside MetaGrad that keeps the gradient it was given.</summary>
    sealed class Hoarder(Tensor p) : Optimizer([new ParamGroup([p])], new Dictionary<string, object> { ["lr"] = 0.1 })
    {
        public Tensor? Kept;
        protected override string? Problem(ParamGroup group) => null;
        protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group) => Kept = grad;
    }

    [Fact]
    public void ZeroGrad_LeavesTheGradientAnOutsideRuleKept_Intact()
    {
        var w = Leaf();
        var optimizer = new Hoarder(w);
        (w * 3f * 5f).Sum().Backward();
        optimizer.Step();
        optimizer.ZeroGrad();
        ChurnThePool();
        Assert.Equal(Filled(15), optimizer.Kept!.ToArray<float>());
    }

    [Fact]
    public void ModuleZeroGrad_GivesBackToo_AndTheNextStepStillLearns()
    {
        var layer = new MetaGrad.NN.Linear(64, 64, generator: new Generator(1));
        var x = Tensor.Randn([8, 64], generator: new Generator(2));
        var optimizer = new SGD(layer.Parameters(), lr: 0.1);
        float Loss() => (layer.Forward(x) * layer.Forward(x)).Mean().Item<float>();
        float first = Loss();
        for (int i = 0; i < 5; i++)
        {
            layer.ZeroGrad();
            (layer.Forward(x) * layer.Forward(x)).Mean().Backward();
            optimizer.Step();
        }
        Assert.True(Loss() < first, "five steps of SGD lowered the loss");
        long released = BufferPool<float>.Released;
        layer.ZeroGrad();
        Assert.True(BufferPool<float>.Released > released, "the weight's gradient went back to the pool");
    }
}
