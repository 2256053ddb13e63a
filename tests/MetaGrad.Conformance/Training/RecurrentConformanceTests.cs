using MetaGrad.NN;
using TorchSharp;
using static MetaGrad.Conformance.Interop.TorchBridge;
using static MetaGrad.Conformance.Training.ModuleConformanceTests;
using TT = TorchSharp.torch.Tensor;
using TModule = TorchSharp.torch.nn.Module;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// MetaGrad's RNN, LSTM, GRU and their cells against libtorch's (through TorchSharp), following
/// tests/MetaGrad.Tests/NN/RECURRENT-LIBTORCH-CASES.md: MetaGrad's parameters are loaded into the
/// libtorch module by name with a strict load_state_dict, both run the same input and initial state,
/// and the output, final states and the gradients of input, states and every parameter are compared.
/// </summary>
public class RecurrentConformanceTests
{
    internal const int InputSize = 5, HiddenSize = 7, SeqLen = 6, Batch = 4;

    public static readonly string[] Kinds = ["tanh", "relu", "lstm", "gru"];

    /// <summary>One side's forward: (input, h0, c0) → (output, h_n, c_n), states null for "zeros", c only for LSTM.</summary>
    internal delegate (Tensor Output, Tensor H, Tensor? C) OursRun(Tensor x, Tensor? h0, Tensor? c0);
    /// <summary>The same on libtorch's side.</summary>
    internal delegate (TT Output, TT H, TT? C) TheirsRun(TT x, TT? h0, TT? c0);

    /// <summary>A MetaGrad module with random parameters, and libtorch's with the same parameters loaded by name.</summary>
    internal static (Module Ours, TModule Theirs, OursRun RunOurs, TheirsRun RunTheirs) Build(
        string kind, int layers, bool bidirectional, bool batchFirst, bool bias, DType dtype, double dropout = 0)
    {
        var tdtype = ToTorch(dtype);
        switch (kind)
        {
            case "lstm":
            {
                var ours = new LSTM(InputSize, HiddenSize, layers, bias, batchFirst, dropout, bidirectional, dtype);
                var theirs = torch.nn.LSTM(InputSize, HiddenSize, layers, bias, batchFirst, dropout, bidirectional, dtype: tdtype);
                LoadInto(theirs, ours);
                return (ours, theirs,
                    (x, h, c) => { var (y, (hn, cn)) = ours.Forward(x, h is null ? null : (h, c!)); return (y, hn, cn); },
                    (x, h, c) => { var (y, hn, cn) = theirs.forward(x, h is null ? null : (h, c!)); return (y, hn, cn); });
            }
            case "gru":
            {
                var ours = new GRU(InputSize, HiddenSize, layers, bias, batchFirst, dropout, bidirectional, dtype);
                var theirs = torch.nn.GRU(InputSize, HiddenSize, layers, bias, batchFirst, dropout, bidirectional, dtype: tdtype);
                LoadInto(theirs, ours);
                return (ours, theirs,
                    (x, h, _) => { var (y, hn) = ours.Forward(x, h); return (y, hn, null); },
                    (x, h, _) => { var (y, hn) = theirs.forward(x, h); return (y, hn, null); });
            }
            default:
            {
                var ours = new RNN(InputSize, HiddenSize, layers, kind, bias, batchFirst, dropout, bidirectional, dtype);
                var nonlinearity = kind == "relu" ? torch.nn.NonLinearities.ReLU : torch.nn.NonLinearities.Tanh;
                var theirs = torch.nn.RNN(InputSize, HiddenSize, layers, nonlinearity, bias, batchFirst, dropout, bidirectional, dtype: tdtype);
                LoadInto(theirs, ours);
                return (ours, theirs,
                    (x, h, _) => { var (y, hn) = ours.Forward(x, h); return (y, hn, null); },
                    (x, h, _) => { var (y, hn) = theirs.forward(x, h); return (y, hn, null); });
            }
        }
    }

    /// <summary>Relative and absolute, looser than the single modules': each gradient runs back through six steps of matmuls.</summary>
    internal static (double Rtol, double Atol) Tolerance(DType dtype) => dtype == DType.Float64 ? (1e-10, 1e-10) : (1e-5, 1e-5);

    /// <summary>A leaf copy on each side, requiring grad.</summary>
    internal static (Tensor Ours, TT Theirs) Leaf(Tensor t)
    {
        var ours = t.Detach().Clone();
        ours.RequiresGrad = true;
        return (ours, ToTorch(t).requires_grad_());
    }

