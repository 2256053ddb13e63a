using MetaGrad.NN;
using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests.NN;

/// <summary>
/// Multi-head attention and the Transformer stacks: layouts, masks, copies, names and errors worked
/// out here; values and gradients against libtorch are in TransformerConformanceTests.
/// </summary>
public class TransformerTests
{
    static Tensor Randn(ulong seed, params int[] shape) => Tensor.Randn(shape, DType.Float64, generator: new Generator(seed));

    [Fact]
    public void GenerateSquareSubsequentMask_IsZeroOnAndBelowTheDiagonal_MinusInfinityAbove()
    {
        double inf = double.NegativeInfinity;
        Check.Values([0.0, inf, inf, 0, 0, inf, 0, 0, 0], Transformer.GenerateSquareSubsequentMask(3, DType.Float64));
    }

    [Fact]
    public void MultiheadAttention_BatchFirstAndUnbatched_AgreeWithSequenceFirst()
    {
        var seqFirst = new MultiheadAttention(6, 3, dtype: DType.Float64, generator: new Generator(1));
        var batchFirst = new MultiheadAttention(6, 3, batchFirst: true, dtype: DType.Float64, generator: new Generator(1));
        var q = Randn(2, 4, 2, 6);
        var kv = Randn(3, 5, 2, 6);
        var (y, w) = seqFirst.Forward(q, kv, kv);
        var (yb, wb) = batchFirst.Forward(q.Transpose(0, 1), kv.Transpose(0, 1), kv.Transpose(0, 1));
        Assert.True(yb.Transpose(0, 1).AllClose(y, 1e-12, 1e-12));
        Assert.True(wb!.AllClose(w!, 1e-12, 1e-12));
        var (y1, w1) = seqFirst.Forward(q[.., 0], kv[.., 0], kv[.., 0]);
        Assert.True(y1.AllClose(y[.., 0], 1e-12, 1e-12));
        Assert.True(w1!.AllClose(w![0], 1e-12, 1e-12));
    }

    [Fact]
    public void MultiheadAttention_A3DMaskPerHead_MasksEachHeadOnItsOwn()
    {
        var attention = new MultiheadAttention(4, 2, dtype: DType.Float64, generator: new Generator(4));
        var x = Randn(5, 3, 1, 4);
        var mask2d = Tensor.From(new[] { false, true, false, false, false, true, true, false, false }, [3, 3]);
        var (y2, w2) = attention.Forward(x, x, x, attnMask: mask2d, averageAttnWeights: false);
        var (y3, w3) = attention.Forward(x, x, x, attnMask: mask2d.Unsqueeze(0).Expand(2, 3, 3), averageAttnWeights: false);
        Assert.True(y3.AllClose(y2, 1e-12, 1e-12));
        // Only head 1 masked: head 0 sees everything, head 1 nothing at the masked places.
        var onlyHead1 = Tensor.Stack([Tensor.Zeros([3, 3], DType.Bool), mask2d]);
        var (_, w) = attention.Forward(x, x, x, attnMask: onlyHead1, averageAttnWeights: false);
        var (_, open) = attention.Forward(x, x, x, averageAttnWeights: false);
        Assert.True(w![0, 0].AllClose(open![0, 0], 1e-12, 1e-12));
        Assert.True(w[0, 1].AllClose(w2![0, 1], 1e-12, 1e-12));
        Assert.Equal(0.0, w[0, 1, 0, 1].Item<double>());
    }

