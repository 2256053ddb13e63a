using MetaGrad.NN;
using MetaGrad.NN.Utils;
using TorchSharp;
using TorchSharp.PyBridge;
using static MetaGrad.Conformance.Interop.TorchBridge;
using static MetaGrad.Conformance.Training.ModuleConformanceTests;
using static MetaGrad.Conformance.Training.RecurrentConformanceTests;
using MgSafetensors = MetaGrad.IO.Safetensors;
using TT = TorchSharp.torch.Tensor;
using TPacked = TorchSharp.torch.nn.utils.rnn.PackedSequence;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// MetaGrad's torch.nn.utils.rnn (Rnn) against libtorch's, then each recurrent module over a packed
/// batch; also initialisation bounds and a recurrent state dict written by libtorch to safetensors.
/// </summary>
public sealed class RecurrentPackingConformanceTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("metagrad-recurrent-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // No ties: PyTorch's descending sort is not documented as stable, MetaGrad's is.
    static readonly int[] UnsortedLengths = [3, 5, 1, 4];
    static readonly int[] SortedLengths = [5, 4, 3, 1];

    static Tensor[] Sequences(int[] lengths, DType dtype) =>
        lengths.Select((l, i) => Randn(10 + i, dtype, l, 3)).ToArray();

    static TT Lengths(int[] lengths) => torch.tensor(lengths.Select(l => (long)l).ToArray());

    static void AssertSamePacked(TPacked theirs, PackedSequence ours, string what)
    {
        AssertClose(theirs.data, ours.Data, 0, 0, $"{what}: data");
        AssertClose(theirs.batch_sizes, ours.BatchSizes, 0, 0, $"{what}: batch_sizes");
        AssertSameIndices(theirs.sorted_indices, ours.SortedIndices, $"{what}: sorted_indices");
        AssertSameIndices(theirs.unsorted_indices, ours.UnsortedIndices, $"{what}: unsorted_indices");
    }

    /// <summary>PyTorch has None where the batch was already sorted; TorchSharp null or an undefined tensor.</summary>
    static void AssertSameIndices(TT? theirs, Tensor? ours, string what)
    {
        bool theirsAbsent = theirs is null || theirs.IsInvalid;
        Assert.True(theirsAbsent == ours is null, $"{what}: MetaGrad {(ours is null ? "none" : "present")}, libtorch {(theirsAbsent ? "none" : "present")}");
        if (ours is not null) AssertClose(theirs!, ours, 0, 0, what);
    }

    [Theory]
    [InlineData(false, 0.0)]
    [InlineData(true, -2.5)]
    public void PadSequenceMatchesLibtorch(bool batchFirst, double paddingValue)
    {
        using var scope = torch.NewDisposeScope();
        var sequences = Sequences(UnsortedLengths, DType.Float64);
        var theirSequences = sequences.Select(ToTorch).ToArray();
        AssertClose(torch.nn.utils.rnn.pad_sequence(theirSequences, batchFirst, paddingValue),
            Rnn.PadSequence(sequences, batchFirst, paddingValue), 0, 0, "pad_sequence right");

        // TorchSharp has no padding_side: left padding is right padding of the reversed sequences, reversed in time.
        int timeDim = batchFirst ? 1 : 0;
        var reversedPadded = torch.nn.utils.rnn.pad_sequence(theirSequences.Select(s => s.flip(0)), batchFirst, paddingValue);
        AssertClose(reversedPadded.flip(timeDim), Rnn.PadSequence(sequences, batchFirst, paddingValue, "left"), 0, 0, "pad_sequence left");
    }

    [Fact]
    public void PackSequenceMatchesLibtorch()
    {
        using var scope = torch.NewDisposeScope();
        var sorted = Sequences(SortedLengths, DType.Float64);
        AssertSamePacked(torch.nn.utils.rnn.pack_sequence(sorted.Select(ToTorch), enforce_sorted: true), Rnn.PackSequence(sorted), "pack_sequence sorted");
        var unsorted = Sequences(UnsortedLengths, DType.Float64);
        AssertSamePacked(torch.nn.utils.rnn.pack_sequence(unsorted.Select(ToTorch), enforce_sorted: false),
            Rnn.PackSequence(unsorted, enforceSorted: false), "pack_sequence unsorted");
    }

    /// <summary>Pack then unpack (with and without total_length): every field of the packed batch, the padded result and the lengths.</summary>
    [Theory]
    [InlineData(true, false, null)]
    [InlineData(false, false, null)]
    [InlineData(false, true, 7)]
    [InlineData(true, true, 5)]
    public void PackPaddedAndPadPackedMatchLibtorch(bool enforceSorted, bool batchFirst, int? totalLength)
    {
        using var scope = torch.NewDisposeScope();
        int[] lengths = enforceSorted ? SortedLengths : UnsortedLengths;
        var padded = Rnn.PadSequence(Sequences(lengths, DType.Float64), batchFirst);
        string what = $"enforceSorted {enforceSorted} batchFirst {batchFirst} totalLength {totalLength}";

        var ours = Rnn.PackPaddedSequence(padded, lengths, batchFirst, enforceSorted);
        var theirs = torch.nn.utils.rnn.pack_padded_sequence(ToTorch(padded), Lengths(lengths), batchFirst, enforceSorted);
        AssertSamePacked(theirs, ours, $"pack_padded_sequence {what}");

        var (ourPadded, ourLengths) = Rnn.PadPackedSequence(ours, batchFirst, -1, totalLength);
        var (theirPadded, theirLengths) = torch.nn.utils.rnn.pad_packed_sequence(theirs, batchFirst, -1, totalLength);
        AssertClose(theirPadded, ourPadded, 0, 0, $"pad_packed_sequence {what}: padded");
        AssertClose(theirLengths, ourLengths, 0, 0, $"pad_packed_sequence {what}: lengths");
    }

    public static TheoryData<string, DType, bool> PackedCases()
    {
        var data = new TheoryData<string, DType, bool>();
        foreach (var kind in Kinds)
            foreach (var dtype in new[] { DType.Float64, DType.Float32 })
                foreach (bool ties in new[] { false, true })
                    data.Add(kind, dtype, ties);
        return data;
    }

    /// <summary>
    /// Each module, 2 layers, bidirectional, on a padded batch packed with unsorted lengths and a
    /// random initial state in the caller's batch order: packed output, final states, and the gradients
    /// of the padded input (through pack_padded_sequence), the initial states and every parameter.
    /// With tied lengths the packed order of the tied sequences may differ, so only the unpacked
    /// output is compared (and carries the gradient); without ties the packed data is compared too.
    /// </summary>
    [Theory]
    [MemberData(nameof(PackedCases))]
    public void ModuleOnAPackedBatchMatchesLibtorch(string kind, DType dtype, bool ties)
    {
        using var scope = torch.NewDisposeScope();
        var (rtol, atol) = Tolerance(dtype);
        int[] lengths = ties ? [3, 1, 5, 3] : UnsortedLengths;
        var (ours, theirs, _, _) = Build(kind, 2, true, false, true, dtype);
        int n = lengths.Length;
        var (x, tx) = Leaf(Randn(1, dtype, lengths.Max(), n, InputSize));
        var (h0, th0) = Leaf(Randn(2, dtype, 4, n, HiddenSize));
        var (c0, tc0) = Leaf(Randn(3, dtype, 4, n, HiddenSize));
        var packed = Rnn.PackPaddedSequence(x, lengths, enforceSorted: false);
        var tpacked = torch.nn.utils.rnn.pack_padded_sequence(tx, Lengths(lengths), enforce_sorted: false);

        PackedSequence y;
        Tensor hn;
        Tensor? cn = null;
        TPacked ty;
        TT thn, tcn = null!;
        switch (ours)
        {
            case LSTM lstm:
                (y, (hn, cn)) = lstm.Forward(packed, (h0, c0));
                (ty, thn, tcn) = ((TorchSharp.Modules.LSTM)theirs).call(tpacked, (th0, tc0));
                break;
            case GRU gru:
                (y, hn) = gru.Forward(packed, h0);
                (ty, thn) = ((TorchSharp.Modules.GRU)theirs).call(tpacked, th0);
                break;
            default:
                (y, hn) = ((RNN)ours).Forward(packed, h0);
                (ty, thn) = ((TorchSharp.Modules.RNN)theirs).call(tpacked, th0);
                break;
        }
        string what = $"{kind} {dtype} packed, lengths [{string.Join(", ", lengths)}]";
        if (!ties) AssertClose(ty.data, y.Data, rtol, atol, $"{what}: output data");
        AssertClose(ty.batch_sizes, y.BatchSizes, 0, 0, $"{what}: output batch_sizes");
        var output = Rnn.PadPackedSequence(y).Padded;
        var theirOutput = torch.nn.utils.rnn.pad_packed_sequence(ty).Item1;
        AssertClose(theirOutput, output, rtol, atol, $"{what}: unpacked output");
        AssertClose(thn, hn, rtol, atol, $"{what}: h_n");
        if (cn is not null) AssertClose(tcn, cn, rtol, atol, $"{what}: c_n");

        var w = Randn(91, dtype, output.Shape.ToArray());
        var v = Randn(92, dtype, hn.Shape.ToArray());
        var loss = (output * w).Sum() + (hn * v).Sum();
        var tloss = (theirOutput * ToTorch(w)).sum() + (thn * ToTorch(v)).sum();
        if (cn is not null)
        {
            var u = Randn(93, dtype, cn.Shape.ToArray());
            loss = loss + (cn * u).Sum();
            tloss = tloss + (tcn * ToTorch(u)).sum();
        }
        loss.Backward();
        tloss.backward();
        AssertClose(tx.grad!, x.Grad!, rtol, atol, $"{what}: gradient of the padded input");
        AssertClose(th0.grad!, h0.Grad!, rtol, atol, $"{what}: h0 gradient");
        if (cn is not null) AssertClose(tc0.grad!, c0.Grad!, rtol, atol, $"{what}: c0 gradient");
        AssertSameParameterGradients(what, ours, theirs, rtol, atol);
    }

    /// <summary>Every weight and bias within U(-1/√H, 1/√H) on both sides (the values differ by generator).</summary>
    [Theory]
    [InlineData("tanh")]
    [InlineData("relu")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void ParametersStartWithinPyTorchsBound(string kind)
    {
        using var scope = torch.NewDisposeScope();
        double bound = 1 / Math.Sqrt(HiddenSize);
        var ours = Build(kind, 2, true, false, true, DType.Float64).Ours;
        foreach (var (name, p) in ours.NamedParameters())
            Assert.All(Values(p), value => Assert.True(Math.Abs(value) <= bound, $"MetaGrad {name}: {value} outside ±{bound}"));
        torch.nn.Module theirs = kind switch
        {
            "lstm" => torch.nn.LSTM(InputSize, HiddenSize, 2, bidirectional: true, dtype: torch.float64),
            "gru" => torch.nn.GRU(InputSize, HiddenSize, 2, bidirectional: true, dtype: torch.float64),
            _ => torch.nn.RNN(InputSize, HiddenSize, 2, kind == "relu" ? torch.nn.NonLinearities.ReLU : torch.nn.NonLinearities.Tanh,
                bidirectional: true, dtype: torch.float64),
        };
        foreach (var (name, p) in theirs.named_parameters())
            Assert.All(Values(p), value => Assert.True(Math.Abs(value) <= bound, $"libtorch {name}: {value} outside ±{bound}"));
    }

    /// <summary>A 2-layer bidirectional LSTM's state dict written by libtorch to safetensors loads strictly and gives the same outputs.</summary>
    [Fact]
    public void LstmStateDictWrittenByLibtorchLoadsAndReproducesTheOutputs()
    {
        using var scope = torch.NewDisposeScope();
        var theirs = torch.nn.LSTM(InputSize, HiddenSize, 2, bidirectional: true, dtype: torch.float64);
        var path = Path.Combine(_folder, "lstm.safetensors");
        theirs.save_safetensors(path);
        var ours = new LSTM(InputSize, HiddenSize, 2, bidirectional: true, dtype: DType.Float64);
        var (missing, unexpected) = ours.LoadStateDict(MgSafetensors.Load(path).Tensors, strict: true);
        Assert.Empty(missing);
        Assert.Empty(unexpected);

        var x = Randn(1, DType.Float64, SeqLen, Batch, InputSize);
        var (y, (h, c)) = ours.Forward(x);
        var (ty, th, tc) = theirs.forward(ToTorch(x));
        AssertClose(ty, y, 1e-10, 1e-10, "LSTM from safetensors: output");
        AssertClose(th, h, 1e-10, 1e-10, "LSTM from safetensors: h_n");
        AssertClose(tc, c, 1e-10, 1e-10, "LSTM from safetensors: c_n");
    }
}
