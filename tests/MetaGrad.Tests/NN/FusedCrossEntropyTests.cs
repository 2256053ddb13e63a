using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>
/// Cross-entropy of logits [N, C] against class indices as one node, held to the log-softmax and
/// gather it replaces (reached here through class weights of one, which take the composed path):
/// values and gradients for each reduction, with ignored targets, on one and two threads; its
/// second derivative; and a target out of range refused with the class count.
/// </summary>
[Collection(ProcessWideState.Name)]
public class FusedCrossEntropyTests
{
    static (Tensor Logits, Tensor Targets) Batch(int n, int c, DType dtype, ulong seed, bool ignoreSome)
    {
        var g = new Generator(seed);
        var logits = (Tensor.Randn([n, c], dtype, generator: g) * 4).RequiresGrad_();
        var ids = Tensor.RandInt(0, c, [n], generator: g).ToArray<long>();
        if (ignoreSome) for (int i = 0; i < n; i += 3) ids[i] = -100;
        return (logits, Tensor.From(ids, [n]));
    }

    [Theory]
    [InlineData(Reduction.Mean, false)]
    [InlineData(Reduction.Mean, true)]
    [InlineData(Reduction.Sum, true)]
    [InlineData(Reduction.None, true)]
    public void ValuesAndGradients_EqualTheComposedLoss(Reduction reduction, bool ignoreSome)
    {
        foreach (var (dtype, tolerance) in new[] { (DType.Float64, 1e-12), (DType.Float32, 2e-5) })
        {
            var (x, t) = Batch(13, 37, dtype, 3, ignoreSome);
            var fused = Losses.CrossEntropy(x, t, reduction: reduction);
            Assert.Contains("CrossEntropyRowsBackward", GraphNames(fused));
            var composed = Losses.CrossEntropy(x, t, weight: Tensor.Ones([37], dtype), reduction: reduction);
            Assert.DoesNotContain("CrossEntropyRowsBackward", GraphNames(composed));
            Assert.True(fused.AllClose(composed, tolerance, tolerance), $"{dtype} loss");
            var upstream = reduction == Reduction.None ? Tensor.Randn([13], dtype, generator: new Generator(4)) : Tensor.Scalar(1.5, dtype);
            var dFused = Autograd.Grad([fused], [x], [upstream])[0]!;
            var dComposed = Autograd.Grad([composed], [x], [upstream])[0]!;
            Assert.True(dFused.AllClose(dComposed, tolerance, tolerance), $"{dtype} gradient");
        }
    }

    static List<string> GraphNames(Tensor y)
    {
        var names = new List<string>();
        var pending = new Stack<Function?>([y.GradFn]);
        while (pending.Count > 0)
            if (pending.Pop() is { } node)
            {
                names.Add(node.Name);
                foreach (var next in node.NextFunctions) pending.Push(next);
            }
        return names;
    }

    [Fact]
    public void ManyRows_OnTwoThreads_GiveTheOneThreadBits()
    {
        var (x, t) = Batch(400, 1000, DType.Float32, 8, true);   // past the parallel threshold
        (Tensor, Tensor) Run(int threads)
        {
            using var _ = ThreadScope.Of(threads);
            var loss = Losses.CrossEntropy(x, t, reduction: Reduction.None);
            return (loss, Autograd.Grad([loss.Sum()], [x])[0]!);
        }
        var (lossOne, gradOne) = Run(1);
        var (lossTwo, gradTwo) = Run(2);
        Assert.True(lossOne.Equal(lossTwo));
        Assert.True(gradOne.Equal(gradTwo));
    }

    [Fact]
    public void SecondDerivative_MatchesFiniteDifferences()
    {
        var (x, t) = Batch(4, 5, DType.Float64, 9, true);
        Assert.True(Autograd.GradCheck(v =>
        {
            var dx = Autograd.Grad([Losses.CrossEntropy(v[0], t)], [v[0]], createGraph: true)[0]!;
            return (dx * dx).Sum();
        }, [x]));
    }

    [Fact]
    public void ATargetOutOfRange_IsRefusedWithTheClassCount()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Losses.CrossEntropy(Tensor.Zeros([2, 3]), Tensor.From(new long[] { 1, 3 }, [2])));
        Assert.Contains("target 3 is out of bounds for 3 classes", error.Message);
    }
}
