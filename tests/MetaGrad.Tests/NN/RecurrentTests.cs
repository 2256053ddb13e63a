using MetaGrad.Backends;
using MetaGrad.Functions;
using MetaGrad.NN;
using MetaGrad.IO;
using MetaGrad.Optim;

namespace MetaGrad.Tests.NN;

public class RecurrentTests
{
    // One signature for the three modules: output, h_n and (LSTM only) c_n.
    delegate (Tensor Output, Tensor H, Tensor? C) Run(Tensor input, Tensor? h0, Tensor? c0);

    static (Module Module, Run Run) Make(string kind, int inputSize, int hiddenSize, int numLayers = 1, bool bidirectional = false,
        bool batchFirst = false, bool bias = true, DType dtype = DType.Float32, ulong seed = 1)
    {
        var g = new Generator(seed);
        switch (kind)
        {
            case "lstm":
            {
                var m = new LSTM(inputSize, hiddenSize, numLayers, bias: bias, batchFirst: batchFirst, bidirectional: bidirectional, dtype: dtype, generator: g);
                return (m, (x, h, c) =>
                {
                    var (o, s) = m.Forward(x, h is null ? null : (h, c!));
                    return (o, s.H, s.C);
                });
            }
            case "gru":
            {
                var m = new GRU(inputSize, hiddenSize, numLayers, bias: bias, batchFirst: batchFirst, bidirectional: bidirectional, dtype: dtype, generator: g);
                return (m, (x, h, _) => { var (o, hn) = m.Forward(x, h); return (o, hn, null); });
            }
            default:
            {
                var m = new RNN(inputSize, hiddenSize, numLayers, nonlinearity: kind, bias: bias, batchFirst: batchFirst, bidirectional: bidirectional, dtype: dtype, generator: g);
                return (m, (x, h, _) => { var (o, hn) = m.Forward(x, h); return (o, hn, null); });
            }
        }
    }

