using MetaGrad.Functions;
using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>
/// The fused attention kernel under a mask of the caller's own (a Bool mask, true where a position
/// takes part, or a floating one added to the scores; broadcast over batch, heads or query rows)
/// held equal to the composed form: values and the gradients of q, k and v, rows with every key
/// masked included (zeros, as PyTorch's safe softmax, never NaN), on shapes that cut the 64 × 64
/// tiles every way.
/// </summary>
public class FusedAttentionMaskTests
{
    public static TheoryData<int, int, string> Cases()
    {
        var cases = new TheoryData<int, int, string>();
        foreach (var (l, s) in new[] { (5, 7), (130, 70), (70, 200), (65, 129) })
            foreach (var kind in new[] { "padding", "float", "rows", "heads", "short", "band" })
                cases.Add(l, s, kind);
        return cases;
    }

    /// <summary>
    /// padding: each batch entry's last keys masked ([2, 1, 1, S], Bool); float: an additive [L, S]
    /// with some −∞; rows: a Bool [2, 3, L, S] with whole rows masked; heads: an additive [3, 1, S];
    /// short: entry 1 keeps only 10 keys, so whole key blocks are hidden; band: an additive [L, S]
    /// hiding every key past 40 for every row, whole tiles of a mask that varies by row.
    /// </summary>
    static Tensor Mask(string kind, int l, int s, DType dtype, Generator g) => kind switch
    {
        "padding" => Tensor.Arange(s).Reshape(1, 1, 1, s) < Tensor.From(new double[] { s, Math.Max(1, s - 5) }).Reshape(2, 1, 1, 1),
        "float" => (Tensor.Randn([l, s], dtype, generator: g) * 2).MaskedFill(Tensor.Rand([l, s], generator: g) < 0.2, double.NegativeInfinity),
        "rows" => (Tensor.Rand([2, 3, l, s], generator: g) < 0.7) & (Tensor.Rand([2, 3, l, 1], generator: g) >= 0.1),
        "short" => Tensor.Arange(s).Reshape(1, 1, 1, s) < Tensor.From(new double[] { s, Math.Min(s, 10) }).Reshape(2, 1, 1, 1),
        "band" => Tensor.Randn([l, s], dtype, generator: g).MaskedFill(Tensor.Arange(s).Reshape(1, s) > 40.0, double.NegativeInfinity),
        _ => Tensor.Randn([3, 1, s], dtype, generator: g),
    };

    static (Tensor Q, Tensor K, Tensor V) Inputs(int l, int s, DType dtype, Generator g) =>
        ((Tensor.Randn([2, 3, l, 8], dtype, generator: g) * 3).RequiresGrad_(), Tensor.Randn([2, 3, s, 8], dtype, generator: g).RequiresGrad_(),
            Tensor.Randn([2, 3, s, 6], dtype, generator: g).RequiresGrad_());

    /// <summary>How many times the fused node ran inside <paramref name="body"/>.</summary>
    static int FusedRuns(Action body)
    {
        using var profile = Profiler.Record();
        body();
        return profile.Events.Count(e => e.Name == nameof(FusedAttention));
    }

    [Theory, MemberData(nameof(Cases))]
    public void ValuesAndGradients_EqualTheComposedForm_Float64(int l, int s, string kind) => Compare(l, s, kind, DType.Float64, 1e-12);

    [Theory, MemberData(nameof(Cases))]
    public void ValuesAndGradients_EqualTheComposedForm_Float32(int l, int s, string kind) => Compare(l, s, kind, DType.Float32, 3e-5);

