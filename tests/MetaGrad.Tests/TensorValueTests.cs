using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests;

/// <summary>Forward values, worked by hand or taken from PyTorch.</summary>
public class CreationTests
{
    [Fact]
    public void From_MultiDimensionalArrays_KeepsShapeAndDType()
    {
        var t = Tensor.From(new double[,,] { { { 1, 2 } }, { { 3, 4 } } });
        Check.Shape([2, 1, 2], t);
        Assert.Equal(DType.Float64, t.DType);
        Assert.Equal(new double[] { 1, 2, 3, 4 }, t.ToArray<double>());
        Assert.Equal(DType.Int64, Tensor.From(new long[] { 1 }).DType);
        Assert.Equal(DType.Int32, Tensor.From(new int[,] { { 1 } }).DType);
        Assert.Equal(DType.Bool, Tensor.From(new[] { true }).DType);
        Check.Shape([], Tensor.From(3f));
    }

    [Fact]
    public void Arange_Linspace_Eye()
    {
        Assert.Equal(new long[] { 0, 1, 2, 3 }, Tensor.Arange(4).ToArray<long>());
        Assert.Equal(DType.Int64, Tensor.Arange(4).DType);
        Assert.Equal(DType.Float32, Tensor.Arange(2.5).DType);
        Assert.Equal(new float[] { 1, 1.5f, 2, 2.5f }, Tensor.Arange(1, 3, 0.5).ToArray<float>());
        Assert.Equal(new float[] { 0, 0.25f, 0.5f, 0.75f, 1 }, Tensor.Linspace(0, 1, 5).ToArray<float>());
        Assert.Equal(new float[] { 1, 0, 0, 0, 1, 0 }, Tensor.Eye(2, 3).ToArray<float>());
    }

    [Fact]
    public void Randn_HasStandardMoments()
    {
        var x = Tensor.Randn([20000], DType.Float64, generator: new Generator(1));
        Assert.InRange(x.Mean().Item<double>(), -0.03, 0.03);
        Assert.InRange(x.Std().Item<double>(), 0.97, 1.03);
    }

    [Fact]
    public void Multinomial_FollowsWeightsAndNeverRepeatsWithoutReplacement()
    {
        var g = new Generator(3);
        var draws = Tensor.From(new float[] { 0, 1, 3 }).Multinomial(4000, replacement: true, generator: g).ToArray<long>();
        Assert.DoesNotContain(0L, draws);
        Assert.InRange(draws.Count(d => d == 2) / 4000.0, 0.72, 0.78);
        var perm = Tensor.Ones(5).Multinomial(5, generator: g).ToArray<long>();
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, perm.Order().ToArray());
    }

    [Fact]
    public void InPlaceInitialisers_WriteAndBumpVersion()
    {
        var t = Tensor.Zeros(2, 2);
        t.Fill_(3);
        Assert.Equal(new float[] { 3, 3, 3, 3 }, t.ToArray<float>());
        t.Uniform_(-1, 1, new Generator(1));
        Assert.All(t.ToArray<float>(), v => Assert.InRange(v, -1f, 1f));
        t.Normal_(5, 0.001, new Generator(1));
        Assert.All(t.ToArray<float>(), v => Assert.InRange(v, 4.99f, 5.01f));
        t.Zero_();
        Assert.Equal(new float[4], t.ToArray<float>());
        Assert.Equal(4, t.Version);
    }
}

public class PromotionTests
{
    [Fact]
    public void DTypes_PromoteAsInPyTorch()
    {
        var i = Tensor.From(new long[] { 1, 2 });
        var f = Tensor.From(new float[] { 1, 2 });
        var d = Tensor.From(new double[] { 1, 2 });
        Assert.Equal(DType.Float32, (i + f).DType);
        Assert.Equal(DType.Float64, (f + d).DType);
        Assert.Equal(DType.Int64, (i + 1).DType);
        Assert.Equal(DType.Float32, (i + 0.5).DType);      // a float number makes the default float
        Assert.Equal(DType.Float32, (f * 2.0).DType);      // a number never widens a float tensor
        Assert.Equal(DType.Float32, (f + Tensor.From(1.0)).DType); // nor does a 0-d tensor of the same category
        Assert.Equal(DType.Float32, (i / Tensor.From(new long[] { 2, 2 })).DType); // true division
        Assert.Equal(new float[] { 0.5f, 1 }, (i / 2).ToArray<float>());
        Assert.Equal(DType.Int64, Tensor.From(new int[] { 1, 2 }).Sum().DType);
        Assert.Equal(DType.Bool, (f > 1.0).DType);
    }
}

