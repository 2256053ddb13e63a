using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

public class AttentionTests
{
    static SequenceAttention Make(string kind) => kind switch
    {
        "bahdanau" => new BahdanauAttention(3, 4, 5, DType.Float64, new Generator(1)),
        "general" => new LuongAttention(3, 4, "general", DType.Float64, new Generator(1)),
        _ => new LuongAttention(4, 4, "dot", DType.Float64),
    };

    static int QuerySize(string kind) => kind == "dot" ? 4 : 3;

    // Batch 0 sees positions 0, 2, 3; batch 1 sees only position 1.
    static Tensor Mask() => Tensor.From(new[] { true, false, true, true, false, true, false, false }, [2, 4]);

    [Theory]
    [InlineData("bahdanau")]
    [InlineData("general")]
    [InlineData("dot")]
    public void OneStep_GivesContextAndWeightsThatSumToOne(string kind)
    {
        var (context, weights) = Make(kind).Forward(Check.Input([2, QuerySize(kind)], 1), Check.Input([2, 4, 4], 2));
        Check.Shape([2, 4], context);
        Check.Shape([2, 4], weights);
        Check.Values([1.0, 1.0], weights.Sum(-1), 1e-12);
    }

    [Theory]
    [InlineData("bahdanau")]
    [InlineData("general")]
    [InlineData("dot")]
    public void ManyQueries_GiveOneRowOfWeightsEach_AndContextIsTheWeightedKeys(string kind)
    {
        var keys = Check.Input([2, 4, 4], 2);
        var (context, weights) = Make(kind).Forward(Check.Input([2, 3, QuerySize(kind)], 1), keys);
        Check.Shape([2, 3, 4], context);
        Check.Shape([2, 3, 4], weights);
        Check.Values(Enumerable.Repeat(1.0, 6).ToArray(), weights.Sum(-1), 1e-12);
        Check.Values((weights.Unsqueeze(-1) * keys.Unsqueeze(1)).Sum(2).ToArray<double>(), context, 1e-12);
    }

    [Theory]
    [InlineData("bahdanau")]
    [InlineData("general")]
    [InlineData("dot")]
    public void Mask_GivesZeroWeightToExcludedPositions(string kind)
    {
        var (context, weights) = Make(kind).Forward(Check.Input([2, QuerySize(kind)], 1), Check.Input([2, 4, 4], 2), Mask());
        var w = weights.ToArray<double>();
        var allowed = Mask().ToArray<bool>();
        for (int i = 0; i < w.Length; i++)
            if (!allowed[i]) Assert.Equal(0.0, w[i]);
            else Assert.True(w[i] > 0);
        Check.Values([1.0, 1.0], weights.Sum(-1), 1e-12);
        Check.Values(Check.Input([2, 4, 4], 2)[1, 1].ToArray<double>(), context[1], 1e-12);   // one position left: its key
    }

    [Fact]
    public void Luong_Dot_IsTheSoftmaxOfDotProducts()
    {
        var q = Check.Input([1, 4], 1);
        var k = Check.Input([1, 3, 4], 2);
        var (_, weights) = new LuongAttention(4, 4, "dot").Forward(q, k);
        var qa = q.ToArray<double>();
        var ka = k.ToArray<double>();
        var scores = Enumerable.Range(0, 3).Select(j => Enumerable.Range(0, 4).Sum(c => qa[c] * ka[j * 4 + c])).ToArray();
        var e = scores.Select(Math.Exp).ToArray();
        Check.Values(e.Select(x => x / e.Sum()).ToArray(), weights, 1e-12);
    }

    [Fact]
    public void Bahdanau_IsVTanhOfTheSum()
    {
        var attention = new BahdanauAttention(3, 4, 5, DType.Float64, new Generator(1));
        var q = Check.Input([1, 3], 1);
        var k = Check.Input([1, 2, 4], 2);
        var (_, weights) = attention.Forward(q, k);
        var scores = Enumerable.Range(0, 2).Select(j =>
        {
            var h = (q[0].Matmul(attention.QueryLayer.Weight.T) + k[0, j].Matmul(attention.KeyLayer.Weight.T) + attention.KeyLayer.Bias!).Tanh();
            return h.Matmul(attention.Energy.Weight[0]).Item<double>();
        }).ToArray();
        var e = scores.Select(Math.Exp).ToArray();
        Check.Values(e.Select(x => x / e.Sum()).ToArray(), weights, 1e-12);
    }