    static void Compare(int l, int s, string kind, DType dtype, double tolerance)
    {
        var g = new Generator((ulong)(l * 13 + s + kind.Length));
        var (q, k, v) = Inputs(l, s, dtype, g);
        var mask = Mask(kind, l, s, dtype, g);
        var gradOutput = Tensor.Randn([2, 3, l, 6], dtype, generator: g);
        Tensor fused = null!;
        Assert.Equal(1, FusedRuns(() => fused = Functional.ScaledDotProductAttention(q, k, v, mask)));
        var composed = Functional.ComposedAttention(q, k, v, mask, 0, false, 1 / Math.Sqrt(8), null);
        Assert.False(fused.IsNaN().Any(), $"{kind}: NaN in the output");
        Assert.True(fused.AllClose(composed, tolerance, tolerance), $"output, {kind}, l={l} s={s}");
        var fusedGrads = Autograd.Grad([fused], [q, k, v], [gradOutput]);
        var composedGrads = Autograd.Grad([composed], [q, k, v], [gradOutput]);
        string[] names = ["q", "k", "v"];
        for (int i = 0; i < 3; i++)
            Assert.True(fusedGrads[i]!.AllClose(composedGrads[i]!, tolerance, tolerance), $"grad of {names[i]}, {kind}, l={l} s={s}");
    }

    // A row whose keys are all masked attends to nothing: zeros, and no gradient through it.
    [Fact]
    public void AFullyMaskedRow_GivesZeros_AndNoGradient()
    {
        var g = new Generator(4);
        var (q, k, v) = Inputs(3, 70, DType.Float64, g);
        var mask = Tensor.Ones([3, 70], DType.Bool);
        mask[1] = Tensor.Zeros([70], DType.Bool);
        var y = Functional.ScaledDotProductAttention(q, k, v, mask);
        Assert.Equal(new double[2 * 3 * 6], y[.., .., 1].Contiguous().ToArray<double>());
        var gq = Autograd.Grad([y.Sum()], [q])[0]!;
        Assert.Equal(new double[2 * 3 * 8], gq[.., .., 1].Contiguous().ToArray<double>());
        Assert.NotEqual(0.0, gq[.., .., 0].Abs().Sum().Item<double>());
    }

    [Fact]
    public void Gradients_AgainstFiniteDifferences()
    {
        var bias = (Tensor.Randn([67, 66], DType.Float64, generator: new Generator(7)) * 2).MaskedFill(Tensor.Rand([67, 66], generator: new Generator(8)) < 0.3, double.NegativeInfinity);
        Check.Gradients(t => Functional.ScaledDotProductAttention(t[0], t[1], t[2], bias), Check.Input([2, 67, 3], 1), Check.Input([2, 66, 3], 2), Check.Input([2, 66, 2], 3));
        var padding = Tensor.Arange(66).Reshape(1, 1, 66) < Tensor.From(new double[] { 66, 40 }).Reshape(2, 1, 1);
        Check.Gradients(t => Functional.ScaledDotProductAttention(t[0], t[1], t[2], padding), Check.Input([2, 5, 3], 4), Check.Input([2, 66, 3], 5), Check.Input([2, 66, 2], 6));
    }

    // createGraph through a masked fused node: the composed form's graph, mask included.
    [Fact]
    public void SecondDerivatives_EqualTheComposedForm()
    {
        var g = new Generator(6);
        var (q, k, v) = Inputs(9, 11, DType.Float64, g);
        var mask = Mask("float", 9, 11, DType.Float64, g);
        Tensor Penalty(Tensor y) => Autograd.Grad([y.Square().Sum()], [q], createGraph: true)[0]!.Square().Sum();
        var fused = Autograd.Grad([Penalty(Functional.ScaledDotProductAttention(q, k, v, mask))], [q, k, v]);
        var composed = Autograd.Grad([Penalty(Functional.ComposedAttention(q, k, v, mask, 0, false, 1 / Math.Sqrt(8), null))], [q, k, v]);
        for (int i = 0; i < 3; i++) Assert.True(fused[i]!.AllClose(composed[i]!, 1e-10, 1e-10));
    }