public class OperationValueTests
{
    [Fact]
    public void Comparisons_AndLogic()
    {
        var a = Tensor.From(new float[] { 1, 2, 3 });
        var b = Tensor.From(new float[] { 3, 2, 1 });
        Assert.Equal(new[] { false, true, false }, (a == b).ToArray<bool>());
        Assert.Equal(new[] { true, false, true }, (a != b).ToArray<bool>());
        Assert.Equal(new[] { true, false, false }, (a < b).ToArray<bool>());
        Assert.Equal(new[] { true, true, false }, (a <= b).ToArray<bool>());
        Assert.Equal(new[] { false, false, true }, (a > b).ToArray<bool>());
        Assert.Equal(new[] { false, true, true }, a.Ge(b).ToArray<bool>());
        Assert.Equal(new[] { false, false, false }, ((a < b) & (a > b)).ToArray<bool>());
        Assert.Equal(new[] { false, true, false }, (~(a != b)).ToArray<bool>());
    }

    [Fact]
    public void VarStdNorm_MatchPyTorch()
    {
        var x = Tensor.From(new double[,] { { 1, 2, 3, 4 }, { 2, 4, 6, 8 } });
        Check.Values([1.6666666666666667, 6.666666666666667], x.Var(1));
        Check.Values([1.25, 5], x.Var(1, correction: 0));
        Check.Values([37.5 / 7], x.Var());
        Check.Values([Math.Sqrt(37.5 / 7)], x.Std());
        Check.Values([Math.Sqrt(150)], x.Norm());
        Check.Values([10, 20], x.Norm(1, 1));
        Check.Values([4, 8], x.Norm(double.PositiveInfinity, [1]));
    }

    [Fact]
    public void ArgMaxArgMin_FirstOccurrenceWins()
    {
        var x = Tensor.From(new float[,] { { 1, 5, 5 }, { 7, 0, 7 } });
        Assert.Equal(new long[] { 1, 0 }, x.ArgMax(1).ToArray<long>());
        Assert.Equal(new long[] { 0, 1 }, x.ArgMin(1).ToArray<long>());
        Assert.Equal(3L, x.ArgMax().Item<long>());
        Check.Shape([1, 3], x.ArgMax(0, keepDim: true));
    }

    [Fact]
    public void Sort_IsStableAndTopKPicksLargest()
    {
        var x = Tensor.From(new float[] { 3, 1, 2, 1, 5 });
        var (v, i) = x.Sort();
        Assert.Equal(new float[] { 1, 1, 2, 3, 5 }, v.ToArray<float>());
        Assert.Equal(new long[] { 1, 3, 2, 0, 4 }, i.ToArray<long>());
        var (dv, di) = x.Sort(descending: true);
        Assert.Equal(new float[] { 5, 3, 2, 1, 1 }, dv.ToArray<float>());
        Assert.Equal(new long[] { 4, 0, 2, 1, 3 }, di.ToArray<long>());
        var (tv, ti) = x.TopK(2);
        Assert.Equal(new float[] { 5, 3 }, tv.ToArray<float>());
        Assert.Equal(new long[] { 4, 0 }, ti.ToArray<long>());
        var (sv, _) = x.TopK(2, largest: false);
        Assert.Equal(new float[] { 1, 1 }, sv.ToArray<float>());
    }

