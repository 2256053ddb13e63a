using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

public class ModuleTests
{
    sealed class Mlp : Module<Tensor, Tensor>
    {
        readonly Linear Fc1 = new(4, 3);
        readonly Linear _fc2 = new(3, 2);
        public readonly Sequential Layers = new(new Linear(2, 2), new ReLU(), new Linear(2, 1, bias: false));
        public readonly Parameter OutputScale = new(Tensor.Ones(1));

        public override Tensor Forward(Tensor x) => Layers.Forward(_fc2.Forward(Fc1.Forward(x).Relu())) * OutputScale;
    }

    [Fact]
    public void NamedParameters_UsePyTorchDottedNames()
    {
        var names = new Mlp().NamedParameters().Select(p => p.Name).ToArray();
        Assert.Equal(new[] { "output_scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "layers.0.weight", "layers.0.bias", "layers.2.weight" }, names);
    }

    [Fact]
    public void StateDict_RoundTripsIntoAFreshModel()
    {
        var a = new Mlp();
        var b = new Mlp();
        var x = Tensor.Randn(5, 4);
        // Compared by weights, not outputs: the last ReLU can zero both models' outputs (it did, once in a full run).
        Assert.False(a.StateDict()["fc1.weight"].AllClose(b.StateDict()["fc1.weight"]));
        var (missing, unexpected) = b.LoadStateDict(a.StateDict());
        Assert.Empty(missing);
        Assert.Empty(unexpected);
        Assert.True(a.Forward(x).AllClose(b.Forward(x)));
    }

    [Fact]
    public void LoadStateDict_Strict_NamesMissingAndMismatchedKeys()
    {
        var state = new Mlp().StateDict();
        state.Remove("fc1.bias");
        var ex = Assert.Throws<ArgumentException>(() => new Mlp().LoadStateDict(state));
        Assert.Contains("missing key(s): fc1.bias", ex.Message);
        var (missing, _) = new Mlp().LoadStateDict(state, strict: false);
        Assert.Equal(["fc1.bias"], missing);
        var wrong = new Mlp().StateDict();
        wrong["fc2.weight"] = Tensor.Zeros(3, 3);
        var ex2 = Assert.Throws<ArgumentException>(() => new Mlp().LoadStateDict(wrong));
        Assert.Contains("size mismatch for fc2.weight", ex2.Message);
    }

    [Fact]
    public void ToString_PrintsTheTreeLikePyTorch()
    {
        var model = new Sequential(new Linear(784, 256), new ReLU(), new Dropout(0.2), new Linear(256, 10, bias: false));
        Assert.Equal(
            "Sequential(\n" +
            "  (0): Linear(in_features=784, out_features=256, bias=True)\n" +
            "  (1): ReLU()\n" +
            "  (2): Dropout(p=0.2, inplace=False)\n" +
            "  (3): Linear(in_features=256, out_features=10, bias=False)\n" +
            ")", model.ToString());
    }

    [Fact]
    public void TrainEval_ZeroGrad_Apply_ChildrenAndModules()
    {
        var m = new Mlp();
        m.Eval();
        Assert.All(m.Modules(), x => Assert.False(x.Training));
        m.Train();
        Assert.True(m.Layers[1].Training);
        m.Forward(Tensor.Randn(2, 4)).Sum().Backward();
        Assert.All(m.Parameters(), p => Assert.NotNull(p.Grad));
        m.ZeroGrad(setToNone: false);
        Assert.All(m.Parameters(), p => Assert.Equal(0f, p.Grad!.Abs().Sum().Item<float>()));
        m.ZeroGrad();
        Assert.All(m.Parameters(), p => Assert.Null(p.Grad));
        int linears = 0;
        m.Apply(x => { if (x is Linear) linears++; });
        Assert.Equal(4, linears);
        Assert.Equal(new[] { "fc1", "fc2", "layers" }, m.NamedChildren().Select(c => c.Name).ToArray());
    }

    [Fact]
    public void SharedParameters_AreListedOnce()
    {
        var shared = new Linear(2, 2);
        var model = new Sequential(shared, shared);
        Assert.Equal(2, model.Parameters().Count());
    }

    [Fact]
    public void Linear_DefaultInitAndForwardMatchDefinition()
    {
        var layer = new Linear(100, 50, generator: new Generator(1));
        double bound = 1 / Math.Sqrt(100);
        Assert.All(layer.Weight.ToArray<float>(), w => Assert.InRange(w, -bound, bound));
        Assert.InRange(layer.Weight.Std().Item<float>(), 0.9 * bound / Math.Sqrt(3), 1.1 * bound / Math.Sqrt(3));
        var x = Tensor.Randn(3, 100);
        Assert.True(layer.Forward(x).AllClose(x.Matmul(layer.Weight.T) + layer.Bias!, 1e-5, 1e-6));
        Check.Shape([2, 3, 50], layer.Forward(Tensor.Randn(2, 3, 100)));
    }

    [Fact]
    public void Bilinear_MatchesItsDefinitionAndGradChecks()
    {
        var layer = new Bilinear(3, 2, 4, generator: new Generator(2));
        var x1 = Tensor.Randn(5, 3);
        var x2 = Tensor.Randn(5, 2);
        var y = layer.Forward(x1, x2);
        var w = layer.Weight.ToArray<float>();
        var a = x1.ToArray<float>();
        var b = x2.ToArray<float>();
        var bias = layer.Bias!.ToArray<float>();
        var expected = new float[20];
        for (int n = 0; n < 5; n++)
            for (int o = 0; o < 4; o++)
            {
                double s = bias[o];
                for (int i = 0; i < 3; i++) for (int j = 0; j < 2; j++) s += a[n * 3 + i] * w[o * 6 + i * 2 + j] * b[n * 2 + j];
                expected[n * 4 + o] = (float)s;
            }
        Check.Values(expected, y, 1e-5f);
        Check.Gradients(t => (t[0].Unsqueeze(1).Unsqueeze(2).Matmul(t[2]).Squeeze(2) * t[1].Unsqueeze(1)).Sum(-1), Check.Input(2, 3), Check.Input([2, 2], 5), Check.Input([4, 3, 2], 6));
    }

    [Fact]
    public void Embedding_LooksUpRowsAndNeverTrainsPadding()
    {
        var emb = new Embedding(5, 3, paddingIdx: 0, generator: new Generator(3));
        Assert.Equal(new float[3], emb.Weight[0].ToArray<float>());
        var ids = Tensor.From(new long[,] { { 0, 2 }, { 2, 4 } });
        var y = emb.Forward(ids);
        Check.Shape([2, 2, 3], y);
        Assert.Equal(emb.Weight[2].ToArray<float>(), y[0, 1].ToArray<float>());
        y.Sum().Backward();
        var g = emb.Weight.Grad!;
        Assert.Equal(new float[] { 0, 0, 0 }, g[0].ToArray<float>());
        Assert.Equal(new float[] { 2, 2, 2 }, g[2].ToArray<float>());
        Assert.Equal(new float[] { 0, 0, 0 }, g[1].ToArray<float>());
        var frozen = Embedding.FromPretrained(Tensor.Eye(3));
        Assert.False(frozen.Weight.RequiresGrad);
        Assert.Equal(new float[] { 0, 1, 0 }, frozen.Forward(Tensor.From(new long[] { 1 })).ToArray<float>());
    }

    [Fact]
    public void Dropout_ScalesSurvivorsInTrainingAndIsIdentityInEval()
    {
        var d = new Dropout(0.25, new Generator(5));   // its own: the default one is shared with tests running alongside
        var y = d.Forward(Tensor.Ones(10000)).ToArray<float>();
        Assert.All(y, v => Assert.True(v == 0 || Math.Abs(v - 4f / 3) < 1e-6));
        Assert.InRange(y.Count(v => v == 0) / 10000.0, 0.23, 0.27);
        d.Eval();
        Assert.Equal(Enumerable.Repeat(1f, 10).ToArray(), d.Forward(Tensor.Ones(10)).ToArray<float>());
    }

    [Fact]
    public void LayerNorm_NormalisesTrailingDims()
    {
        var ln = new LayerNorm(4);
        var x = Tensor.From(new float[,] { { 1, 2, 3, 4 }, { -1, 0, 0, 1 } });
        var y = ln.Forward(x);
        float s1 = 1 / MathF.Sqrt(1.25f + 1e-5f), s2 = 1 / MathF.Sqrt(0.5f + 1e-5f);
        Check.Values(new[] { -1.5f * s1, -0.5f * s1, 0.5f * s1, 1.5f * s1, -s2, 0, 0, s2 }, y, 1e-5f);
        Check.Gradients(t => MetaGrad.NN.Functional.LayerNorm(t[0], [3], t[1], t[2]), Check.Input(2, 3), Check.Input([3], 4), Check.Input([3], 5));
    }

    [Fact]
    public void BatchNorm1d_UsesBatchStatsInTrainingAndRunningStatsInEval()
    {
        var bn = new BatchNorm1d(2);
        var x = Tensor.From(new float[,] { { 1, 10 }, { 3, 20 }, { 5, 30 } });
        var y = bn.Forward(x);
        float s = 1 / MathF.Sqrt(8f / 3 + 1e-5f);
        Check.Values(new[] { -2 * s, -1.2247354f, 0, 0, 2 * s, 1.2247354f }, y, 1e-5f);
        // running = 0.9·initial + 0.1·batch, with the unbiased batch variance.
        Check.Values(new[] { 0.3f, 2f }, bn.RunningMean!, 1e-6f);
        Check.Values(new[] { 0.9f + 0.1f * 4, 0.9f + 0.1f * 100 }, bn.RunningVar!, 1e-5f);
        Assert.Equal(1L, bn.StateDict()["num_batches_tracked"].Item<long>());
        bn.Eval();
        var e = bn.Forward(Tensor.From(new float[,] { { 0.3f, 2 } }));
        Check.Values(new[] { 0f, 0f }, e, 1e-6f);
        Assert.Equal(new[] { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" }, bn.StateDict().Keys.ToArray());
    }

    [Fact]
    public void Init_KaimingXavierOrthogonal()
    {
        var g = new Generator(9);
        var w = Init.KaimingNormal_(Tensor.Empty(400, 300), mode: FanMode.FanIn, nonlinearity: "relu", generator: g);
        Assert.InRange(w.Std().Item<float>(), 0.95 * Math.Sqrt(2.0 / 300), 1.05 * Math.Sqrt(2.0 / 300));
        var u = Init.XavierUniform_(Tensor.Empty(20, 30), generator: g);
        double a = Math.Sqrt(6.0 / 50);
        Assert.All(u.ToArray<float>(), v => Assert.InRange(v, -a, a));
        var q = Init.Orthogonal_(Tensor.Empty(3, 5), generator: g);
        Assert.True(q.Matmul(q.T).AllClose(Tensor.Eye(3), 1e-5, 1e-5));
        var tall = Init.Orthogonal_(Tensor.Empty(6, 2), gain: 2, generator: g);
        Assert.True(tall.T.Matmul(tall).AllClose(Tensor.Eye(2) * 4.0, 1e-5, 1e-5));
        Assert.Equal(5.0 / 3, Init.CalculateGain("tanh"));
    }

    [Fact]
    public void ClipGradNorm_ScalesAllGradientsTogether()
    {
        var a = Tensor.Zeros([2], requiresGrad: true);
        var b = Tensor.Zeros([1], requiresGrad: true);
        a.Grad = Tensor.From(new float[] { 3, 0 });
        b.Grad = Tensor.From(new float[] { 4 });
        double norm = ClipGrad.ClipGradNorm([a, b], 1.0);
        Assert.Equal(5.0, norm, 5);
        Check.Values(new[] { 0.6f, 0 }, a.Grad, 1e-5f);
        Check.Values(new[] { 0.8f }, b.Grad, 1e-5f);
        ClipGrad.ClipGradValue([a], 0.5);
        Check.Values(new[] { 0.5f, 0 }, a.Grad, 1e-6f);
    }
}
