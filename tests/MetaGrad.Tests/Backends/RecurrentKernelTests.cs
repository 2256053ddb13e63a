using MetaGrad.NN;
using MetaGrad.Backends;
using MetaGrad.Functions;

namespace MetaGrad.Tests.Backends;

/// <summary>
/// The fused recurrent layer (one node, the backend's kernel) against the same layer composed of
/// tensor operations from PyTorch's equations, and against finite differences.
/// </summary>
[Collection(ProcessWideState.Name)]   // sets or reads the process-wide thread count
public class RecurrentKernelTests
{
    const int N = 3, H = 4;

    // Packed: sequences of lengths 4, 3, 1 (batch sizes 3, 2, 2, 1); padded: three sequences of 3.
    static int[] Sizes(bool packed) => packed ? [3, 2, 2, 1] : [3, 3, 3];

    // gi, h0, (c0), W_hh, (b_hh) for a layer of the kind, all requiring grad.
    static Tensor[] Inputs(RecurrentKind kind, int[] batchSizes, DType dtype, bool bias = true, ulong seed = 1)
    {
        var g = new Generator(seed);
        int width = RecurrentKinds.Gates(kind) * H, rows = batchSizes.Sum();
        Tensor Random(params int[] shape) => (Tensor.Randn(shape, dtype, generator: g) * 0.8).Detach().RequiresGrad_();
        var inputs = new List<Tensor> { Random(rows, width), Random(N, H) };
        if (kind == RecurrentKind.Lstm) inputs.Add(Random(N, H));
        inputs.Add(Random(width, H));
        if (bias) inputs.Add(Random(width));
        return [.. inputs];
    }

    static Tensor Fused(RecurrentKind kind, Tensor[] a, int[] batchSizes, bool reverse)
    {
        bool lstm = kind == RecurrentKind.Lstm;
        int w = lstm ? 3 : 2;
        return RecurrentLayer.Run(kind, a[0], a[1], lstm ? a[2] : null, a[w], a.Length > w + 1 ? a[w + 1] : null, batchSizes, reverse).Stacked();
    }

    static Tensor Composite(RecurrentKind kind, Tensor[] a, int[] batchSizes, bool reverse)
    {
        bool lstm = kind == RecurrentKind.Lstm;
        int w = lstm ? 3 : 2;
        return RecurrentLayer.Composite(kind, a[0], a[1], lstm ? a[2] : null, a[w], a.Length > w + 1 ? a[w + 1] : null, batchSizes, reverse).Stacked();
    }