    [Fact]
    public void Matmul_Values()
    {
        var a = Tensor.From(new float[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        var b = Tensor.From(new float[,] { { 7, 8 }, { 9, 10 }, { 11, 12 } });
        Assert.Equal(new float[] { 58, 64, 139, 154 }, a.Matmul(b).ToArray<float>());
        Assert.Equal(new float[] { 14, 32 }, a.Matmul(Tensor.From(new float[] { 1, 2, 3 })).ToArray<float>());
        Assert.Equal(14f, Tensor.From(new float[] { 1, 2, 3 }).Matmul(Tensor.From(new float[] { 1, 2, 3 })).Item<float>());
        Assert.Equal(new float[] { 58, 64, 139, 154 }, a.T.Contiguous().T.Matmul(b).ToArray<float>());
    }

    [Fact]
    public void SoftmaxFamily_IsStableAtLargeMagnitudes()
    {
        var x = Tensor.From(new float[] { 1000, 1000, -1000 });
        Check.Values(new float[] { 0.5f, 0.5f, 0 }, x.Softmax(0));
        Check.Values(new float[] { -0.6931472f, -0.6931472f, -2000.6931f }, x.LogSoftmax(0));
        Check.Values(new float[] { 1000.6931f }, x.LogSumExp(0).Reshape(1));
        var s = Tensor.From(new float[] { -100, 100 });
        Check.Values(new float[] { 3.7200760e-44f, 1 }, s.Sigmoid());
        Check.Values(new float[] { -100, 0 }, F.LogSigmoid(s));
        Check.Values(new float[] { 0, 100 }, F.Softplus(s));
    }

    [Fact]
    public void Gelu_MatchesPyTorch()
    {
        var x = Tensor.From(new double[] { -2, -0.5, 0, 1, 3 });
        Check.Values([-0.04550026389635842, -0.15426876936299344, 0, 0.8413447460685429, 2.99595030590511], F.Gelu(x), 1e-12);
        Check.Values([-0.04540230591222494, -0.15428599017485606, 0, 0.8411919906082768, 2.996362607918227], F.Gelu(x, "tanh"), 1e-12);
    }

    [Fact]
    public void ShapeOps_Values()
    {
        var x = Tensor.Arange(6).Reshape(2, 3);
        Assert.Equal(new long[] { 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5 }, x.Repeat(1, 2).ToArray<long>());
        Check.Shape([4, 6], x.Repeat(2, 2));
        Assert.Equal(new long[] { 5, 4, 3, 2, 1, 0 }, x.Flip(0, 1).ToArray<long>());
        Assert.Equal(new long[] { 0, 1, 2, 0, 1, 2 }, x[0].Expand(2, 3).ToArray<long>());
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5, 0, 1, 2 }, Tensor.Cat([x, x[..1]]).ToArray<long>());
        Check.Shape([2, 2, 3], Tensor.Stack([x, x]));
        Check.Shape([2, 3, 2], Tensor.Stack([x, x], -1));
        var parts = Tensor.Arange(7).Chunk(3);
        Assert.Equal(new[] { 3, 3, 1 }, parts.Select(p => p.Numel).ToArray());
        Assert.True(x.T.IsContiguous == false && x.T.Contiguous().IsContiguous);
    }

    [Fact]
    public void Indexing_Values()
    {
        var x = Tensor.Arange(24).Reshape(2, 3, 4);
        Assert.Equal(new long[] { 20, 21, 22, 23 }, x[^1, ^1].ToArray<long>());
        Assert.Equal(new long[] { 1, 3, 13, 15 }, x[.., 0, TensorIndex.Slice(1, null, 2)].ToArray<long>());
        Check.Shape([2, 1, 3], x[.., Tensor.NewAxis, .., 0]);
        Check.Shape([2, 3], x[Tensor.Ellipsis, 2]);
        // Adjacent advanced indices keep their place; separated ones move to the front, as in PyTorch.
        Check.Shape([2, 2], x[.., Tensor.From(new long[] { 0, 2 }), Tensor.From(new long[] { 1, 3 })]);
        Assert.Equal(new long[] { 1, 11, 13, 23 }, x[.., Tensor.From(new long[] { 0, 2 }), Tensor.From(new long[] { 1, 3 })].ToArray<long>());
        Check.Shape([2, 3], x[Tensor.From(new long[] { 0, 1 }), .., Tensor.From(new long[] { 0, 0 })]);
        Check.Shape([2, 3, 2], x[.., .., Tensor.From(new long[] { 0, -1 })]);
        Assert.Equal(new long[] { 21, 22, 23 }, x[x > 20L].ToArray<long>());
        Assert.Equal(new long[] { 12, 13, 14, 15 }, x[Tensor.From(new[] { false, true }), 0].ToArray<long>());
    }

