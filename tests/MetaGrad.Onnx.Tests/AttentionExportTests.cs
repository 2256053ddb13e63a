using MetaGrad.NN;

namespace MetaGrad.Onnx.Tests;

/// <summary>Multi-head attention and Transformer encoder layers, exported and run in ONNX Runtime.</summary>
public class AttentionExportTests
{
    static Tensor Randn(ulong seed, params int[] shape) => Tensor.Randn(shape, generator: new Generator(seed));

    [Fact]
    public void SelfAttention_WithItsWeights_MatchesOnnxRuntime()
    {
        var attention = new MultiheadAttention(8, 2, batchFirst: true, generator: new Generator(30));
        Tensor[] Forward(Tensor[] xs)
        {
            var (output, weights) = attention.Forward(xs[0], xs[0], xs[0]);
            return [output, weights!];
        }
        var model = OnnxExport.ToBytes(attention, Forward, [Randn(1, 3, 5, 8)], new OnnxExportOptions { DynamicBatch = true });
        OnnxRuntimeCheck.Compare(model, attention, Forward, [Randn(1, 3, 5, 8)], [Randn(2, 4, 5, 8)]);
    }

    [Fact]
    public void CrossAttention_WithoutWeights_SequenceFirst_MatchesOnnxRuntime()
    {
        var attention = new MultiheadAttention(8, 4, generator: new Generator(31));
        Tensor[] Forward(Tensor[] xs) => [attention.Forward(xs[0], xs[1], xs[1], needWeights: false).Output];
        var options = new OnnxExportOptions { DynamicBatch = true, BatchDim = 1 };
        var model = OnnxExport.ToBytes(attention, Forward, [Randn(3, 4, 2, 8), Randn(4, 6, 2, 8)], options);
        OnnxRuntimeCheck.Compare(model, attention, Forward, [Randn(3, 4, 2, 8), Randn(4, 6, 2, 8)], [Randn(5, 4, 3, 8), Randn(6, 6, 3, 8)]);
    }

    // A key padding mask computed from the input runs the fused node with the mask as its fourth
    // input: the export must carry the mask's computation, not the example's mask as a constant.
    [Fact]
    public void SelfAttention_WithAPaddingMaskFromTheInput_MatchesOnnxRuntime()
    {
        var attention = new MultiheadAttention(8, 2, batchFirst: true, generator: new Generator(34));
        Tensor[] Forward(Tensor[] xs) => [attention.Forward(xs[0], xs[0], xs[0], keyPaddingMask: xs[0][.., .., 0] > 0.8, needWeights: false).Output];
        var model = OnnxExport.ToBytes(attention, Forward, [Randn(5, 3, 6, 8)], new OnnxExportOptions { DynamicBatch = true });
        OnnxRuntimeCheck.Compare(model, attention, Forward, [Randn(5, 3, 6, 8)], [Randn(6, 5, 6, 8)]);
    }

    // Asked for its weights, a multi-head attention under a padding mask takes the composed path,
    // whose softmax gives zeros, not NaN, to a row the mask hides whole (here the samples whose
    // first position's second feature is positive: every key padded).
    [Fact]
    public void SelfAttention_WithItsWeightsAndAPaddingMask_MatchesOnnxRuntime()
    {
        var attention = new MultiheadAttention(8, 2, batchFirst: true, generator: new Generator(35));
        Tensor[] Forward(Tensor[] xs)
        {
            var padding = xs[0][.., .., 0].Maximum(xs[0][.., ..1, 1] * 100.0) > 0.3;
            var (output, weights) = attention.Forward(xs[0], xs[0], xs[0], keyPaddingMask: padding);
            return [output, weights!];
        }
        var inputs = new[] { Randn(8, 6, 5, 8) };
        Assert.True(Forward(inputs)[1].Sum([1, 2]).ToArray<float>().Any(v => v == 0), "some sample's keys are all padding");
        var model = OnnxExport.ToBytes(attention, Forward, inputs, new OnnxExportOptions { DynamicBatch = true });
        OnnxRuntimeCheck.Compare(model, attention, Forward, inputs, [Randn(9, 4, 5, 8)]);
    }