    [Fact]
    public void ParameterNames()
    {
        Assert.Equal(["query_layer.weight", "key_layer.weight", "key_layer.bias", "energy.weight"],
            new BahdanauAttention(3, 4, 5).NamedParameters().Select(p => p.Name).ToArray());
        Assert.Equal(["key_projection.weight"], new LuongAttention(3, 4).NamedParameters().Select(p => p.Name).ToArray());
        Assert.Empty(new LuongAttention(4, 4, "dot").NamedParameters());
    }

    [Theory]
    [InlineData("bahdanau", false)]
    [InlineData("bahdanau", true)]
    [InlineData("general", true)]
    [InlineData("dot", true)]
    public void Gradients_OfQueryAndKeys(string kind, bool masked)
    {
        var attention = Make(kind);
        var mask = masked ? Mask() : null;
        Check.Gradients(t =>
        {
            var (context, weights) = attention.Forward(t[0], t[1], mask);
            return Tensor.Cat([context.Reshape(-1), weights.Reshape(-1)], 0);
        }, Check.Input([2, 3, QuerySize(kind)], 1), Check.Input([2, 4, 4], 2));
    }

    [Theory]
    [InlineData("bahdanau")]
    [InlineData("general")]
    [InlineData("dot")]
    public void ProjectedKeys_ReusedOverSteps_GiveTheSameValuesAndGradients(string kind)
    {
        var attention = Make(kind);
        var keys = Check.Input([2, 4, 4], 2);
        var projected = attention.ProjectKeys(keys);
        for (int step = 0; step < 2; step++)
        {
            var query = Check.Input([2, QuerySize(kind)], (ulong)(3 + step));
            var (context, weights) = attention.Forward(query, keys, Mask());
            var (reusedContext, reusedWeights) = attention.Forward(query, keys, Mask(), projected);
            Check.Values(context.ToArray<double>(), reusedContext, 1e-12);
            Check.Values(weights.ToArray<double>(), reusedWeights, 1e-12);
        }
        // The keys reach the output twice, as values and through the projection shared by two steps.
        Check.Gradients(t =>
        {
            var shared = attention.ProjectKeys(t[1]);
            var (first, _) = attention.Forward(t[0], t[1], Mask(), shared);
            var (second, _) = attention.Forward(t[0] * 2, t[1], Mask(), shared);
            return Tensor.Cat([first.Reshape(-1), second.Reshape(-1)], 0);
        }, Check.Input([2, QuerySize(kind)], 1), Check.Input([2, 4, 4], 2));
    }

    [Theory]
    [InlineData("bahdanau")]
    [InlineData("general")]
    public void Gradients_OfParameters_MatchFiniteDifferences(string kind)
    {
        // GradCheck perturbs only its arguments, so the parameters are perturbed here in place.
        var attention = Make(kind);
        var q = Check.Input([2, 3, 3], 1).Detach();
        var k = Check.Input([2, 4, 4], 2).Detach();
        Tensor Objective()
        {
            var (context, weights) = attention.Forward(q, k, Mask());
            return (context * Check.Input([2, 3, 4], 8).Detach()).Sum() + (weights * Check.Input([2, 3, 4], 9).Detach()).Sum();
        }
        attention.ZeroGrad();
        Objective().Backward();
        const double Eps = 1e-6;
        foreach (var (name, p) in attention.NamedParameters())
        {
            var analytical = p.Grad!.ToArray<double>();
            var flat = p.Reshape(-1);
            for (int i = 0; i < p.Numel; i++)
            {
                double original = flat[i].Item<double>(), plus, minus;
                using (Autograd.NoGrad())
                {
                    flat[i] = Tensor.Scalar(original + Eps, DType.Float64);
                    plus = Objective().Item<double>();
                    flat[i] = Tensor.Scalar(original - Eps, DType.Float64);
                    minus = Objective().Item<double>();
                    flat[i] = Tensor.Scalar(original, DType.Float64);
                }
                double numerical = (plus - minus) / (2 * Eps);
                Assert.True(Math.Abs(numerical - analytical[i]) <= 1e-6 + 1e-4 * Math.Abs(numerical), $"{name}[{i}]: autograd {analytical[i]}, finite differences {numerical}");
            }
        }
    }

    [Fact]
    public void WrongMaskShape_Throws() =>
        Assert.Throws<ArgumentException>(() => new LuongAttention(4, 4, "dot").Forward(Check.Input(2, 4), Check.Input(2, 4, 4), Tensor.Ones([2, 3], DType.Bool)));
}