    [Fact]
    public void GatherScatterIndexFamily_Values()
    {
        var x = Tensor.From(new float[,] { { 1, 2 }, { 3, 4 } });
        Assert.Equal(new float[] { 1, 1, 4, 3 }, x.Gather(1, Tensor.From(new long[,] { { 0, 0 }, { 1, 0 } })).ToArray<float>());
        var s = Tensor.Zeros(3).ScatterAdd(0, Tensor.From(new long[] { 0, 2, 0 }), Tensor.From(new float[] { 1, 2, 3 }));
        Assert.Equal(new float[] { 4, 0, 2 }, s.ToArray<float>());
        Assert.Equal(new float[] { 3, 4, 1, 2 }, x.IndexSelect(0, Tensor.From(new long[] { 1, 0 })).ToArray<float>());
        Assert.Equal(new float[] { 2, 2, 3, 4 }, x.IndexAdd(0, Tensor.From(new long[] { 0 }), Tensor.From(new float[,] { { 1, 0 } })).ToArray<float>());
        Assert.Equal(new float[] { 1, -1, 3, -1 }, x.IndexFill(1, Tensor.From(new long[] { 1 }), -1).ToArray<float>());
        Assert.Equal(new float[] { 0, 2, 0, 4 }, x.MaskedFill(Tensor.From(new[] { true, false }), 0).ToArray<float>());
        Assert.Equal(new float[] { 2, 3, 4 }, x.MaskedSelect(x > 1f).ToArray<float>());
        Assert.Equal(new float[] { 1, 0, 3, 0 }, Tensor.Where(x.Remainder2(), x, Tensor.From(0f)).ToArray<float>());
        Assert.Equal(new long[] { 0, 1, 1, 0, 1, 1 }, (x > 1f).Nonzero().ToArray<long>());
    }

    [Fact]
    public void Clamp_AndRounding()
    {
        var x = Tensor.From(new float[] { -2.5f, 0.5f, 1.5f, 3 });
        Assert.Equal(new float[] { -1, 0.5f, 1.5f, 2 }, x.Clamp(-1, 2).ToArray<float>());
        Assert.Equal(new float[] { -2, 0, 2, 3 }, x.Round().ToArray<float>());
        Assert.Equal(new float[] { -3, 0, 1, 3 }, x.Floor().ToArray<float>());
        Assert.Equal(new float[] { -1, 1, 1, 1 }, x.Sign().ToArray<float>());
    }
}

file static class TestExtensions
{
    public static Tensor Remainder2(this Tensor x) => (x.To(DType.Int64) - (x.To(DType.Int64) / 2L).Floor().To(DType.Int64) * 2L) == 1L;
}

public class FormatTests
{
    [Fact]
    public void ToString_MatchesPyTorch()
    {
        Assert.Equal("tensor([[1., 2.],\n        [3., 4.]], requires_grad=True)", Tensor.From(new float[,] { { 1, 2 }, { 3, 4 } }, requiresGrad: true).ToString());
        Assert.Equal("tensor([0.5000, 1.2500])", Tensor.From(new float[] { 0.5f, 1.25f }).ToString());
        Assert.Equal("tensor([1, 2, 3])", Tensor.From(new long[] { 1, 2, 3 }).ToString());
        Assert.Equal("tensor([1, 2], dtype=torch.int32)", Tensor.From(new int[] { 1, 2 }).ToString());
        Assert.Equal("tensor([ True, False])", Tensor.From(new[] { true, false }).ToString());
        Assert.Equal("tensor(3.5000, dtype=torch.float64)", Tensor.From(3.5).ToString());
        Assert.Equal("tensor([2., 4.], grad_fn=<MulBackward>)", (Tensor.From(new float[] { 1, 2 }, requiresGrad: true) * 2f).ToString());
        Assert.Equal("tensor([1.0000e-05, 1.0000e+00])", Tensor.From(new float[] { 1e-5f, 1 }).ToString());
        Assert.Equal("tensor([   0,    1,    2,  ..., 1997, 1998, 1999])", Tensor.Arange(2000).ToString());
    }
}