    // ScaledDotProductAttention over [N, H, L, E] with a Bool mask [N, H, 1, S] from the input: the
    // mask broadcasts over q's leading dims, and a row it hides whole gives zeros (not NaN).
    [Fact]
    public void ScaledDotProductAttention_WithABoolMaskFromTheInput_MatchesOnnxRuntime()
    {
        var module = new Identity();
        Tensor[] Forward(Tensor[] xs)
        {
            // Keys whose sum is positive, for the (sample, head) pairs whose first query starts at most 0.5: the others see nothing.
            var keep = xs[1].Sum(-1, keepDim: true).Transpose(-2, -1).Minimum((xs[0][.., .., ..1, ..1] - 0.5) * -100.0) > 0.0;
            return [Functional.ScaledDotProductAttention(xs[0], xs[1], xs[2], keep)];
        }
        Tensor[] Inputs(ulong seed, int n) => [Randn(seed, n, 2, 5, 4), Randn(seed + 1, n, 2, 6, 4), Randn(seed + 2, n, 2, 6, 3)];
        var model = OnnxExport.ToBytes(module, Forward, Inputs(7, 2), new OnnxExportOptions { DynamicBatch = true });
        OnnxRuntimeCheck.Compare(model, module, Forward, Inputs(7, 2), Inputs(10, 5));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void TransformerEncoderLayer_MatchesOnnxRuntime(bool normFirst, bool causal)
    {
        var layer = new TransformerEncoderLayer(8, 2, dimFeedforward: 16, activation: normFirst ? "gelu" : "relu", batchFirst: true, normFirst: normFirst,
            generator: new Generator(32));
        var mask = causal ? Transformer.GenerateSquareSubsequentMask(5) : null;
        Tensor[] Forward(Tensor[] xs) => [layer.Forward(xs[0], mask, isCausal: causal)];
        var model = OnnxExport.ToBytes(layer, Forward, [Randn(3, 2, 5, 8)], new OnnxExportOptions { DynamicBatch = true });
        OnnxRuntimeCheck.Compare(model, layer, Forward, [Randn(3, 2, 5, 8)], [Randn(4, 3, 5, 8)]);
    }
}

/// <summary>Stacks of Transformer layers and the decoder side, exported and run in ONNX Runtime.</summary>
public class TransformerExportTests
{
    static Tensor Randn(ulong seed, params int[] shape) => Tensor.Randn(shape, generator: new Generator(seed));

    [Fact]
    public void TransformerEncoder_OfTwoLayersWithAFinalNorm_MatchesOnnxRuntime()
    {
        var encoder = new TransformerEncoder(new TransformerEncoderLayer(8, 2, dimFeedforward: 16, generator: new Generator(33)), 2, new LayerNorm([8]));
        Tensor[] Forward(Tensor[] xs) => [encoder.Forward(xs[0])];
        var model = OnnxExport.ToBytes(encoder, Forward, [Randn(1, 4, 3, 8)], new OnnxExportOptions { DynamicBatch = true, BatchDim = 1 });
        OnnxRuntimeCheck.Compare(model, encoder, Forward, [Randn(1, 4, 3, 8)], [Randn(2, 4, 2, 8)]);
    }

    [Fact]
    public void TransformerDecoderLayer_WithACausalMask_MatchesOnnxRuntime()
    {
        var layer = new TransformerDecoderLayer(8, 2, dimFeedforward: 16, batchFirst: true, generator: new Generator(34));
        var mask = Transformer.GenerateSquareSubsequentMask(4);
        Tensor[] Forward(Tensor[] xs) => [layer.Forward(xs[0], xs[1], tgtMask: mask, tgtIsCausal: true)];
        var model = OnnxExport.ToBytes(layer, Forward, [Randn(1, 2, 4, 8), Randn(2, 2, 6, 8)], new OnnxExportOptions { DynamicBatch = true });
        OnnxRuntimeCheck.Compare(model, layer, Forward, [Randn(1, 2, 4, 8), Randn(2, 2, 6, 8)], [Randn(3, 3, 4, 8), Randn(4, 3, 6, 8)]);
    }

    [Fact]
    public void EncoderDecoderTransformer_MatchesOnnxRuntime()
    {
        var transformer = new Transformer(dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16, batchFirst: true,
            generator: new Generator(35));
        var mask = Transformer.GenerateSquareSubsequentMask(3);
        Tensor[] Forward(Tensor[] xs) => [transformer.Forward(xs[0], xs[1], tgtMask: mask, tgtIsCausal: true)];
        var model = OnnxExport.ToBytes(transformer, Forward, [Randn(1, 2, 5, 8), Randn(2, 2, 3, 8)], new OnnxExportOptions { DynamicBatch = true });
        OnnxRuntimeCheck.Compare(model, transformer, Forward, [Randn(1, 2, 5, 8), Randn(2, 2, 3, 8)], [Randn(3, 4, 5, 8), Randn(4, 4, 3, 8)]);
    }
}