    /// <summary>
    /// Output and final states, then the gradients of (output·w).sum() + (h_n·v).sum() (+ (c_n·u).sum())
    /// with respect to the input, the initial states (when given) and every parameter.
    /// </summary>
    static void AssertSameRun(string what, Module ours, TModule theirs, OursRun runOurs, TheirsRun runTheirs,
        Tensor input, Tensor? h0, Tensor? c0, DType dtype)
    {
        var (rtol, atol) = Tolerance(dtype);
        var (x, tx) = Leaf(input);
        var (h, th) = h0 is null ? (null, null) : Leaf(h0);
        var (c, tc) = c0 is null ? (null, null) : Leaf(c0);

        var (y, hn, cn) = runOurs(x, h, c);
        var (ty, thn, tcn) = runTheirs(tx, th, tc);
        AssertClose(ty, y, rtol, atol, $"{what}: output");
        AssertClose(thn, hn, rtol, atol, $"{what}: h_n");
        if (tcn is not null) AssertClose(tcn, cn!, rtol, atol, $"{what}: c_n");

        var w = Randn(91, dtype, y.Shape.ToArray());
        var v = Randn(92, dtype, hn.Shape.ToArray());
        var loss = (y * w).Sum() + (hn * v).Sum();
        var tloss = (ty * ToTorch(w)).sum() + (thn * ToTorch(v)).sum();
        if (cn is not null)
        {
            var u = Randn(93, dtype, cn.Shape.ToArray());
            loss = loss + (cn * u).Sum();
            tloss = tloss + (tcn! * ToTorch(u)).sum();
        }
        loss.Backward();
        tloss.backward();
        AssertClose(tx.grad!, x.Grad!, rtol, atol, $"{what}: input gradient");
        if (h is not null) AssertClose(th!.grad!, h.Grad!, rtol, atol, $"{what}: h0 gradient");
        if (c is not null) AssertClose(tc!.grad!, c.Grad!, rtol, atol, $"{what}: c0 gradient");
        AssertSameParameterGradients(what, ours, theirs, rtol, atol);
    }

    public static TheoryData<string, DType> KindsAndDtypes()
    {
        var data = new TheoryData<string, DType>();
        foreach (var kind in Kinds)
            foreach (var dtype in new[] { DType.Float64, DType.Float32 })
                data.Add(kind, dtype);
        return data;
    }

    /// <summary>
    /// Layers {1, 3} × bidirectional × batch first × bias: parameter names, order and shapes, then
    /// forward and every gradient with a random initial state, and the forward from a zero one.
    /// </summary>
    [Theory]
    [MemberData(nameof(KindsAndDtypes))]
    public void ModuleMatchesLibtorchInEveryConfiguration(string kind, DType dtype)
    {
        foreach (int layers in new[] { 1, 3 })
            foreach (bool bidirectional in new[] { false, true })
                foreach (bool batchFirst in new[] { false, true })
                    foreach (bool bias in new[] { false, true })
                    {
                        using var scope = torch.NewDisposeScope();
                        string what = $"{kind} {dtype} layers {layers} bidirectional {bidirectional} batchFirst {batchFirst} bias {bias}";
                        var (ours, theirs, runOurs, runTheirs) = Build(kind, layers, bidirectional, batchFirst, bias, dtype);

                        var ourParameters = ours.NamedParameters().Select(p => (p.Name, string.Join(",", p.Parameter.Shape.ToArray()))).ToList();
                        var theirParameters = theirs.named_parameters().Select(p => (p.name, string.Join(",", p.parameter.shape))).ToList();
                        Assert.Equal(theirParameters, ourParameters);

                        int d = bidirectional ? 2 : 1;
                        int[] inputShape = batchFirst ? [Batch, SeqLen, InputSize] : [SeqLen, Batch, InputSize];
                        var input = Randn(1, dtype, inputShape);
                        var h0 = Randn(2, dtype, d * layers, Batch, HiddenSize);
                        var c0 = kind == "lstm" ? Randn(3, dtype, d * layers, Batch, HiddenSize) : null;
                        AssertSameRun(what, ours, theirs, runOurs, runTheirs, input, h0, c0, dtype);

                        ours.ZeroGrad();
                        theirs.zero_grad();
                        AssertSameRun($"{what} zero state", ours, theirs, runOurs, runTheirs, input, null, null, dtype);
                    }
    }

    /// <summary>An unbatched sequence [T, in] with an unbatched state [D·layers, H].</summary>
    [Theory]
    [MemberData(nameof(KindsAndDtypes))]
    public void UnbatchedSequenceMatchesLibtorch(string kind, DType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var (ours, theirs, runOurs, runTheirs) = Build(kind, 2, true, false, true, dtype);
        runTheirs = AsUnbatched(runTheirs, 1);
        var input = Randn(1, dtype, SeqLen, InputSize);
        var h0 = Randn(2, dtype, 4, HiddenSize);
        var c0 = kind == "lstm" ? Randn(3, dtype, 4, HiddenSize) : null;
        AssertSameRun($"{kind} {dtype} unbatched", ours, theirs, runOurs, runTheirs, input, h0, c0, dtype);
    }