    public static TheoryData<string, int, bool, bool, bool> Combinations()
    {
        var data = new TheoryData<string, int, bool, bool, bool>();
        foreach (var kind in new[] { "tanh", "lstm", "gru" })
            foreach (int layers in new[] { 1, 2 })
                foreach (bool bidirectional in new[] { false, true })
                    foreach (bool batchFirst in new[] { false, true })
                        foreach (bool unbatched in new[] { false, true })
                            data.Add(kind, layers, bidirectional, batchFirst, unbatched);
        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Forward_GivesPyTorchShapes(string kind, int layers, bool bidirectional, bool batchFirst, bool unbatched)
    {
        const int T = 5, N = 3, In = 4, H = 6;
        int d = bidirectional ? 2 : 1;
        var (_, run) = Make(kind, In, H, layers, bidirectional, batchFirst);
        int[] inputShape = unbatched ? [T, In] : batchFirst ? [N, T, In] : [T, N, In];
        int[] stateShape = unbatched ? [d * layers, H] : [d * layers, N, H];
        int[] outputShape = unbatched ? [T, d * H] : batchFirst ? [N, T, d * H] : [T, N, d * H];

        var (output, h, c) = run(Tensor.Randn(inputShape), null, null);
        Check.Shape(outputShape, output);
        Check.Shape(stateShape, h);
        if (kind == "lstm") Check.Shape(stateShape, c!); else Assert.Null(c);

        // Given initial states take the same shapes.
        var (output2, h2, _) = run(Tensor.Randn(inputShape), Tensor.Randn(stateShape), kind == "lstm" ? Tensor.Randn(stateShape) : null);
        Check.Shape(outputShape, output2);
        Check.Shape(stateShape, h2);
    }

    [Fact]
    public void Forward_LastOutputStepIsTheFinalStateOfTheLastLayer()
    {
        var (_, run) = Make("lstm", 3, 4, numLayers: 2, batchFirst: true);
        var (output, h, _) = run(Tensor.Randn(2, 5, 3), null, null);
        Assert.True(output.Select(1, 4).AllClose(h.Select(0, 1)));
    }

    [Fact]
    public void Forward_UnbatchedEqualsABatchOfOne()
    {
        var (_, run) = Make("gru", 3, 4, numLayers: 2, bidirectional: true);
        var x = Tensor.Randn(5, 3);
        var h0 = Tensor.Randn(4, 4);
        var (o1, h1, _) = run(x, h0, null);
        var (o2, h2, _) = run(x.Unsqueeze(1), h0.Unsqueeze(1), null);
        Assert.True(o1.AllClose(o2.Squeeze(1)));
        Assert.True(h1.AllClose(h2.Squeeze(1)));
    }

    [Fact]
    public void Forward_RejectsWrongInputAndStateShapes()
    {
        var lstm = new LSTM(3, 4, numLayers: 2);
        Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Randn(5, 2, 7)));
        var ex = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Randn(5, 2, 3), (Tensor.Zeros(1, 2, 4), Tensor.Zeros(2, 2, 4))));
        Assert.Contains("[2, 2, 4]", ex.Message);
        Assert.Throws<ArgumentException>(() => new RNN(3, 4, nonlinearity: "sigmoid"));
    }

    [Fact]
    public void NamedParameters_AreTorchNames()
    {
        var lstm = new LSTM(3, 4, numLayers: 2, bidirectional: true);
        Assert.Equal(new[]
        {
            "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
            "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
            "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
            "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse",
        }, lstm.NamedParameters().Select(p => p.Name).ToArray());
        var shapes = lstm.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Shape.ToArray());
        Assert.Equal([16, 3], shapes["weight_ih_l0"]);
        Assert.Equal([16, 8], shapes["weight_ih_l1_reverse"]);   // layer 1 reads both directions of layer 0
        Assert.Equal([16, 4], shapes["weight_hh_l1"]);

        Assert.Equal(new[] { "weight_ih_l0", "weight_hh_l0" }, new GRU(3, 4, bias: false).NamedParameters().Select(p => p.Name).ToArray());
        Assert.Equal(new[] { "weight_ih", "weight_hh", "bias_ih", "bias_hh" }, new GRUCell(3, 4).NamedParameters().Select(p => p.Name).ToArray());
        Assert.Equal([12, 3], new GRUCell(3, 4).WeightIh.Shape.ToArray());
    }

    [Fact]
    public void StateDict_RoundTripsThroughSafetensorsUnderTorchNames()
    {
        var lstm = new LSTM(3, 4, numLayers: 2, bidirectional: true, generator: new Generator(1));
        var bytes = Safetensors.Serialize(lstm.StateDict());
        var loaded = Safetensors.Load(new MemoryStream(bytes)).Tensors;
        Assert.Contains("weight_hh_l1_reverse", loaded.Keys);
        var copy = new LSTM(3, 4, numLayers: 2, bidirectional: true, generator: new Generator(2));
        copy.LoadStateDict(loaded);
        var x = Tensor.Randn(5, 2, 3);
        var (o1, (h1, c1)) = lstm.Forward(x);
        var (o2, (h2, c2)) = copy.Forward(x);
        Assert.True(o1.AllClose(o2) && h1.AllClose(h2) && c1.AllClose(c2));
    }

    [Fact]
    public void Init_IsUniformWithinOneOverSqrtHidden()
    {
        var gru = new GRU(5, 16, numLayers: 2, generator: new Generator(3));
        foreach (var (name, p) in gru.NamedParameters())
        {
            var values = p.ToArray<float>();
            Assert.All(values, v => Assert.InRange(v, -0.25f, 0.25f));
            Assert.True(values.Max() > 0.2f && values.Min() < -0.2f, $"{name} does not fill U(-1/4, 1/4)");
        }
    }

    [Fact]
    public void ToString_PrintsLikePyTorch()
    {
        Assert.Equal("LSTM(10, 20, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)",
            new LSTM(10, 20, numLayers: 2, batchFirst: true, dropout: 0.5, bidirectional: true).ToString());
        Assert.Equal("GRU(3, 4, bias=False)", new GRU(3, 4, bias: false).ToString());
        Assert.Equal("RNNCell(3, 4, nonlinearity=relu)", new RNNCell(3, 4, nonlinearity: "relu").ToString());
    }

    [Fact]
    public void Dropout_AppliesBetweenLayersInTrainingOnly()
    {
        var (module, run) = Make("gru", 3, 8, numLayers: 2);
        var x = Tensor.Randn(4, 2, 3);
        var single = new GRU(3, 8, numLayers: 2, dropout: 0.5, generator: new Generator(1));
        single.LoadStateDict(module.StateDict());
        Assert.False(single.Forward(x).Output.AllClose(run(x, null, null).Output));
        single.Eval();
        Assert.True(single.Forward(x).Output.AllClose(run(x, null, null).Output));
    }

    // ---- cells ----

    [Fact]
    public void Cells_StepLikeTheOneStepModule()
    {
        var x = Tensor.Randn(3, 4);
        var h = Tensor.Randn(3, 5);
        var c = Tensor.Randn(3, 5);

        var lstm = new LSTM(4, 5);
        var lstmCell = new LSTMCell(4, 5);
        lstmCell.LoadStateDict(lstm.StateDict().ToDictionary(kv => kv.Key.Replace("_l0", ""), kv => kv.Value));
        var (_, (hn, cn)) = lstm.Forward(x.Unsqueeze(0), (h.Unsqueeze(0), c.Unsqueeze(0)));
        var (h1, c1) = lstmCell.Forward(x, (h, c));
        Assert.True(h1.AllClose(hn.Squeeze(0)));
        Assert.True(c1.AllClose(cn.Squeeze(0)));

        var gru = new GRU(4, 5);
        var gruCell = new GRUCell(4, 5);
        gruCell.LoadStateDict(gru.StateDict().ToDictionary(kv => kv.Key.Replace("_l0", ""), kv => kv.Value));
        Assert.True(gruCell.Forward(x, h).AllClose(gru.Forward(x.Unsqueeze(0), h.Unsqueeze(0)).H.Squeeze(0)));

        var rnn = new RNN(4, 5, nonlinearity: "relu");
        var rnnCell = new RNNCell(4, 5, nonlinearity: "relu");
        rnnCell.LoadStateDict(rnn.StateDict().ToDictionary(kv => kv.Key.Replace("_l0", ""), kv => kv.Value));
        Assert.True(rnnCell.Forward(x, h).AllClose(rnn.Forward(x.Unsqueeze(0), h.Unsqueeze(0)).H.Squeeze(0)));

        // Unbatched input and a missing state (zeros).
        Check.Shape([5], gruCell.Forward(x[0]));
        Assert.True(gruCell.Forward(x[0]).AllClose(gruCell.Forward(x, Tensor.Zeros(3, 5))[0]));
        var (hu, cu) = lstmCell.Forward(x[0], (h[0], c[0]));
        Assert.True(hu.AllClose(h1[0]) && cu.AllClose(c1[0]));
    }

    [Theory]
    [InlineData("tanh")]
    [InlineData("relu")]
    [InlineData("gru")]
    public void Cell_GradientsMatchFiniteDifferences(string kind)
    {
        var cellKind = kind == "gru" ? RecurrentKind.Gru : RecurrentConventions.RnnKind(kind);
        int g = RecurrentKinds.Gates(cellKind) * 3;
        // Input, state, then every weight and bias: f = h' (the fused step's final state; its output
        // rows get no gradient) for a batch of 2, input 4, hidden 3.
        Check.Gradients(a => RecurrentLayer.Run(cellKind, Functional.Linear(a[0], a[2], a[4]), a[1], null, a[3], a[5], [2], false).H,
            Check.Input([2, 4], 1), Check.Input([2, 3], 2), Check.Input([g, 4], 3), Check.Input([g, 3], 4), Check.Input([g], 5), Check.Input([g], 6));
    }

    [Fact]
    public void LSTMCell_GradientsMatchFiniteDifferences()
    {
        // Both outputs of the step at once: h' and c' concatenated.
        Check.Gradients(a =>
        {
            // Every output of the fused step: h' as output row, h' as final state, c'.
            return RecurrentLayer.Run(RecurrentKind.Lstm, Functional.Linear(a[0], a[3], a[5]), a[1], a[2], a[4], a[6], [2], false).Stacked();
        }, Check.Input([2, 4], 1), Check.Input([2, 3], 2), Check.Input([2, 3], 3), Check.Input([12, 4], 4), Check.Input([12, 3], 5),
            Check.Input([12], 6), Check.Input([12], 7));
    }

    [Theory]
    [InlineData("tanh")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void Module_TwoLayersBidirectional_GradientsMatchFiniteDifferences(string kind)
    {
        var (_, run) = Make(kind, 2, 3, numLayers: 2, bidirectional: true, batchFirst: true, dtype: DType.Float64);
        var x = Check.Input([2, 3, 2], 1);
        var h0 = Check.Input([4, 2, 3], 2);
        var c0 = Check.Input([4, 2, 3], 3);
        Check.Gradients(a =>
        {
            var (output, h, c) = run(a[0], a[1], kind == "lstm" ? a[2] : null);
            return Tensor.Cat([output.Reshape(-1), h.Reshape(-1), .. c is null ? Array.Empty<Tensor>() : [c.Reshape(-1)]], 0);
        }, x, h0, c0);
    }

    [Theory]
    [InlineData("relu")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void Module_TwoLayersBidirectional_ParameterGradientsMatchFiniteDifferences(string kind)
    {
        // GradCheck perturbs only its arguments, so the parameters are perturbed here in place:
        // d(Σ w⊙y)/dp by central differences against p.Grad, for every element of every parameter.
        var (module, run) = Make(kind, 2, 2, numLayers: 2, bidirectional: true, dtype: DType.Float64, seed: 4);
        var x = Check.Input([3, 2, 2], 1).Detach();
        var h0 = Check.Input([4, 2, 2], 2).Detach();
        var c0 = Check.Input([4, 2, 2], 3).Detach();
        Tensor Objective()
        {
            var (output, h, c) = run(x, h0, kind == "lstm" ? c0 : null);
            var all = Tensor.Cat([output.Reshape(-1), h.Reshape(-1), .. c is null ? Array.Empty<Tensor>() : [c.Reshape(-1)]], 0);
            return (all * Check.Input([all.Shape[0]], 9).Detach()).Sum();
        }
        module.ZeroGrad();
        Objective().Backward();
        const double Eps = 1e-6;
        foreach (var (name, p) in module.NamedParameters())
        {
            var analytical = p.Grad!.ToArray<double>();
            var flat = p.Reshape(-1);
            for (int k = 0; k < p.Numel; k++)
            {
                double original = flat[k].Item<double>(), plus, minus;
                using (Autograd.NoGrad())
                {
                    flat[k] = Tensor.Scalar(original + Eps, DType.Float64);
                    plus = Objective().Item<double>();
                    flat[k] = Tensor.Scalar(original - Eps, DType.Float64);
                    minus = Objective().Item<double>();
                    flat[k] = Tensor.Scalar(original, DType.Float64);
                }
                double numerical = (plus - minus) / (2 * Eps);
                Assert.True(Math.Abs(numerical - analytical[k]) <= 1e-6 + 1e-4 * Math.Abs(numerical), $"{name}[{k}]: autograd {analytical[k]}, finite differences {numerical}");
            }
        }
    }

    // ---- values against a reference written from PyTorch's documented equations ----

    /// <summary>
    /// A plain-array, step-by-step implementation of torch.nn.RNN/LSTM/GRU written straight from the
    /// equations in PyTorch's documentation, independent of the library's tensor code.
    /// </summary>
    static class Reference
    {
        static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

        // Row r of W [rows, cols] times v, plus b[r].
        static double Affine(double[] w, double[]? b, int r, double[] v)
        {
            double s = b?[r] ?? 0;
            for (int k = 0; k < v.Length; k++) s += w[r * v.Length + k] * v[k];
            return s;
        }

        // One step for one sequence: returns (h', c').
        static (double[] H, double[] C) Step(string kind, Dictionary<string, double[]> p, string suffix, double[] x, double[] h, double[] c)
        {
            var (wi, wh, bi, bh) = (p["weight_ih" + suffix], p["weight_hh" + suffix], p.GetValueOrDefault("bias_ih" + suffix), p.GetValueOrDefault("bias_hh" + suffix));
            int n = h.Length;
            var hNext = new double[n];
            var cNext = new double[n];
            for (int j = 0; j < n; j++)
            {
                // Gate k of unit j is row k·H + j.
                double In(int k) => Affine(wi, bi, k * n + j, x);
                double Hid(int k) => Affine(wh, bh, k * n + j, h);
                switch (kind)
                {
                    case "tanh": hNext[j] = Math.Tanh(In(0) + Hid(0)); break;
                    case "relu": hNext[j] = Math.Max(0, In(0) + Hid(0)); break;
                    case "lstm":
                        double i = Sigmoid(In(0) + Hid(0)), f = Sigmoid(In(1) + Hid(1)), g = Math.Tanh(In(2) + Hid(2)), o = Sigmoid(In(3) + Hid(3));
                        cNext[j] = f * c[j] + i * g;
                        hNext[j] = o * Math.Tanh(cNext[j]);
                        break;
                    case "gru":
                        double r = Sigmoid(In(0) + Hid(0)), z = Sigmoid(In(1) + Hid(1));
                        double nn = Math.Tanh(In(2) + r * Hid(2));
                        hNext[j] = (1 - z) * nn + z * h[j];
                        break;
                }
            }
            return (hNext, cNext);
        }

        /// <summary>x[t][b][i], states [D·layers][b][j]; returns output[t][b][D·H] and the final states.</summary>
        public static (double[][][] Output, double[][][] H, double[][][] C) Forward(string kind, Dictionary<string, double[]> p,
            double[][][] x, double[][][] h0, double[][][] c0, int layers, bool bidirectional)
        {
            int steps = x.Length, batch = x[0].Length, d = bidirectional ? 2 : 1, hidden = h0[0][0].Length;
            var hn = new double[d * layers][][];
            var cn = new double[d * layers][][];
            var input = x;
            for (int layer = 0; layer < layers; layer++)
            {
                var output = new double[steps][][];
                for (int t = 0; t < steps; t++) output[t] = new double[batch][];
                for (int t = 0; t < steps; t++) for (int b = 0; b < batch; b++) output[t][b] = new double[d * hidden];
                for (int dir = 0; dir < d; dir++)
                {
                    int k = layer * d + dir;
                    string suffix = $"_l{layer}" + (dir == 1 ? "_reverse" : "");
                    hn[k] = new double[batch][];
                    cn[k] = new double[batch][];
                    for (int b = 0; b < batch; b++)
                    {
                        var (h, c) = (h0[k][b], c0[k][b]);
                        for (int s = 0; s < steps; s++)
                        {
                            int t = dir == 0 ? s : steps - 1 - s;
                            (h, c) = Step(kind, p, suffix, input[t][b], h, c);
                            Array.Copy(h, 0, output[t][b], dir * hidden, hidden);
                        }
                        (hn[k][b], cn[k][b]) = (h, c);
                    }
                }
                input = output;
            }
            return (input, hn, cn);
        }
    }

    static double[][][] Nested(int a, int b, int c, Func<int, int, int, double> value) =>
        Enumerable.Range(0, a).Select(i => Enumerable.Range(0, b).Select(j => Enumerable.Range(0, c).Select(k => value(i, j, k)).ToArray()).ToArray()).ToArray();

    static double[] Flat(double[][][] v) => v.SelectMany(a => a.SelectMany(b => b)).ToArray();

    [Theory]
    [InlineData("tanh", true)]
    [InlineData("relu", true)]
    [InlineData("lstm", true)]
    [InlineData("gru", true)]
    [InlineData("lstm", false)]
    [InlineData("gru", false)]
    public void Forward_MatchesTheReferenceEquations_WithFixedWeights(string kind, bool bias)
    {
        const int T = 3, N = 2, In = 2, H = 3, Layers = 2;
        var (module, run) = Make(kind, In, H, Layers, bidirectional: true, bias: bias, dtype: DType.Float64);
        // Fixed weights: a smooth deterministic pattern over every parameter in PyTorch's order.
        var weights = new Dictionary<string, double[]>();
        int offset = 0;
        foreach (var (name, p) in module.NamedParameters())
        {
            weights[name] = Enumerable.Range(offset, p.Numel).Select(i => 0.6 * Math.Sin(0.37 * i + 0.1)).ToArray();
            offset += p.Numel;
        }
        module.LoadStateDict(weights.ToDictionary(kv => kv.Key, kv => Tensor.From(kv.Value, module.StateDict()[kv.Key].Shape.ToArray())));

        var x = Nested(T, N, In, (t, b, i) => Math.Cos(0.5 * t + 1.1 * b + 0.3 * i));
        var h0 = Nested(2 * Layers, N, H, (k, b, j) => 0.3 * Math.Sin(k + 2.0 * b + 0.7 * j));
        var c0 = Nested(2 * Layers, N, H, (k, b, j) => 0.5 * Math.Cos(k - b + 0.4 * j));
        var expected = Reference.Forward(kind, weights, x, h0, c0, Layers, bidirectional: true);

        var (output, h, c) = run(Tensor.From(Flat(x), [T, N, In]), Tensor.From(Flat(h0), [2 * Layers, N, H]),
            kind == "lstm" ? Tensor.From(Flat(c0), [2 * Layers, N, H]) : null);
        Check.Values(Flat(expected.Output), output);
        Check.Values(Flat(expected.H), h);
        if (kind == "lstm") Check.Values(Flat(expected.C), c!);
    }

    // ---- training ----

    [Fact]
    public void LSTM_LearnsTheMeanOfASequence()
    {
        var g = new Generator(11);
        var lstm = new LSTM(1, 12, generator: g);
        var head = new Linear(12, 1, generator: g);
        var optimizer = new Adam(lstm.Parameters().Concat(head.Parameters()), lr: 0.02);
        double first = 0, last = 0;
        for (int step = 0; step < 200; step++)
        {
            var x = Tensor.Rand([6, 32, 1], generator: g) * 2.0 - 1.0;   // [T, N, 1] in [-1, 1]
            var target = x.Mean(0);                                    // [N, 1]
            var (_, (h, _)) = lstm.Forward(x);
            var loss = Losses.MseLoss(head.Forward(h.Select(0, 0)), target);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            if (step == 0) first = loss.Item<float>();
            last = loss.Item<float>();
        }
        // The mean of 6 values from U(-1, 1) has variance 1/18 ≈ 0.056: predicting 0 scores that.
        Assert.True(first > 0.03, $"first loss {first}");
        Assert.True(last < 0.002, $"loss after training {last} (first {first})");
    }
}
