using MetaGrad.NN;
using MetaGrad.NN.Utils;

namespace MetaGrad.Tests.NN;

/// <summary>
/// torch.nn.utils.rnn's padding and packing, with expected values worked by hand from PyTorch's
/// documented examples, and the recurrent modules on packed batches.
/// </summary>
public class RecurrentPackingTests
{
    static Tensor Seq(params float[] values) => Tensor.From(values, [values.Length]);

    [Fact]
    public void PadSequence_StacksAndPadsLikePyTorch()
    {
        // pad_sequence([[1, 2, 3], [4, 5], [6]]): time-major by default.
        var sequences = new[] { Seq(1, 2, 3), Seq(4, 5), Seq(6) };
        var padded = Rnn.PadSequence(sequences);
        Check.Shape([3, 3], padded);
        Check.Values(new float[] { 1, 4, 6, 2, 5, 0, 3, 0, 0 }, padded);
        Check.Values(new float[] { 1, 2, 3, 4, 5, -1, 6, -1, -1 }, Rnn.PadSequence(sequences, batchFirst: true, paddingValue: -1));
        Check.Values(new float[] { 1, 2, 3, 0, 4, 5, 0, 0, 6 }, Rnn.PadSequence(sequences, batchFirst: true, paddingSide: "left"));
        // The documented example: ones(25, 300), ones(22, 300), ones(15, 300) give [25, 3, 300].
        Check.Shape([25, 3, 300], Rnn.PadSequence([Tensor.Ones(25, 300), Tensor.Ones(22, 300), Tensor.Ones(15, 300)]));
    }

    [Fact]
    public void PackSequence_Sorted_GivesDocumentedDataAndBatchSizes()
    {
        // pack_sequence([tensor([1, 2, 3]), tensor([4, 5]), tensor([6])]) is
        // PackedSequence(data=tensor([1, 4, 6, 2, 5, 3]), batch_sizes=tensor([3, 2, 1])).
        var packed = Rnn.PackSequence([Seq(1, 2, 3), Seq(4, 5), Seq(6)]);
        Check.Values(new float[] { 1, 4, 6, 2, 5, 3 }, packed.Data);
        Assert.Equal(new long[] { 3, 2, 1 }, packed.BatchSizes.ToArray<long>());
        Assert.Equal(DType.Int64, packed.BatchSizes.DType);
        Assert.Null(packed.SortedIndices);
        Assert.Null(packed.UnsortedIndices);
    }

    [Fact]
    public void PackPaddedSequence_Unsorted_KeepsThePermutation()
    {
        // Lengths [2, 1, 3]: sorted_indices = [2, 0, 1] (longest first), unsorted_indices = [1, 2, 0].
        var padded = Tensor.From(new float[] { 4, 5, 0, 6, 0, 0, 1, 2, 3 }, [3, 3]);   // batch first
        var packed = Rnn.PackPaddedSequence(padded, [2, 1, 3], batchFirst: true, enforceSorted: false);
        Check.Values(new float[] { 1, 4, 6, 2, 5, 3 }, packed.Data);
        Assert.Equal(new long[] { 3, 2, 1 }, packed.BatchSizes.ToArray<long>());
        Assert.Equal(new long[] { 2, 0, 1 }, packed.SortedIndices!.ToArray<long>());
        Assert.Equal(new long[] { 1, 2, 0 }, packed.UnsortedIndices!.ToArray<long>());

        var ex = Assert.Throws<ArgumentException>(() => Rnn.PackPaddedSequence(padded, [2, 1, 3], batchFirst: true));
        Assert.Contains("sorted in decreasing order", ex.Message);
        Assert.Throws<ArgumentException>(() => Rnn.PackPaddedSequence(padded, [2, 0, 3], batchFirst: true, enforceSorted: false));
    }

    [Fact]
    public void PadPackedSequence_UndoesThePackingInTheOriginalOrder()
    {
        var padded = Tensor.From(new float[] { 4, 5, 0, 6, 0, 0, 1, 2, 3 }, [3, 3, 1]);   // batch first, one feature
        var packed = Rnn.PackPaddedSequence(padded, [2, 1, 3], batchFirst: true, enforceSorted: false);
        Check.Shape([6, 1], packed.Data);

        var (back, lengths) = Rnn.PadPackedSequence(packed, batchFirst: true);
        Check.Values(padded.ToArray<float>(), back);
        Check.Shape([3, 3, 1], back);
        Assert.Equal(new long[] { 2, 1, 3 }, lengths.ToArray<long>());

        // Time-major, a longer total length and another padding value.
        var (timeMajor, _) = Rnn.PadPackedSequence(packed, paddingValue: -1, totalLength: 4);
        Check.Values(new float[] { 4, 6, 1, 5, -1, 2, -1, -1, 3, -1, -1, -1 }, timeMajor);
        Assert.Throws<ArgumentException>(() => Rnn.PadPackedSequence(packed, totalLength: 2));
    }

