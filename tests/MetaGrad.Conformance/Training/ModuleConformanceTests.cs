using MetaGrad.NN;
using TorchSharp;
using static MetaGrad.Conformance.Interop.TorchBridge;
using TT = TorchSharp.torch.Tensor;
using TModule = TorchSharp.torch.nn.Module;
using TM = TorchSharp.Modules;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// MetaGrad.NN modules against TorchSharp's torch.nn: MetaGrad's parameters and buffers are loaded
/// into the TorchSharp module by their names with a strict load_state_dict (so the names must be
/// PyTorch's), then both run the same input and the same non-uniform upstream gradient; outputs,
/// input gradients, parameter gradients and buffers are compared.
/// </summary>
public class ModuleConformanceTests
{
    const double Rtol = 1e-5, Atol = 1e-6;   // float32: sums over features in another order
    const double MlpRtol = 1e-4, MlpAtol = 1e-5;   // float32 through a chain of layers (see the MLP test)

    internal static Tensor Randn(int seed, DType dtype, params int[] shape)
    {
        var random = new Random(seed);
        var values = Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b))
            .Select(_ => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())).ToArray();
        return Tensor.From(values, shape).To(dtype);
    }

    /// <summary>Copies MetaGrad's state dict into the TorchSharp module; a name either side lacks fails the load.</summary>
    internal static void LoadInto(TModule theirs, Module ours)
    {
        var state = ours.StateDict().ToDictionary(kv => kv.Key, kv => ToTorch(kv.Value));
        var (missing, unexpected) = theirs.load_state_dict(state, strict: true);
        Assert.Empty(missing);
        Assert.Empty(unexpected);
    }

    /// <summary>Output, input gradient and every parameter gradient, with an upstream gradient that differs per element.</summary>
    static void AssertSameForwardAndBackward(string what, Module ours, TModule theirs, Func<Tensor, Tensor> runOurs, Func<TT, TT> runTheirs, Tensor input,
        double rtol = Rtol, double atol = Atol)
    {
        var x = input.Detach().Clone();
        bool differentiable = x.DType.IsFloatingPoint();
        if (differentiable) x.RequiresGrad = true;
        var tx = ToTorch(input);
        if (differentiable) tx.requires_grad_();

        var y = runOurs(x);
        var ty = runTheirs(tx);
        AssertClose(ty, y, rtol, atol, $"{what}: output");

        var upstream = Randn(99, y.DType, y.Shape.ToArray());
        (y * upstream).Sum().Backward();
        (ty * ToTorch(upstream)).sum().backward();
        if (differentiable) AssertClose(tx.grad!, x.Grad!, rtol, atol, $"{what}: input gradient");
        AssertSameParameterGradients(what, ours, theirs, rtol, atol);
    }

    /// <summary>Every parameter's gradient, by name; each of MetaGrad's names must exist on libtorch's side.</summary>
    internal static void AssertSameParameterGradients(string what, Module ours, TModule theirs, double rtol, double atol)
    {
        var theirGrads = theirs.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
        foreach (var (name, p) in ours.NamedParameters())
        {
            Assert.True(theirGrads.ContainsKey(name), $"{what}: parameter {name} is not in libtorch's module");
            Assert.NotNull(p.Grad);
            AssertClose(theirGrads[name]!, p.Grad!, rtol, atol, $"{what}: gradient of {name}");
        }
    }

    [Theory]
    [InlineData(DType.Float32, true)]
    [InlineData(DType.Float32, false)]
    [InlineData(DType.Float64, true)]
    public void Linear(DType dtype, bool bias)
    {
        using var scope = torch.NewDisposeScope();
        var ours = new NN.Linear(5, 3, bias, dtype);
        var theirs = torch.nn.Linear(5, 3, bias, dtype: ToTorch(dtype));
        LoadInto(theirs, ours);
        var (rtol, atol) = dtype == DType.Float64 ? (1e-12, 1e-14) : (Rtol, Atol);
        AssertSameForwardAndBackward($"Linear {dtype} bias {bias}", ours, theirs, ours.Forward, theirs.forward, Randn(1, dtype, 2, 4, 5), rtol, atol);
    }

    [Fact]
    public void Bilinear()
    {
        using var scope = torch.NewDisposeScope();
        var ours = new NN.Bilinear(4, 3, 5);
        var theirs = torch.nn.Bilinear(4, 3, 5);
        LoadInto(theirs, ours);
        var x2 = Randn(2, DType.Float32, 6, 3);
        var tx2 = ToTorch(x2).requires_grad_();
        x2.RequiresGrad = true;
        AssertSameForwardAndBackward("Bilinear", ours, theirs, x => ours.Forward(x, x2), x => theirs.forward(x, tx2), Randn(1, DType.Float32, 6, 4));
        AssertClose(tx2.grad!, x2.Grad!, Rtol, Atol, "Bilinear: second input gradient");
    }

    [Fact]
    public void EmbeddingGivesThePaddingRowNoGradient()
    {
        using var scope = torch.NewDisposeScope();
        var ours = new NN.Embedding(7, 4, paddingIdx: 2);
        var theirs = torch.nn.Embedding(7, 4, padding_idx: 2);
        LoadInto(theirs, ours);
        var ids = Tensor.From(new long[] { 1, 2, 6, 2, 0, 1, 3, 2 }, [2, 4]);
        AssertSameForwardAndBackward("Embedding", ours, theirs, ours.Forward, theirs.forward, ids);
        Assert.All(Values(ours.Weight.Grad![2]), g => Assert.Equal(0.0, g));
    }

    [Fact]
    public void LayerNormOverTheLastTwoDims()
    {
        using var scope = torch.NewDisposeScope();
        var ours = new NN.LayerNorm([3, 4], eps: 1e-4);
        var theirs = torch.nn.LayerNorm([3, 4], eps: 1e-4);
        // Non-trivial affine parameters, so their gradients and effect are seen.
        using (Autograd.NoGrad())
        {
            ours.Weight!.Copy_(Randn(3, DType.Float32, 3, 4));
            ours.Bias!.Copy_(Randn(4, DType.Float32, 3, 4));
        }
        LoadInto(theirs, ours);
        AssertSameForwardAndBackward("LayerNorm", ours, theirs, ours.Forward, theirs.forward, Randn(1, DType.Float32, 2, 3, 4) * 3.0 + 1.0);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void BatchNorm1dTrainsItsRunningStatisticsAndUsesThemInEval(int rank)
    {
        using var scope = torch.NewDisposeScope();
        var ours = new BatchNorm1d(4, momentum: 0.3);
        var theirs = torch.nn.BatchNorm1d(4, momentum: 0.3);
        using (Autograd.NoGrad())
        {
            ours.Weight!.Copy_(Randn(3, DType.Float32, 4));
            ours.Bias!.Copy_(Randn(4, DType.Float32, 4));
        }
        LoadInto(theirs, ours);
        int[] shape = rank == 2 ? [6, 4] : [3, 4, 5];
        for (int step = 0; step < 3; step++)
        {
            var x = Randn(10 + step, DType.Float32, shape) * (1.0 + step) + step;
            AssertSameForwardAndBackward($"BatchNorm1d rank {rank} train step {step}", ours, theirs, ours.Forward, theirs.forward, x);
            ours.ZeroGrad();
            theirs.zero_grad();
        }
        var theirBuffers = theirs.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, buffer) in ours.NamedBuffers())
            AssertClose(theirBuffers[name], buffer, Rtol, Atol, $"BatchNorm1d rank {rank}: buffer {name} after 3 steps");

        ours.Eval();
        theirs.eval();
        AssertSameForwardAndBackward($"BatchNorm1d rank {rank} eval", ours, theirs, ours.Forward, theirs.forward, Randn(20, DType.Float32, shape));
    }

    [Fact]
    public void DropoutInEvalIsTheIdentity()
    {
        using var scope = torch.NewDisposeScope();
        var ours = new NN.Dropout(0.4);
        var theirs = torch.nn.Dropout(0.4);
        ours.Eval();
        theirs.eval();
        AssertSameForwardAndBackward("Dropout eval", ours, theirs, ours.Forward, theirs.forward, Randn(1, DType.Float32, 3, 5), 0, 0);
    }

    public static TheoryData<string> Activations => new(ActivationPairs.Keys);

    static readonly Dictionary<string, Func<(Module<Tensor, Tensor> Ours, torch.nn.Module<TT, TT> Theirs)>> ActivationPairs = new()
    {
        ["ReLU"] = () => (new ReLU(), torch.nn.ReLU()),
        ["LeakyReLU"] = () => (new LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
        ["ELU"] = () => (new ELU(0.7), torch.nn.ELU(0.7)),
        ["GELU"] = () => (new GELU(), torch.nn.GELU()),
        ["GELU-tanh"] = () => (new GELU("tanh"), torch.nn.GELU(TM.GELU.Approximate.tanh)),
        ["Sigmoid"] = () => (new Sigmoid(), torch.nn.Sigmoid()),
        ["Tanh"] = () => (new Tanh(), torch.nn.Tanh()),
        ["SiLU"] = () => (new SiLU(), torch.nn.SiLU()),
        ["Softplus"] = () => (new Softplus(), torch.nn.Softplus()),
        ["Softplus-beta2-threshold5"] = () => (new Softplus(2, 5), torch.nn.Softplus(2, 5)),
        ["Softmax"] = () => (new Softmax(1), torch.nn.Softmax(1)),
        ["LogSoftmax"] = () => (new LogSoftmax(1), torch.nn.LogSoftmax(1)),
        ["Flatten"] = () => (new NN.Flatten(), torch.nn.Flatten()),
        ["Identity"] = () => (new Identity(), torch.nn.Identity()),
    };

    [Theory]
    [MemberData(nameof(Activations))]
    public void Activation(string name)
    {
        using var scope = torch.NewDisposeScope();
        var (ours, theirs) = ActivationPairs[name]();
        // Both signs, exact zeros (the subgradient conventions), and values past Softplus's threshold.
        var x = Tensor.From(new double[] { -30, -3, -1, -0.5, 0, 0, 0.25, 1, 2.5, 3, 12, 40 }, [3, 4]).To(DType.Float32);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
            AssertSameForwardAndBackward($"{name} {dtype}", ours, theirs, ours.Forward, theirs.forward, x.To(dtype), dtype == DType.Float32 ? Rtol : 1e-12, dtype == DType.Float32 ? Atol : 1e-14);
    }

    /// <summary>An MLP written as a MetaGrad model class: fields found by reflection, PascalCase names turned into PyTorch's.</summary>
    sealed class OurMlp : Module<Tensor, Tensor>
    {
        public readonly NN.Linear Fc1 = new(6, 8);
        readonly BatchNorm1d _norm = new(8);
        public readonly Sequential Layers = new(new ReLU(), new NN.Linear(8, 8), new NN.Dropout(0.5), new GELU(), new NN.LayerNorm(8));
        public readonly NN.Linear OutputLayer = new(8, 3);

        public override Tensor Forward(Tensor x) => OutputLayer.Forward(Layers.Forward(_norm.Forward(Fc1.Forward(x))));
    }

    /// <summary>The same MLP in TorchSharp, fields named as a PyTorch user would name attributes.</summary>
    sealed class TheirMlp : torch.nn.Module<TT, TT>
    {
        readonly TM.Linear fc1 = torch.nn.Linear(6, 8);
        readonly TM.BatchNorm1d norm = torch.nn.BatchNorm1d(8);
        readonly TM.Sequential layers = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.Dropout(0.5), torch.nn.GELU(), torch.nn.LayerNorm(8));
        readonly TM.Linear output_layer = torch.nn.Linear(8, 3);

        public TheirMlp() : base(nameof(TheirMlp)) => RegisterComponents();

        public override TT forward(TT x) => output_layer.forward(layers.forward(norm.forward(fc1.forward(x))));
    }

    [Fact]
    public void MlpHasPyTorchsNamesAndComputesTheSame()
    {
        using var scope = torch.NewDisposeScope();
        var ours = new OurMlp();
        var theirs = new TheirMlp();
        Assert.Equal(theirs.named_parameters().Select(p => p.name), ours.NamedParameters().Select(p => p.Name));
        Assert.Equal(theirs.named_buffers().Select(b => b.name), ours.NamedBuffers().Select(b => b.Name));
        // Same keys; the order differs: PyTorch (and MetaGrad) list each module's parameters and buffers
        // before its children's, TorchSharp all parameters first (see DIFFERENCES.md).
        Assert.Equal(theirs.state_dict().Keys.Order(), ours.StateDict().Keys.Order());
        Assert.Equal(["fc1.weight", "fc1.bias", "norm.weight", "norm.bias", "norm.running_mean", "norm.running_var", "norm.num_batches_tracked"],
            ours.StateDict().Keys.Take(7));

        // The default generator is shared by tests running in parallel, so the initial weights would
        // differ from run to run; values of our own make the check reproducible.
        using (Autograd.NoGrad())
        {
            int seed = 11;
            foreach (var (_, p) in ours.NamedParameters()) p.Copy_(Randn(seed++, DType.Float32, p.Shape.ToArray()) * 0.5);
        }
        LoadInto(theirs, ours);
        ours.Eval();   // dropout off, running statistics on: deterministic on both sides
        theirs.eval();
        // Five layers of float32 (two normalisations that divide by a small spread, GELU) between the
        // output and the first layers' gradients: over 300 random initialisations the worst gradient
        // differed from libtorch's by 1.4× the single-layer tolerance (Rtol, Atol), rounding order
        // alone; MlpRtol and MlpAtol are ten times looser.
        AssertSameForwardAndBackward("MLP eval", ours, theirs, ours.Forward, theirs.forward, Randn(5, DType.Float32, 4, 6), MlpRtol, MlpAtol);
    }

    [Fact]
    public void SequentialNamesItsLayersByIndex()
    {
        using var scope = torch.NewDisposeScope();
        var ours = new Sequential(new NN.Linear(4, 8), new ReLU(), new NN.Linear(8, 3));
        var theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3));
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], ours.NamedParameters().Select(p => p.Name));
        Assert.Equal(theirs.named_parameters().Select(p => p.name), ours.NamedParameters().Select(p => p.Name));
        LoadInto(theirs, ours);
        AssertSameForwardAndBackward("Sequential", ours, theirs, ours.Forward, theirs.forward, Randn(5, DType.Float32, 4, 4));
    }
}
