using MetaGrad.NN;

namespace MetaGrad.Onnx.Tests;

/// <summary>Linear layers, activations and the softmax family, exported and run in ONNX Runtime.</summary>
public class DenseExportTests
{
    static Func<int, Tensor> Randn(int seed, params int[] rest)
    {
        return n => Tensor.Randn([n, .. rest], generator: new Generator((ulong)(seed * 1000 + n)));
    }

    [Fact]
    public void Mlp_MatchesOnnxRuntime_AtTheTracedBatchAndAnother()
    {
        var g = new Generator(1);
        var mlp = new Sequential(new Linear(12, 32, generator: g), new ReLU(), new Linear(32, 16, generator: g), new Tanh(), new Linear(16, 4, generator: g));
        OnnxRuntimeCheck.ExportAndCompare(mlp, Randn(1, 12));
    }

    [Fact]
    public void Activations_MatchOnnxRuntime()
    {
        var g = new Generator(2);
        var model = new Sequential(new Linear(8, 16, generator: g), new GELU(), new Linear(16, 16, generator: g), new Sigmoid(),
            new Linear(16, 16, generator: g), new LeakyReLU(0.1), new Linear(16, 16, generator: g), new ELU(), new SiLU(),
            new Linear(16, 16, generator: g), new GELU("tanh"), new Softplus(), new Hardtanh(), new Linear(16, 6, generator: g), new Softmax(-1));
        OnnxRuntimeCheck.ExportAndCompare(model, n => Randn(2, 8)(n) * 3.0);
    }

    [Fact]
    public void LogSoftmax_OnAThreeDimInput_MatchesOnnxRuntime()
    {
        var g = new Generator(3);
        var model = new Sequential(new Linear(5, 7, generator: g), new LogSoftmax(1));
        OnnxRuntimeCheck.ExportAndCompare(model, Randn(3, 4, 5));
    }

    [Fact]
    public void ExportedFile_DeclaresTheBatchDimAsDynamic_AndFixedOtherwise()
    {
        var g = new Generator(4);
        var model = new Sequential(new Linear(3, 2, generator: g));
        string path = Path.Combine(Path.GetTempPath(), $"metagrad-onnx-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExport.Save(model, Tensor.Randn(2, 3), path, new OnnxExportOptions { DynamicBatch = true });
            using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(path);
            Assert.Equal([-1, 3], session.InputMetadata["input"].Dimensions);
            Assert.Equal("batch", session.InputMetadata["input"].SymbolicDimensions[0]);
            Assert.Equal([-1, 2], session.OutputMetadata["output"].Dimensions);
            OnnxExport.Save(model, Tensor.Randn(2, 3), path);
            using var fixedSession = new Microsoft.ML.OnnxRuntime.InferenceSession(path);
            Assert.Equal([2, 3], fixedSession.InputMetadata["input"].Dimensions);
        }
        finally
        {
            File.Delete(path);
        }
    }

    sealed class RowRange : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor input) => input.Max(1, keepDim: true) - input.Min(1);
    }

    [Theory]
    [InlineData(17)]
    [InlineData(18)]
    public void Reductions_MatchOnnxRuntime_InOpset17And18(int opset)
    {
        var module = new RowRange();
        var options = new OnnxExportOptions { DynamicBatch = true, Opset = opset };
        var model = OnnxExport.ToBytes(module, Randn(5, 6)(3), options);
        OnnxRuntimeCheck.Compare(model, module, xs => [module.Forward(xs[0])], [Randn(5, 6)(3)], [Randn(5, 6)(4)]);
    }

    [Fact]
    public void TheOtherActivations_MatchOnnxRuntime()
    {
        var g = new Generator(5);
        var model = new Sequential(new Linear(8, 16, generator: g), new PReLU(), new ReLU6(), new Linear(16, 16, generator: g), new Hardswish(),
            new Linear(16, 16, generator: g), new Hardsigmoid(), new Mish(), new Linear(16, 16, generator: g), new SELU(), new CELU(0.7),
            new Linear(16, 16, generator: g), new GLU(), new Softsign(), new Tanhshrink(), new Linear(8, 8, generator: g), new Threshold(0.1, -1),
            new LogSigmoid(), new Softmin(1));
        OnnxRuntimeCheck.ExportAndCompare(model, n => Randn(6, 8)(n) * 3.0);
    }
}
