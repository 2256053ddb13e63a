using MetaGrad.NN;

namespace MetaGrad.Onnx.Tests;

/// <summary>
/// Recurrent layers as ONNX's LSTM, GRU and RNN operators (gate order converted), embeddings,
/// layer normalisation and dropout in evaluation, exported and run in ONNX Runtime.
/// </summary>
public class SequenceExportTests
{
    static Tensor Randn(ulong seed, params int[] shape) => Tensor.Randn(shape, generator: new Generator(seed));

    [Fact]
    public void BidirectionalTwoLayerLstm_BatchFirst_MatchesOnnxRuntime_OutputsAndStates()
    {
        var lstm = new LSTM(5, 6, numLayers: 2, batchFirst: true, bidirectional: true, generator: new Generator(20));
        Tensor[] Forward(Tensor[] xs)
        {
            var (output, (h, c)) = lstm.Forward(xs[0]);
            return [output, h, c];
        }
        var model = OnnxExport.ToBytes(lstm, Forward, [Randn(1, 3, 4, 5)], new OnnxExportOptions { DynamicBatch = true });
        OnnxRuntimeCheck.Compare(model, lstm, Forward, [Randn(1, 3, 4, 5)], [Randn(2, 5, 4, 5)]);
    }

    [Fact]
    public void Gru_SequenceFirst_FromAGivenState_MatchesOnnxRuntime_WithTheBatchInDim1()
    {
        var gru = new GRU(4, 5, numLayers: 2, generator: new Generator(21));
        Tensor[] Forward(Tensor[] xs)
        {
            var (output, h) = gru.Forward(xs[0], xs[1]);
            return [output, h];
        }
        var options = new OnnxExportOptions { DynamicBatch = true, BatchDim = 1, InputNames = ["x", "h0"] };
        var model = OnnxExport.ToBytes(gru, Forward, [Randn(3, 6, 3, 4), Randn(4, 2, 3, 5)], options);
        OnnxRuntimeCheck.Compare(model, gru, Forward, [Randn(3, 6, 3, 4), Randn(4, 2, 3, 5)], [Randn(5, 6, 2, 4), Randn(6, 2, 2, 5)]);
    }

    [Theory]
    [InlineData(RecurrentKind.Lstm, "LSTM")]
    [InlineData(RecurrentKind.Gru, "GRU")]
    [InlineData(RecurrentKind.RnnTanh, "RNN")]
    public void RecurrentLayers_BecomeOnnxsOwnOperators_WithoutTheInputProjection(RecurrentKind kind, string opType)
    {
        var g = new Generator(24);
        Module module = kind switch
        {
            RecurrentKind.Lstm => new LSTM(3, 4, generator: g),
            RecurrentKind.Gru => new GRU(3, 4, generator: g),
            _ => new RNN(3, 4, generator: g),
        };
        Tensor[] Forward(Tensor[] xs) => module switch
        {
            LSTM l => [l.Forward(xs[0]).Output],
            HiddenStateRecurrentModule r => [r.Forward(xs[0]).Output],
            _ => throw new InvalidOperationException(),
        };
        var model = OnnxExport.Build(module, Forward, [Randn(9, 5, 2, 3)]);
        Assert.Single(model.Nodes, n => n.OpType == opType);
        Assert.DoesNotContain(model.Nodes, n => n.OpType is "Gemm" or "MatMul");
    }

    [Theory]
    [InlineData("tanh", false)]
    [InlineData("relu", true)]
    public void Rnn_MatchesOnnxRuntime(string nonlinearity, bool bidirectional)
    {
        var rnn = new RNN(3, 4, nonlinearity: nonlinearity, bidirectional: bidirectional, batchFirst: true, generator: new Generator(22));
        Tensor[] Forward(Tensor[] xs)
        {
            var (output, h) = rnn.Forward(xs[0]);
            return [output, h];
        }
        var model = OnnxExport.ToBytes(rnn, Forward, [Randn(7, 2, 5, 3)], new OnnxExportOptions { DynamicBatch = true });
        OnnxRuntimeCheck.Compare(model, rnn, Forward, [Randn(7, 2, 5, 3)], [Randn(8, 4, 5, 3)]);
    }

    sealed class Tagger : Module<Tensor, Tensor>
    {
        readonly Embedding _embedding;
        readonly LSTM _lstm;
        readonly LayerNorm _norm;
        readonly Dropout _dropout;
        readonly Linear _head;

        public Tagger()
        {
            var g = new Generator(23);
            _embedding = new Embedding(30, 8, generator: g);
            _lstm = new LSTM(8, 10, batchFirst: true, generator: g);
            _norm = new LayerNorm([10]);
            _dropout = new Dropout(0.3);
            _head = new Linear(10, 7, generator: g);
            RegisterModule("embedding", _embedding);
            RegisterModule("lstm", _lstm);
            RegisterModule("norm", _norm);
            RegisterModule("dropout", _dropout);
            RegisterModule("head", _head);
        }

        public override Tensor Forward(Tensor ids) =>
            _head.Forward(_dropout.Forward(_norm.Forward(_lstm.Forward(_embedding.Forward(ids)).Output))).LogSoftmax(-1);
    }

    [Fact]
    public void EmbeddingLstmLayerNormDropoutHead_MatchesOnnxRuntime_OnIntegerIds()
    {
        var tagger = new Tagger();
        Tensor Ids(int n) => (Tensor.Rand([n, 6], generator: new Generator((ulong)n)) * 30).Floor().To(DType.Int64);
        OnnxRuntimeCheck.ExportAndCompare(tagger, Ids, traced: 2, other: 4);
    }
}