    [Fact]
    public void PadPackedSequence_GradientFlowsBackToThePaddedInput()
    {
        var x = Check.Input([4, 3, 2]);
        Check.Gradients(a => Rnn.PadPackedSequence(Rnn.PackPaddedSequence(a[0], [2, 4, 1], enforceSorted: false)).Padded, x);
    }

    // Each sequence alone (unbatched, no padding) is what the packed batch must reproduce.
    [Theory]
    [InlineData("lstm", false)]
    [InlineData("lstm", true)]
    [InlineData("gru", true)]
    [InlineData("tanh", true)]
    public void Module_OnPackedBatch_EqualsEachSequenceRunAlone(string kind, bool enforceSorted)
    {
        const int In = 3, H = 4, Layers = 2, D = 2;
        int[] lengths = enforceSorted ? [5, 3, 2] : [3, 5, 2];
        var g = new Generator(5);
        var sequences = lengths.Select(l => Tensor.Randn([l, In], DType.Float64, generator: g)).ToArray();
        var h0 = Tensor.Randn([Layers * D, lengths.Length, H], DType.Float64, generator: g);
        var c0 = Tensor.Randn([Layers * D, lengths.Length, H], DType.Float64, generator: g);
        var packed = Rnn.PackSequence(sequences, enforceSorted);

        (PackedSequence Output, Tensor H, Tensor? C) RunPacked;
        Func<Tensor, int, (Tensor Output, Tensor H, Tensor? C)> runAlone;
        switch (kind)
        {
            case "lstm":
            {
                var m = new LSTM(In, H, Layers, bidirectional: true, dtype: DType.Float64);
                var (o, (h, c)) = m.Forward(packed, (h0, c0));
                RunPacked = (o, h, c);
                runAlone = (x, b) => { var (o1, (h1, c1)) = m.Forward(x, (h0.Select(1, b), c0.Select(1, b))); return (o1, h1, c1); };
                break;
            }
            case "gru":
            {
                var m = new GRU(In, H, Layers, bidirectional: true, dtype: DType.Float64);
                var (o, h) = m.Forward(packed, h0);
                RunPacked = (o, h, null);
                runAlone = (x, b) => { var (o1, h1) = m.Forward(x, h0.Select(1, b)); return (o1, h1, null); };
                break;
            }
            default:
            {
                var m = new RNN(In, H, Layers, bidirectional: true, dtype: DType.Float64);
                var (o, h) = m.Forward(packed, h0);
                RunPacked = (o, h, null);
                runAlone = (x, b) => { var (o1, h1) = m.Forward(x, h0.Select(1, b)); return (o1, h1, null); };
                break;
            }
        }

        var (padded, outLengths) = Rnn.PadPackedSequence(RunPacked.Output, batchFirst: true);
        Assert.Equal(lengths.Select(l => (long)l).ToArray(), outLengths.ToArray<long>());
        Check.Shape([lengths.Length, lengths.Max(), D * H], padded);
        for (int b = 0; b < lengths.Length; b++)
        {
            var (output, h, c) = runAlone(sequences[b], b);
            Check.Values(output.ToArray<double>(), padded.Select(0, b).Narrow(0, 0, lengths[b]));
            Assert.True((padded.Select(0, b).Narrow(0, lengths[b], lengths.Max() - lengths[b]) == 0.0).All(), "padding steps are zero");
            Check.Values(h.ToArray<double>(), RunPacked.H.Select(1, b));
            if (c is not null) Check.Values(c.ToArray<double>(), RunPacked.C!.Select(1, b));
        }
    }

    [Fact]
    public void Module_OnPackedBatch_GradientsMatchFiniteDifferences()
    {
        var gru = new GRU(2, 2, bidirectional: true, dtype: DType.Float64, generator: new Generator(2));
        Check.Gradients(a =>
        {
            var (output, h) = gru.Forward(Rnn.PackPaddedSequence(a[0], [2, 3], enforceSorted: false), a[1]);
            return Tensor.Cat([output.Data.Reshape(-1), h.Reshape(-1)], 0);
        }, Check.Input([3, 2, 2], 1), Check.Input([2, 2, 2], 2));
    }
}
