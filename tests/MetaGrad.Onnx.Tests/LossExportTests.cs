using MetaGrad.NN;

namespace MetaGrad.Onnx.Tests;

/// <summary>
/// The losses' forward (the number a validation loop reports) exported with the model: the mean
/// over the batch divides by a count that the graph reads from the input's shape.
/// </summary>
public class LossExportTests
{
    static Tensor Randn(ulong seed, params int[] shape) => Tensor.Randn(shape, generator: new Generator(seed));

    static Tensor Classes(ulong seed, int n, int classes) =>
        (Tensor.Rand([n], generator: new Generator(seed)) * classes).Floor().To(DType.Int64);

    static void ExportAndCompare(Module<Tensor, Tensor> model, Func<Tensor, Tensor, Tensor> loss, Func<ulong, int, Tensor> target)
    {
        Tensor[] Forward(Tensor[] xs) => [loss(model.Forward(xs[0]), xs[1])];
        var options = new OnnxExportOptions { DynamicBatch = true, InputNames = ["input", "target"] };
        var bytes = OnnxExport.ToBytes(model, Forward, [Randn(1, 3, 6), target(1, 3)], options);
        OnnxRuntimeCheck.Compare(bytes, model, Forward, [Randn(1, 3, 6), target(1, 3)], [Randn(2, 7, 6), target(2, 7)]);
    }

    [Fact]
    public void CrossEntropyAndNll_WithClassTargets_MatchOnnxRuntime()
    {
        var model = new Linear(6, 4, generator: new Generator(40));
        ExportAndCompare(model, new CrossEntropyLoss().Forward, (s, n) => Classes(s, n, 4));
        ExportAndCompare(model, new CrossEntropyLoss(labelSmoothing: 0.1).Forward, (s, n) => Classes(s, n, 4));
        ExportAndCompare(model, (y, t) => new NLLLoss().Forward(y.LogSoftmax(1), t), (s, n) => Classes(s, n, 4));
    }

    [Fact]
    public void RegressionAndBinaryLosses_MatchOnnxRuntime()
    {
        var model = new Linear(6, 2, generator: new Generator(41));
        Tensor Targets(ulong s, int n) => Randn(s + 100, n, 2);
        ExportAndCompare(model, new MSELoss().Forward, Targets);
        ExportAndCompare(model, new L1Loss(Reduction.Sum).Forward, Targets);
        ExportAndCompare(model, new SmoothL1Loss().Forward, Targets);
        ExportAndCompare(model, new HuberLoss(delta: 0.5).Forward, Targets);
        ExportAndCompare(model, new BCEWithLogitsLoss().Forward, (s, n) => Tensor.Rand([n, 2], generator: new Generator(s)));
    }
}
