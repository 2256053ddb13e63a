using MetaGrad.NN;
using TorchSharp;
using static MetaGrad.Conformance.Interop.TorchBridge;
using static MetaGrad.Conformance.Training.ModuleConformanceTests;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// NN.EmbeddingBag against torch.nn.EmbeddingBag (torch.nn.functional.embedding_bag underneath):
/// the weight is loaded by name, both run the same bags, and the outputs, the weight's gradient and
/// the per-sample weights' gradient are compared for one non-uniform upstream gradient. The ids
/// include the last row, so a padding index TorchSharp might read into "none" would show.
/// </summary>
public class EmbeddingBagConformanceTests
{
    [Theory]
    [InlineData("sum", DType.Float32, false, null, false)]
    [InlineData("mean", DType.Float32, false, null, false)]
    [InlineData("max", DType.Float32, false, null, false)]
    [InlineData("sum", DType.Float64, false, 3, false)]
    [InlineData("mean", DType.Float64, false, 3, false)]
    [InlineData("max", DType.Float64, false, 3, false)]
    [InlineData("sum", DType.Float64, true, null, false)]
    [InlineData("mean", DType.Float32, true, 0, false)]
    [InlineData("sum", DType.Float64, false, null, true)]
    [InlineData("sum", DType.Float32, true, null, true)]
    public void EmbeddingBag(string mode, DType dtype, bool twoDimensional, int? paddingIdx, bool perSampleWeights)
    {
        using var scope = torch.NewDisposeScope();
        var (rtol, atol) = dtype == DType.Float64 ? (1e-12, 1e-14) : (1e-5, 1e-6);
        var ours = new NN.EmbeddingBag(7, 4, mode, paddingIdx: paddingIdx, dtype: dtype, generator: new Generator(5));
        var theirMode = mode switch { "sum" => EmbeddingBagMode.Sum, "mean" => EmbeddingBagMode.Mean, _ => EmbeddingBagMode.Max };
        var theirs = torch.nn.EmbeddingBag(7, 4, mode: theirMode, padding_index: paddingIdx ?? -1, dtype: ToTorch(dtype));
        LoadInto(theirs, ours);

        // 1-D: bags [6, 3, 3, 0], [], [5], [1, 6, 2, 3]; 2-D: three bags of three.
        var input = twoDimensional
            ? Tensor.From(new long[] { 6, 3, 0, 3, 3, 5, 1, 6, 2 }, [3, 3])
            : Tensor.From(new long[] { 6, 3, 3, 0, 5, 1, 6, 2, 3 }, [9]);
        var offsets = twoDimensional ? null : Tensor.From(new long[] { 0, 4, 4, 5 }, [4]);
        var weights = perSampleWeights ? Randn(3, dtype, input.Shape.ToArray()) : null;
        if (weights is not null) weights.RequiresGrad = true;
        var theirWeights = weights is null ? null : ToTorch(weights.Detach()).requires_grad_();

        var y = ours.Forward(input, offsets, weights);
        var ty = theirs.forward(ToTorch(input), offsets is null ? null : ToTorch(offsets), theirWeights);
        string what = $"EmbeddingBag {mode} {dtype} 2-D {twoDimensional} padding {paddingIdx} weighted {perSampleWeights}";
        AssertClose(ty, y, rtol, atol, $"{what}: output");

        var upstream = Randn(99, dtype, y.Shape.ToArray());
        (y * upstream).Sum().Backward();
        (ty * ToTorch(upstream)).sum().backward();
        AssertSameParameterGradients(what, ours, theirs, rtol, atol);
        if (weights is not null) AssertClose(theirWeights!.grad!, weights.Grad!, rtol, atol, $"{what}: per-sample weights gradient");
    }
}