public class GeneratorStateTests
{
    [Fact]
    public void GetState_SetState_ResumesTheExactSequence()
    {
        var g = new Generator(11);
        g.NextNormal();                      // leaves a spare normal in the state
        var state = g.GetState();
        var expected = Enumerable.Range(0, 5).Select(_ => g.NextNormal()).ToArray();
        var h = new Generator(0);
        h.SetState(state);
        Assert.Equal(expected, Enumerable.Range(0, 5).Select(_ => h.NextNormal()).ToArray());
    }
}

/// <summary>Comparing with null and testing a tensor with <c>if</c>, as C# users write them.</summary>
public class NullAndTruthTests
{
    [Fact]
    public void GradEqualsNull_IsTrueBeforeBackwardAndFalseAfter()
    {
        var x = Tensor.Ones([2], requiresGrad: true);
        // Once a NullReferenceException from inside the dtype promotion.
        Assert.True(x.Grad == null ? true : false);
        Assert.False(x.Grad != null ? true : false);
        (x * 3f).Sum().Backward();
        Assert.False(x.Grad == null ? true : false);
        Assert.True(x.Grad != null ? true : false);
        Assert.True(null == x.Grad ? false : true);
    }

    [Fact]
    public void ComparingWithNull_GivesA0dBool()
    {
        var x = Tensor.Ones(2, 3);
        Tensor? none = null;
        var r = x == none;
        Assert.Equal(DType.Bool, r.DType);
        Assert.Equal(0, r.NDim);
        Assert.False(r.Item<bool>());
        Assert.True((none == null).Item<bool>());
        Assert.True((x != none).Item<bool>());
        // Two tensors still compare elementwise.
        Assert.Equal([true, false], (Tensor.From(new[] { 1f, 2f }) == Tensor.From(new[] { 1f, 3f })).ToArray<bool>());
    }

    [Fact]
    public void AOneElementTensor_IsTrueWhenNotZero()
    {
        bool Truth(Tensor t) => t ? true : false;
        Assert.True(Truth(Tensor.From(2.5f)));
        Assert.False(Truth(Tensor.From(0.0)));
        Assert.True(Truth(Tensor.From(new long[] { -1 })));
        Assert.True(Truth(Tensor.From(float.NaN)));   // bool(float('nan')) is True in Python
        Assert.True(Truth(Tensor.From(new[] { 1f, 2f }).Sum() == 3.0));
        Assert.False(Truth(Tensor.From(new[] { 1f, 2f }).Sum() > 3.0));
    }

    [Fact]
    public void ATensorOfSeveralElements_HasNoTruth()
    {
        var x = Tensor.Ones(2, 2);
        var ex = Assert.Throws<InvalidOperationException>(() => x == Tensor.Ones(2, 2) ? 1 : 0);
        Assert.Contains("4 elements", ex.Message);
        Assert.Contains("ambiguous", ex.Message);
        Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(0) ? 1 : 0);
    }
}

[Collection(ProcessWideState.Name)]
public class DefaultGeneratorTests
{
    [Fact]
    public void Random_IsReproducibleFromASeed()
    {
        Tensor.ManualSeed(42);
        var a = Tensor.Randn(3, 4);
        var u = Tensor.Rand(5);
        Tensor.ManualSeed(42);
        Assert.Equal(a.ToArray<float>(), Tensor.Randn(3, 4).ToArray<float>());
        Assert.Equal(u.ToArray<float>(), Tensor.Rand(5).ToArray<float>());
        Assert.All(u.ToArray<float>(), v => Assert.InRange(v, 0f, 1f));
        var g1 = new Generator(7);
        var g2 = new Generator(7);
        Assert.Equal(Tensor.RandInt(0, 10, [20], generator: g1).ToArray<long>(), Tensor.RandInt(0, 10, [20], generator: g2).ToArray<long>());
    }
}