    /// <summary>Dropout between layers is off in eval (equal to libtorch's eval); in training it changes the output.</summary>
    [Theory]
    [InlineData("tanh")]
    [InlineData("relu")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void DropoutInEvalMatchesLibtorchAndTrainingDiffers(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var (ours, theirs, runOurs, runTheirs) = Build(kind, 3, true, false, true, DType.Float64, dropout: 0.3);
        var input = Randn(1, DType.Float64, SeqLen, Batch, InputSize);
        ours.Eval();
        theirs.eval();
        AssertSameRun($"{kind} dropout eval", ours, theirs, runOurs, runTheirs, input, null, null, DType.Float64);

        var evalOutput = runOurs(input, null, null).Output;
        ours.Train();
        theirs.train();
        var trainOutput = runOurs(input, null, null).Output;
        var theirTrainOutput = runTheirs(ToTorch(input), null, null).Output;
        Assert.Equal(evalOutput.Shape.ToArray(), trainOutput.Shape.ToArray());
        Assert.Equal(theirTrainOutput.shape, trainOutput.Shape.Select(s => (long)s).ToArray());
        Assert.NotEqual(Values(evalOutput), Values(trainOutput));
    }

    /// <summary>
    /// RNNCell (tanh, relu), LSTMCell, GRUCell: batched [N, in] and unbatched [in], with and without
    /// state and bias: output(s) and the gradients of input, state and every parameter.
    /// </summary>
    [Theory]
    [MemberData(nameof(KindsAndDtypes))]
    public void CellMatchesLibtorch(string kind, DType dtype)
    {
        foreach (bool bias in new[] { false, true })
            foreach (bool batched in new[] { false, true })
                foreach (bool withState in new[] { false, true })
                {
                    using var scope = torch.NewDisposeScope();
                    string what = $"{kind} cell {dtype} bias {bias} batched {batched} state {withState}";
                    var (ours, theirs, runOurs, runTheirs) = BuildCell(kind, bias, dtype);
                    if (!batched) runTheirs = AsUnbatched(runTheirs, 0);
                    Assert.Equal(theirs.named_parameters().Select(p => (p.name, string.Join(",", p.parameter.shape))),
                        ours.NamedParameters().Select(p => (p.Name, string.Join(",", p.Parameter.Shape.ToArray()))));
                    int[] inputShape = batched ? [Batch, InputSize] : [InputSize];
                    int[] stateShape = batched ? [Batch, HiddenSize] : [HiddenSize];
                    var input = Randn(1, dtype, inputShape);
                    var h0 = withState ? Randn(2, dtype, stateShape) : null;
                    var c0 = withState && kind == "lstm" ? Randn(3, dtype, stateShape) : null;
                    AssertSameRun(what, ours, theirs, runOurs, runTheirs, input, h0, c0, dtype);
                }
    }

    /// <summary>
    /// libtorch's C++ modules (which TorchSharp wraps) accept only batched input, unlike Python's
    /// torch.nn: their side runs a batch of one, unsqueezed at dim in the input, states and results.
    /// </summary>
    static TheirsRun AsUnbatched(TheirsRun run, int dim) => (x, h, c) =>
    {
        var (y, hn, cn) = run(x.unsqueeze(dim), h?.unsqueeze(dim), c?.unsqueeze(dim));
        return (y.squeeze(dim), hn.squeeze(dim), cn?.squeeze(dim));
    };

    /// <summary>A cell seen as a one-step module: output is h', H is h' again (its gradient counts twice on both sides).</summary>
    static (Module Ours, TModule Theirs, OursRun RunOurs, TheirsRun RunTheirs) BuildCell(string kind, bool bias, DType dtype)
    {
        var tdtype = ToTorch(dtype);
        switch (kind)
        {
            case "lstm":
            {
                var ours = new LSTMCell(InputSize, HiddenSize, bias, dtype);
                var theirs = torch.nn.LSTMCell(InputSize, HiddenSize, bias, dtype: tdtype);
                LoadInto(theirs, ours);
                return (ours, theirs,
                    (x, h, c) => { var (hn, cn) = ours.Forward(x, h is null ? null : (h, c!)); return (hn, hn, cn); },
                    (x, h, c) =>
                    {
                        // TorchSharp's LSTMCell fails without a state; zeros are PyTorch's default.
                        var zeros = torch.zeros(x.shape[0], HiddenSize, dtype: x.dtype);
                        var (hn, cn) = theirs.forward(x, (h ?? zeros, c ?? zeros));
                        return (hn, hn, cn);
                    });
            }
            case "gru":
            {
                var ours = new GRUCell(InputSize, HiddenSize, bias, dtype);
                var theirs = torch.nn.GRUCell(InputSize, HiddenSize, bias, dtype: tdtype);
                LoadInto(theirs, ours);
                return (ours, theirs,
                    (x, h, _) => { var hn = ours.Forward(x, h); return (hn, hn, null); },
                    (x, h, _) => { var hn = theirs.forward(x, h); return (hn, hn, null); });
            }
            default:
            {
                var ours = new RNNCell(InputSize, HiddenSize, bias, kind, dtype);
                var nonlinearity = kind == "relu" ? torch.nn.NonLinearities.ReLU : torch.nn.NonLinearities.Tanh;
                var theirs = torch.nn.RNNCell(InputSize, HiddenSize, nonlinearity, bias, dtype: tdtype);
                LoadInto(theirs, ours);
                return (ours, theirs,
                    (x, h, _) => { var hn = ours.Forward(x, h); return (hn, hn, null); },
                    (x, h, _) => { var hn = theirs.forward(x, h); return (hn, hn, null); });
            }
        }
    }
}