    public static TheoryData<RecurrentKind, bool, bool> Layouts()
    {
        var data = new TheoryData<RecurrentKind, bool, bool>();
        foreach (var kind in Enum.GetValues<RecurrentKind>())
            foreach (bool reverse in new[] { false, true })
                foreach (bool packed in new[] { false, true })
                    data.Add(kind, reverse, packed);
        return data;
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Fused_EqualsComposite_StatesAndEveryGradient(RecurrentKind kind, bool reverse, bool packed)
    {
        foreach (var (dtype, tolerance) in new[] { (DType.Float64, 1e-12), (DType.Float32, 2e-6) })
        {
            var sizes = Sizes(packed);
            var a = Inputs(kind, sizes, dtype);
            var fused = Fused(kind, a, sizes, reverse);
            var reference = Composite(kind, a, sizes, reverse);
            Assert.Equal(reference.Shape.ToArray(), fused.Shape.ToArray());
            Assert.True(fused.AllClose(reference, rtol: tolerance, atol: tolerance), $"{kind} {dtype}: states differ");

            // A weighted sum reaches every row of the states, the final h and c included.
            var weights = Tensor.Randn(fused.Shape.ToArray(), dtype, generator: new Generator(9));
            var expected = Autograd.Grad([(reference * weights).Sum()], a);
            var actual = Autograd.Grad([(fused * weights).Sum()], a);
            for (int i = 0; i < a.Length; i++)
                Assert.True(actual[i]!.AllClose(expected[i]!, rtol: 10 * tolerance, atol: 10 * tolerance),
                    $"{kind} {dtype}: gradient of input {i} differs by {(actual[i]! - expected[i]!).Abs().Max().Item<double>()}");
        }
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Fused_GradientsMatchFiniteDifferences(RecurrentKind kind, bool reverse, bool packed)
    {
        var sizes = Sizes(packed);
        Check.Gradients(a => Fused(kind, a, sizes, reverse), Inputs(kind, sizes, DType.Float64));
    }

    [Theory]
    [InlineData(RecurrentKind.Lstm)]
    [InlineData(RecurrentKind.Gru)]
    [InlineData(RecurrentKind.RnnTanh)]
    public void Fused_SecondOrderGradientsMatchFiniteDifferences(RecurrentKind kind)
    {
        // The gradient of the layer, recorded (the backward falls back to the composite), differentiated again.
        int[] sizes = [3, 2];
        var weights = Tensor.Randn([sizes.Sum() + (kind == RecurrentKind.Lstm ? 2 : 1) * N, H], DType.Float64, generator: new Generator(3));
        Check.Gradients(a =>
        {
            var grads = Autograd.Grad([(Fused(kind, a, sizes, reverse: false) * weights).Sum()], a, createGraph: true);
            return Tensor.Cat([.. grads.Select(g => g!.Reshape(-1))], 0);
        }, Inputs(kind, sizes, DType.Float64, bias: false, seed: 4));
    }

    [Theory]
    [InlineData(RecurrentKind.Lstm, false)]
    [InlineData(RecurrentKind.Gru, true)]
    [InlineData(RecurrentKind.RnnRelu, false)]
    public void Fused_BatchSplitAcrossThreads_EqualsComposite(RecurrentKind kind, bool reverse)
    {
        // Enough work that each thread runs its own share of the 16 sequences (lengths 32 down to 1).
        const int n = 16, hidden = 128;
        var sizes = Enumerable.Range(0, 32).Select(t => n - t / 2).ToArray();
        int width = RecurrentKinds.Gates(kind) * hidden;
        Assert.Equal(Math.Min(2, MetaGrad.Backends.Cpu.Threading.NumThreads),
            MetaGrad.Backends.Cpu.CpuBackend.BatchParts(n, n, width, hidden, sizes.Length));
        var g = new Generator(21);
        Tensor Random(params int[] shape) => (Tensor.Randn(shape, DType.Float64, generator: g) * 0.3).Detach().RequiresGrad_();
        var a = kind == RecurrentKind.Lstm
            ? new[] { Random(sizes.Sum(), width), Random(n, hidden), Random(n, hidden), Random(width, hidden), Random(width) }
            : new[] { Random(sizes.Sum(), width), Random(n, hidden), Random(width, hidden), Random(width) };
        var fused = Fused(kind, a, sizes, reverse);
        var reference = Composite(kind, a, sizes, reverse);
        Assert.True(fused.AllClose(reference, 1e-12, 1e-12));
        var weights = Tensor.Randn(fused.Shape.ToArray(), DType.Float64, generator: g);
        var expected = Autograd.Grad([(reference * weights).Sum()], a);
        var actual = Autograd.Grad([(fused * weights).Sum()], a);
        for (int i = 0; i < a.Length; i++) Assert.True(actual[i]!.AllClose(expected[i]!, 1e-10, 1e-10), $"gradient of input {i}");
    }

    // b_ih given to the layer (as the modules do) rather than inside gi: the same states as gi + b_ih
    // given whole, and its gradient (gi's summed over the rows) against the composite and finite differences.
    [Theory]
    [InlineData(RecurrentKind.Lstm, false)]
    [InlineData(RecurrentKind.Gru, true)]
    [InlineData(RecurrentKind.RnnTanh, false)]
    [InlineData(RecurrentKind.RnnRelu, true)]
    public void Fused_WithInputBias_EqualsCompositeAndFiniteDifferences(RecurrentKind kind, bool packed)
    {
        var sizes = Sizes(packed);
        var a = Inputs(kind, sizes, DType.Float64);
        var biasIh = (Tensor.Randn([a[0].Shape[1]], DType.Float64, generator: new Generator(12)) * 0.5).Detach().RequiresGrad_();
        bool lstm = kind == RecurrentKind.Lstm;
        int w = lstm ? 3 : 2;
        Tensor Layer(Tensor[] x, bool fused) => fused
            ? RecurrentLayer.Run(kind, x[0], x[1], lstm ? x[2] : null, x[w], x[w + 1], sizes, false, x[w + 2]).Stacked()
            : RecurrentLayer.Composite(kind, x[0], x[1], lstm ? x[2] : null, x[w], x[w + 1], sizes, false, x[w + 2]).Stacked();
        Tensor[] all = [.. a, biasIh];
        var fusedStates = Layer(all, true);
        Assert.True(fusedStates.AllClose(Layer(all, false), 1e-12, 1e-12));
        var whole = Fused(kind, [(a[0] + biasIh).Detach(), .. a[1..]], sizes, false);
        Assert.True(fusedStates.AllClose(whole, 1e-15, 0), "b_ih inside gi and beside it");

        var weights = Tensor.Randn(fusedStates.Shape.ToArray(), DType.Float64, generator: new Generator(13));
        var expected = Autograd.Grad([(Layer(all, false) * weights).Sum()], all);
        var actual = Autograd.Grad([(Layer(all, true) * weights).Sum()], all);
        for (int i = 0; i < all.Length; i++)
            Assert.True(actual[i]!.AllClose(expected[i]!, 1e-10, 1e-10), $"{kind}: gradient of input {i}");
        Check.Gradients(x => Layer(x, true), all);
    }

    [Fact]
    public void Fused_WithoutBias_EqualsComposite()
    {
        int[] sizes = [3, 3];
        var a = Inputs(RecurrentKind.Lstm, sizes, DType.Float64, bias: false);
        Assert.True(Fused(RecurrentKind.Lstm, a, sizes, false).AllClose(Composite(RecurrentKind.Lstm, a, sizes, false), rtol: 1e-12, atol: 1e-12));
    }

    [Fact]
    public void Module_InputOfAnotherDTypeThanItsParameters_IsAClearError()
    {
        var lstm = new MetaGrad.NN.LSTM(3, 4);   // Float32 parameters
        var error = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros([5, 2, 3], DType.Float64)));
        Assert.Contains("Lstm", error.Message);
        Assert.Contains("Float64", error.Message);
        Assert.Contains("Float32", error.Message);
    }