    // The causal mask and a padding bias at once (a multi-head layer's causal hint with its padding),
    // values, gradients and second derivatives: the composed form sees both folded into one mask.
    [Fact]
    public void CausalAndPadding_Together_EqualTheComposedForm_ToSecondDerivatives()
    {
        var g = new Generator(10);
        var (q, k, v) = Inputs(70, 70, DType.Float64, g);
        var padding = Mask("short", 70, 70, DType.Float64, g);
        var both = padding & (Tensor.Arange(70).Unsqueeze(1) >= Tensor.Arange(70));
        Tensor Penalty(Tensor y) => Autograd.Grad([y.Square().Sum()], [q], createGraph: true)[0]!.Square().Sum();
        var fused = FusedAttention.Run(q, k, v, causal: true, 1 / Math.Sqrt(8), padding);
        var composed = Functional.ComposedAttention(q, k, v, both, 0, false, 1 / Math.Sqrt(8), null);
        Assert.True(fused.AllClose(composed, 1e-12, 1e-12));
        var fusedGrads = Autograd.Grad([Penalty(FusedAttention.Run(q, k, v, causal: true, 1 / Math.Sqrt(8), padding))], [q, k, v]);
        var composedGrads = Autograd.Grad([Penalty(composed)], [q, k, v]);
        for (int i = 0; i < 3; i++) Assert.True(fusedGrads[i]!.AllClose(composedGrads[i]!, 1e-10, 1e-10), $"input {i}");
    }

    // A mask that needs its own gradient (a learned bias), one of another dtype, or one that would
    // broadcast q's batch dims keeps the composed form.
    [Fact]
    public void MasksTheKernelCannotTake_UseTheComposedForm()
    {
        var g = new Generator(9);
        var (q, k, v) = Inputs(4, 5, DType.Float64, g);
        var learned = Tensor.Randn([4, 5], DType.Float64, generator: g).RequiresGrad_();
        Assert.Equal(0, FusedRuns(() => Functional.ScaledDotProductAttention(q, k, v, learned).Sum().Backward()));
        Assert.NotNull(learned.Grad);
        Assert.Equal(0, FusedRuns(() => Functional.ScaledDotProductAttention(q, k, v, Tensor.Randn([4, 5], DType.Float32, generator: g))));
        Assert.Equal(0, FusedRuns(() => Functional.ScaledDotProductAttention(q[0, 0], k[0, 0], v[0, 0], Tensor.Ones([2, 4, 5], DType.Bool))));
    }
}

/// <summary>MultiheadAttention without weights to return: a key padding mask and an attention mask run fused, as the composed path computes them.</summary>
public class MultiheadAttentionMaskedFusedPathTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void PaddingAndAttentionMasks_EqualTheComposedPath(bool withAttnMask, bool boolMasks)
    {
        var g = new Generator(21);
        var attention = new MultiheadAttention(32, 4, batchFirst: true, dtype: DType.Float64, generator: g);
        attention.Eval();
        var x = Tensor.Randn([3, 70, 32], DType.Float64, generator: g).RequiresGrad_();
        // Sample 1 has its last 20 positions padded, sample 2 all but one.
        var padding = Tensor.Arange(70).Reshape(1, 70) >= Tensor.From(new double[] { 70, 50, 1 }).Reshape(3, 1);
        var attnMask = withAttnMask ? Transformer.GenerateSquareSubsequentMask(70, DType.Float64) : null;
        Tensor? keyPadding = boolMasks ? padding : Tensor.Zeros([3, 70], DType.Float64).MaskedFill(padding, double.NegativeInfinity);
        Tensor fused = null!;
        using (var profile = Profiler.Record())
        {
            fused = attention.Forward(x, x, x, keyPadding, needWeights: false, attnMask: attnMask, isCausal: withAttnMask).Output;
            Assert.Equal(1, profile.Events.Count(e => e.Name == nameof(FusedAttention)));
        }
        var (composed, weights) = attention.Forward(x, x, x, keyPadding, needWeights: true, attnMask: attnMask);
        Assert.NotNull(weights);
        Assert.True(fused.AllClose(composed, 1e-12, 1e-12));
        var gradOutput = Tensor.Randn([3, 70, 32], DType.Float64, generator: g);
        var fusedGrad = Autograd.Grad([fused], [x], [gradOutput])[0]!;
        var composedGrad = Autograd.Grad([composed], [x], [gradOutput])[0]!;
        Assert.True(fusedGrad.AllClose(composedGrad, 1e-12, 1e-12));
    }
}