    [Fact]
    public void MultiheadAttention_RefusesWhatPyTorchRefuses()
    {
        Assert.Contains("divisible by num_heads", Assert.Throws<ArgumentException>(() => new MultiheadAttention(10, 3)).Message);
        var attention = new MultiheadAttention(4, 2);
        var x = Tensor.Randn([3, 2, 4]);
        Assert.Contains("attn_mask of shape [2, 3]", Assert.Throws<ArgumentException>(() => attention.Forward(x, x, x, attnMask: Tensor.Zeros([2, 3]))).Message);
        Assert.Contains("key_padding_mask", Assert.Throws<ArgumentException>(() => attention.Forward(x, x, x, keyPaddingMask: Tensor.Zeros([3, 2], DType.Bool))).Message);
        Assert.Contains("isCausal", Assert.Throws<ArgumentException>(() => attention.Forward(x, x, x, isCausal: true)).Message);
        Assert.Contains("Int64", Assert.Throws<ArgumentException>(() => attention.Forward(x, x, x, attnMask: Tensor.Zeros([3, 3], DType.Int64))).Message);
    }

    [Fact]
    public void EncoderLayer_NormFirst_HasFiniteDifferenceGradients()
    {
        var layer = new TransformerEncoderLayer(4, 2, dimFeedforward: 6, dropout: 0, activation: "gelu", normFirst: true, dtype: DType.Float64, generator: new Generator(6));
        var mask = Transformer.GenerateSquareSubsequentMask(3, DType.Float64);
        Check.Gradients(t => layer.Forward(t[0], mask, isCausal: true), Check.Input([3, 2, 4], 7));
        var decoder = new TransformerDecoderLayer(4, 2, dimFeedforward: 6, dropout: 0, normFirst: true, dtype: DType.Float64, generator: new Generator(8));
        Check.Gradients(t => decoder.Forward(t[0], t[1], mask), Check.Input([3, 2, 4], 9), Check.Input([2, 2, 4], 10));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void EncoderLayer_ForwardCached_MatchesTheCausalFullPass(bool normFirst, bool batchFirst)
    {
        var layer = new TransformerEncoderLayer(8, 2, dimFeedforward: 12, dropout: 0, normFirst: normFirst, batchFirst: batchFirst, dtype: DType.Float64, generator: new Generator(12));
        var x = Randn(13, 5, 2, 8);                                          // [T, N, E]
        var input = batchFirst ? x.Transpose(0, 1) : x;
        var full = layer.Forward(input, Transformer.GenerateSquareSubsequentMask(5, DType.Float64), isCausal: true);
        var cache = new KeyValueCache();
        for (int t = 0; t < 5; t++)
        {
            var step = batchFirst ? input[.., t..(t + 1)] : input[t..(t + 1)];
            var expected = batchFirst ? full[.., t..(t + 1)] : full[t..(t + 1)];
            Assert.True(layer.ForwardCached(step, cache).AllClose(expected, 1e-12, 1e-12), $"step {t}");
        }
        Assert.Equal(5, cache.Length);
    }

    // A prompt of several positions at once: each sees the positions up to itself, not the later ones.
    [Fact]
    public void EncoderLayer_ForwardCached_APromptAtOnce_MatchesTheCausalFullPass()
    {
        var layer = new TransformerEncoderLayer(8, 2, dimFeedforward: 12, dropout: 0, dtype: DType.Float64, generator: new Generator(14));
        var x = Randn(15, 5, 2, 8);
        var full = layer.Forward(x, Transformer.GenerateSquareSubsequentMask(5, DType.Float64), isCausal: true);
        var cache = new KeyValueCache();
        Assert.True(layer.ForwardCached(x[..3], cache).AllClose(full[..3], 1e-12, 1e-12));
        Assert.True(layer.ForwardCached(x[3..5], cache).AllClose(full[3..5], 1e-12, 1e-12));
        Assert.Equal(5, cache.Length);
    }

    [Fact]
    public void Transformer_HasPyTorchsNames_AndItsLayersStartAsCopies()
    {
        var model = new Transformer(dModel: 8, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 16, dropout: 0);
        var state = model.StateDict();
        foreach (var name in new[] { "encoder.layers.0.self_attn.in_proj_weight", "encoder.layers.1.linear2.bias", "encoder.norm.weight",
                     "decoder.layers.1.multihead_attn.out_proj.weight", "decoder.layers.0.norm3.bias", "decoder.norm.bias" })
            Assert.Contains(name, state.Keys);
        // PyTorch deep-copies one layer: the stack starts with equal layers, and they train apart.
        Assert.True(state["encoder.layers.0.linear1.weight"].AllClose(state["encoder.layers.1.linear1.weight"]));
        Assert.False(ReferenceEquals(state["encoder.layers.0.linear1.weight"], state["encoder.layers.1.linear1.weight"]));
        var y = model.Forward(Tensor.Randn([5, 2, 8]), Tensor.Randn([3, 2, 8]), tgtMask: Transformer.GenerateSquareSubsequentMask(3));
        Assert.Equal([3, 2, 8], y.Shape.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DecoderLayer_ItsPublicSubModulesInPyTorchsOrder_GiveItsForward(bool normFirst)
    {
        // What an example relies on to read the cross-attention's weights: the layer is exactly its
        // sub-modules, called as torch.nn.TransformerDecoderLayer calls them (dropout 0, relu).
        var layer = new TransformerDecoderLayer(8, 2, dimFeedforward: 12, dropout: 0, batchFirst: true, normFirst: normFirst, dtype: DType.Float64, generator: new Generator(14));
        var x = Randn(15, 2, 4, 8);
        var memory = Randn(16, 2, 5, 8);
        var causal = Transformer.GenerateSquareSubsequentMask(4, DType.Float64);
        var padding = Tensor.From(new[] { false, false, false, true, true, false, false, false, false, false }, [2, 5]);
        var expected = layer.Forward(x, memory, causal, memoryKeyPaddingMask: padding, tgtIsCausal: true);

        Tensor SelfAttention(Tensor h) => layer.SelfAttn.Forward(h, h, h, needWeights: false, attnMask: causal, isCausal: true).Output;
        Tensor FeedForward(Tensor h) => layer.Linear2.Forward(F.Relu(layer.Linear1.Forward(h)));
        var query = normFirst ? layer.Norm2.Forward(x + SelfAttention(layer.Norm1.Forward(x))) : layer.Norm1.Forward(x + SelfAttention(x));
        var (attended, weights) = layer.MultiheadAttn.Forward(query, memory, memory, padding, averageAttnWeights: false);
        Tensor y;
        if (normFirst)
        {
            var h = x + SelfAttention(layer.Norm1.Forward(x)) + attended;
            y = h + FeedForward(layer.Norm3.Forward(h));
        }
        else
        {
            var h = layer.Norm2.Forward(query + attended);
            y = layer.Norm3.Forward(h + FeedForward(h));
        }
        Assert.True(y.AllClose(expected, 1e-12, 1e-12));
        Check.Shape([2, 2, 4, 5], weights!);                                 // [N, H, T, S]
        Assert.True(weights!.Sum(3).AllClose(Tensor.Ones([2, 2, 4], DType.Float64), 1e-12, 1e-12));
        Assert.Equal(0.0, weights[0, .., .., 3..].Abs().Sum().Item<double>());   // padding is never read
    }

    [Fact]
    public void SinusoidalPositionalEncoding_AlternatesSinesAndCosines()
    {
        var pe = F.SinusoidalPositionalEncoding(3, 4, DType.Float64);
        // Row 1: sin(1), cos(1), sin(1/100), cos(1/100) (10000^(2/4) = 100).
        Check.Values([Math.Sin(1), Math.Cos(1), Math.Sin(0.01), Math.Cos(0.01)], pe[1]);
        Check.Values([0.0, 1, 0, 1], pe[0]);
    }

    [Fact]
    public void TrilTriu_KeepTheirTriangleAndPassGradientsThroughIt()
    {
        var x = Tensor.Arange(1, 7, dtype: DType.Float64).Reshape(2, 3);
        Check.Values([1.0, 0, 0, 4, 5, 0], x.Tril());
        Check.Values([1.0, 2, 3, 0, 5, 6], x.Triu());
        Check.Values([0.0, 2, 3, 0, 0, 6], x.Triu(1));
        Check.Gradients(t => t[0].Tril(-1) * t[0], Check.Input([3, 4], 11));
    }
}