    // A backward that frees the graph writes the LSTM's gate gradients over its trace of the gates;
    // one that keeps the graph must leave the trace for the next.
    [Theory]
    [InlineData(DType.Float64)]
    [InlineData(DType.Float32)]
    public void Lstm_RetainedGraph_EveryBackwardGivesTheSameGradients(DType dtype)
    {
        int[] sizes = [3, 2, 2, 1];
        var a = Inputs(RecurrentKind.Lstm, sizes, dtype);
        var states = Fused(RecurrentKind.Lstm, a, sizes, false);
        var loss = (states * Tensor.Randn(states.Shape.ToArray(), dtype, generator: new Generator(9))).Sum();
        var first = Autograd.Grad([loss], a, retainGraph: true);
        var second = Autograd.Grad([loss], a, retainGraph: true);
        var last = Autograd.Grad([loss], a);
        var expected = Autograd.Grad([(Composite(RecurrentKind.Lstm, a, sizes, false) * Tensor.Randn(states.Shape.ToArray(), dtype, generator: new Generator(9))).Sum()], a);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.True(second[i]!.Equal(first[i]!), $"input {i}: the second backward differs from the first");
            Assert.True(last[i]!.Equal(first[i]!), $"input {i}: the last backward differs from the first");
            double tolerance = dtype == DType.Float64 ? 1e-11 : 2e-5;
            Assert.True(first[i]!.AllClose(expected[i]!, rtol: tolerance, atol: tolerance), $"input {i}: differs from the composite layer");
        }
    }

    [Fact]
    public void Lstm_FreedGraph_GiGradientIsWrittenOverTheGatesTrace()
    {
        int[] sizes = [3, 3];
        var a = Inputs(RecurrentKind.Lstm, sizes, DType.Float64);
        var outputs = RecurrentLayer.Run(RecurrentKind.Lstm, a[0], a[1], a[2], a[3], a[4], sizes, reverse: false);
        var gates = outputs.Output.GradFn!.SavedForDrawing[a.Length + 1];
        Assert.Equal(new[] { 6, 4 * H }, gates.Shape.ToArray());
        var expected = Autograd.Grad([Composite(RecurrentKind.Lstm, a, sizes, false).Sum()], [a[0]], retainGraph: true)[0]!;
        var grad = Autograd.Grad([outputs.Stacked().Sum()], [a[0]])[0]!;
        Assert.Same(gates.Storage, grad.Storage);
        Assert.True(grad.AllClose(expected, rtol: 1e-12, atol: 1e-12));
    }

    // The gates' buffer, now gi's gradient, goes back to the pool once the input projection's
    // backward has used it, as the buffer of a gradient made in the pass would: left to the
    // collector, every training step would take a new one.
    [Fact]
    public void Lstm_TrainingBackward_GivesTheGatesBufferBackOnceTheProjectionUsedIt()
    {
        int[] sizes = [3, 3];
        var a = Inputs(RecurrentKind.Lstm, sizes, DType.Float64);
        var g = new Generator(5);
        var x = Tensor.Randn([6, 5], DType.Float64, generator: g);
        var wIh = (Tensor.Randn([4 * H, 5], DType.Float64, generator: g) * 0.5).Detach().RequiresGrad_();
        var outputs = RecurrentLayer.Run(RecurrentKind.Lstm, x.Matmul(wIh.T), a[1], a[2], a[3], a[4], sizes, reverse: false);
        var gates = outputs.Output.GradFn!.SavedForDrawing[a.Length + 1];
        var expected = Autograd.Grad([Composite(RecurrentKind.Lstm, [x.Matmul(wIh.T), .. a[1..]], sizes, false).Sum()], [wIh, a[3]]);
        outputs.Stacked().Sum().Backward();
        Assert.Equal(0, gates.Storage.Length);   // released
        Assert.True(wIh.Grad!.AllClose(expected[0]!, rtol: 1e-12, atol: 1e-12));
        Assert.True(a[3].Grad!.AllClose(expected[1]!, rtol: 1e-12, atol: 1e-12));
    }

    // The kernel takes the gradients of the outputs, the final h and the final c as they come;
    // those that no loss reached are zeros.
    [Theory]
    [InlineData(RecurrentKind.Lstm, "output")]
    [InlineData(RecurrentKind.Lstm, "h")]
    [InlineData(RecurrentKind.Lstm, "c")]
    [InlineData(RecurrentKind.Lstm, "h and c")]
    [InlineData(RecurrentKind.Gru, "output")]
    [InlineData(RecurrentKind.Gru, "h")]
    [InlineData(RecurrentKind.RnnTanh, "h")]
    public void Fused_GradientsReachingSomeOutputsOnly_EqualComposite(RecurrentKind kind, string reached)
    {
        int[] sizes = [3, 2, 2, 1];
        var a = Inputs(kind, sizes, DType.Float64);
        bool lstm = kind == RecurrentKind.Lstm;
        int w = lstm ? 3 : 2;
        var fused = RecurrentLayer.Run(kind, a[0], a[1], lstm ? a[2] : null, a[w], a[w + 1], sizes, reverse: false);
        var composite = RecurrentLayer.Composite(kind, a[0], a[1], lstm ? a[2] : null, a[w], a[w + 1], sizes, reverse: false);
        Tensor Loss(RecurrentOutputs o) => reached switch
        {
            "output" => (o.Output * o.Output).Sum(),
            "h" => (o.H * 3.0).Sum(),
            "c" => (o.C! * o.C!).Sum(),
            _ => (o.H * o.C!).Sum(),
        };
        var expected = Autograd.Grad([Loss(composite)], a);
        var actual = Autograd.Grad([Loss(fused)], a);
        for (int i = 0; i < a.Length; i++)
            Assert.True(actual[i]!.AllClose(expected[i]!, rtol: 1e-11, atol: 1e-11),
                $"{kind}, {reached}: gradient of input {i} differs by {(actual[i]! - expected[i]!).Abs().Max().Item<double>()}");
    }

    [Fact]
    public void Fused_InPlaceChangeOfAnInput_IsReportedAtBackward()
    {
        int[] sizes = [3];
        var a = Inputs(RecurrentKind.Gru, sizes, DType.Float64);
        var states = Fused(RecurrentKind.Gru, a, sizes, false);
        using (Autograd.NoGrad()) a[2].Mul_(2);
        var error = Assert.Throws<InvalidOperationException>(() => states.Sum().Backward());
        Assert.Contains("modified by an inplace operation", error.Message);
    }
}
