using MetaGrad.Functions;
using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>
/// The fused attention kernel (tiles of 64 query rows × 64 keys, online softmax) held equal to the
/// composed form it replaces, on shapes that cut the tiles every way: one row, partial tiles, several
/// key blocks that raise a row's maximum, the causal mask with fewer, as many and more queries than keys.
/// </summary>
public class FusedAttentionTests
{
    public static TheoryData<int, int, int, int, bool> Shapes => new()
    {
        { 1, 1, 4, 3, false }, { 5, 7, 8, 8, false }, { 5, 7, 8, 8, true }, { 64, 64, 16, 16, true },
        { 130, 70, 16, 24, false }, { 130, 70, 16, 24, true }, { 70, 200, 32, 8, true }, { 200, 130, 8, 16, true },
        { 65, 129, 12, 12, false },
    };

    static (Tensor Q, Tensor K, Tensor V) Inputs(int l, int s, int e, int ev, DType dtype, ulong seed)
    {
        var g = new Generator(seed);
        // Scores spread wide (×3), so that a later key block often raises a row's maximum.
        return ((Tensor.Randn([2, 3, l, e], dtype, generator: g) * 3).RequiresGrad_(), Tensor.Randn([2, 3, s, e], dtype, generator: g).RequiresGrad_(),
            Tensor.Randn([2, 3, s, ev], dtype, generator: g).RequiresGrad_());
    }

    /// <summary>Whether the fused node is in y's graph (behind the reshapes that restore the batch dims).</summary>
    static bool RanFused(Tensor y)
    {
        for (var node = y.GradFn; node is not null; node = node.NextFunctions.FirstOrDefault(n => n is not null))
            if (node is FusedAttention) return true;
        return false;
    }

    [Theory, MemberData(nameof(Shapes))]
    public void ValuesAndGradients_EqualTheComposedForm_Float64(int l, int s, int e, int ev, bool causal) =>
        Compare(l, s, e, ev, causal, DType.Float64, 1e-12);

    [Theory, MemberData(nameof(Shapes))]
    public void ValuesAndGradients_EqualTheComposedForm_Float32(int l, int s, int e, int ev, bool causal) =>
        Compare(l, s, e, ev, causal, DType.Float32, 2e-5);

    static void Compare(int l, int s, int e, int ev, bool causal, DType dtype, double tolerance)
    {
        var (q, k, v) = Inputs(l, s, e, ev, dtype, (ulong)(l * 31 + s * 7 + e + (causal ? 1 : 0)));
        var gradOutput = Tensor.Randn([2, 3, l, ev], dtype, generator: new Generator(9));
        double scale = 1 / Math.Sqrt(e);
        var fused = Functional.ScaledDotProductAttention(q, k, v, isCausal: causal);
        var composed = FusedAttention.Composed(q, k, v, causal, scale);
        Assert.True(RanFused(fused));
        Assert.True(fused.AllClose(composed, tolerance, tolerance), $"output, l={l} s={s} causal={causal}");
        var fusedGrads = Autograd.Grad([fused], [q, k, v], [gradOutput]);
        var composedGrads = Autograd.Grad([composed], [q, k, v], [gradOutput]);
        string[] names = ["q", "k", "v"];
        for (int i = 0; i < 3; i++)
            Assert.True(fusedGrads[i]!.AllClose(composedGrads[i]!, tolerance, tolerance), $"grad of {names[i]}, l={l} s={s} causal={causal}");
    }

    [Fact]
    public void Gradients_AgainstFiniteDifferences()
    {
        Check.Gradients(t => Functional.ScaledDotProductAttention(t[0], t[1], t[2], isCausal: true), Check.Input([2, 70, 3], 1), Check.Input([2, 66, 3], 2), Check.Input([2, 66, 2], 3));
        Check.Gradients(t => Functional.ScaledDotProductAttention(t[0], t[1], t[2], scale: 0.3), Check.Input([3, 4], 1), Check.Input([67, 4], 2), Check.Input([67, 2], 3));
    }

    // createGraph: the backward falls back to the composed form's graph, so a gradient penalty works.
    [Fact]
    public void SecondDerivatives_EqualTheComposedForm()
    {
        var (q, k, v) = Inputs(9, 11, 4, 3, DType.Float64, 5);
        Tensor Penalty(Tensor y)
        {
            var gq = Autograd.Grad([y.Square().Sum()], [q], createGraph: true)[0]!;
            return gq.Square().Sum();
        }
        var fused = Autograd.Grad([Penalty(Functional.ScaledDotProductAttention(q, k, v, isCausal: true))], [q, k, v]);
        var composed = Autograd.Grad([Penalty(FusedAttention.Composed(q, k, v, true, 0.5))], [q, k, v]);
        for (int i = 0; i < 3; i++) Assert.True(fused[i]!.AllClose(composed[i]!, 1e-10, 1e-10));
    }

    [Fact]
    public void OnlyTheInputsThatNeedIt_GetGradients()
    {
        var (q, k, v) = Inputs(5, 6, 4, 4, DType.Float64, 3);
        var kFixed = k.Detach();
        var y = Functional.ScaledDotProductAttention(q, kFixed, v);
        y.Sum().Backward();
        Assert.NotNull(q.Grad);
        Assert.NotNull(v.Grad);
        Assert.Null(kFixed.Grad);
    }

    // Dropout, or broadcast batch dims, keep the composed form (masks: FusedAttentionMaskTests).
    [Fact]
    public void DropoutAndBroadcasting_UseTheComposedForm()
    {
        var (q, k, v) = Inputs(4, 4, 4, 4, DType.Float64, 2);
        Assert.True(RanFused(Functional.ScaledDotProductAttention(q, k, v)));
        Assert.True(RanFused(Functional.ScaledDotProductAttention(q, k, v, Tensor.Ones([4, 4], DType.Bool))));
        Assert.False(RanFused(Functional.ScaledDotProductAttention(q, k, v, dropoutP: 0.5)));
        Assert.False(RanFused(Functional.ScaledDotProductAttention(q, k[.., ..1], v[.., ..1])));
    }
}

/// <summary>MultiheadAttention's fused path (no weights asked, no padding, no dropout, none or the causal mask) gives the composed path's output.</summary>
public class MultiheadAttentionFusedPathTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void WithoutWeights_EqualsTheComposedPath(bool causal, bool batchFirst)
    {
        var g = new Generator(12);
        var attention = new MultiheadAttention(32, 4, batchFirst: batchFirst, dtype: DType.Float64, generator: g);
        attention.Eval();
        var x = Tensor.Randn(batchFirst ? [3, 70, 32] : [70, 3, 32], DType.Float64, generator: g);
        var mask = causal ? Transformer.GenerateSquareSubsequentMask(70, DType.Float64) : null;
        var (fused, none) = attention.Forward(x, x, x, needWeights: false, attnMask: mask, isCausal: causal);
        var (composed, weights) = attention.Forward(x, x, x, needWeights: true, attnMask: mask, isCausal: causal);
        Assert.Null(none);
        Assert.NotNull(weights);
        Assert.True(fused.AllClose(composed, 1e-12, 1e-12));
    }
}
