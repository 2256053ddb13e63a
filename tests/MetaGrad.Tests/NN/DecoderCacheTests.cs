using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>
/// Decoding one step at a time through key/value caches gives what the causal full pass gives at
/// the same positions: each decoder layer's self-attention reads earlier target positions from its
/// cache, and its attention over the memory projects the memory once, on the first step.
/// </summary>
public class DecoderCacheTests
{
    static Tensor Randn(ulong seed, params int[] shape) => Tensor.Randn(shape, DType.Float64, generator: new Generator(seed));

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void DecoderLayer_ForwardCached_MatchesTheCausalFullPass(bool normFirst, bool batchFirst)
    {
        var layer = new TransformerDecoderLayer(8, 2, dimFeedforward: 12, dropout: 0, normFirst: normFirst, batchFirst: batchFirst, dtype: DType.Float64, generator: new Generator(3));
        var (target, memory) = (Randn(4, 6, 2, 8), Randn(5, 7, 2, 8));                   // [T, N, E], [S, N, E]
        // Sample 1's last three memory positions are padding.
        var padding = Tensor.Arange(7).Reshape(1, 7) >= Tensor.From(new double[] { 7, 4 }).Reshape(2, 1);
        if (batchFirst) (target, memory) = (target.Transpose(0, 1), memory.Transpose(0, 1));
        var full = layer.Forward(target, memory, Transformer.GenerateSquareSubsequentMask(6, DType.Float64), memoryKeyPaddingMask: padding, tgtIsCausal: true);
        var (self, cross) = (new KeyValueCache(), new KeyValueCache());
        // One position, then two at once, then the rest one at a time.
        int[][] chunks = [[0, 1], [1, 3], [3, 4], [4, 5], [5, 6]];
        foreach (var chunk in chunks)
        {
            var step = batchFirst ? target[.., chunk[0]..chunk[1]] : target[chunk[0]..chunk[1]];
            var expected = batchFirst ? full[.., chunk[0]..chunk[1]] : full[chunk[0]..chunk[1]];
            var actual = layer.ForwardCached(step, memory, self, cross, memoryKeyPaddingMask: padding);
            Assert.True(actual.AllClose(expected, 1e-12, 1e-12), $"positions {chunk[0]}..{chunk[1]}");
        }
        Assert.Equal(6, self.Length);
        Assert.Equal(7, cross.Length);
    }

    [Fact]
    public void Decoder_ForwardCached_MatchesTheCausalFullPass_AndClearStartsAgain()
    {
        var decoder = new TransformerDecoder(new TransformerDecoderLayer(8, 2, dimFeedforward: 12, dropout: 0, dtype: DType.Float64, generator: new Generator(9)), 3,
            new LayerNorm([8], dtype: DType.Float64));
        var (target, memory) = (Randn(10, 5, 3, 8), Randn(11, 4, 3, 8));
        var full = decoder.Forward(target, memory, Transformer.GenerateSquareSubsequentMask(5, DType.Float64), tgtIsCausal: true);
        var cache = decoder.NewCache();
        for (int round = 0; round < 2; round++)
        {
            for (int t = 0; t < 5; t++)
                Assert.True(decoder.ForwardCached(target[t..(t + 1)], memory, cache).AllClose(full[t..(t + 1)], 1e-12, 1e-12), $"round {round}, step {t}");
            Assert.Equal(5, cache.Length);
            cache.Clear();
            Assert.Equal(0, cache.Length);
        }
    }

    // The memory is projected on the first step only: a later step given other memory still reads the cached one.
    [Fact]
    public void TheMemoryIsProjectedOnce()
    {
        var layer = new TransformerDecoderLayer(8, 2, dimFeedforward: 12, dropout: 0, dtype: DType.Float64, generator: new Generator(13));
        var (target, memory) = (Randn(14, 2, 1, 8), Randn(15, 3, 1, 8));
        var (self, cross) = (new KeyValueCache(), new KeyValueCache());
        layer.ForwardCached(target[..1], memory, self, cross);
        var second = layer.ForwardCached(target[1..2], Tensor.Zeros([3, 1, 8], DType.Float64), self, cross);
        var full = layer.Forward(target, memory, Transformer.GenerateSquareSubsequentMask(2, DType.Float64), tgtIsCausal: true);
        Assert.True(second.AllClose(full[1..2], 1e-12, 1e-12));
    }

    // Target padding, as the full pass's tgtKeyPaddingMask: the cache keeps each position's flag, so a
    // later position still ignores an earlier padded one. Sample 1's position 0 is padding (its first
    // query sees no key at all: zeros, as the full pass's safe softmax) and sample 0's position 2.
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void DecoderLayer_ForwardCached_WithTargetPadding_MatchesTheFullPass(bool normFirst, bool batchFirst)
    {
        var layer = new TransformerDecoderLayer(8, 2, dimFeedforward: 12, dropout: 0, normFirst: normFirst, batchFirst: batchFirst, dtype: DType.Float64, generator: new Generator(21));
        var (target, memory) = (Randn(22, 5, 2, 8), Randn(23, 4, 2, 8));
        var padding = Tensor.From(new[] { false, false, true, false, false, true, false, false, false, false }, [2, 5]);   // [N, T]
        if (batchFirst) (target, memory) = (target.Transpose(0, 1), memory.Transpose(0, 1));
        var full = layer.Forward(target, memory, Transformer.GenerateSquareSubsequentMask(5, DType.Float64), tgtKeyPaddingMask: padding, tgtIsCausal: true);
        var (self, cross) = (new KeyValueCache(), new KeyValueCache());
        int[][] chunks = [[0, 1], [1, 3], [3, 4], [4, 5]];
        foreach (var chunk in chunks)
        {
            var step = batchFirst ? target[.., chunk[0]..chunk[1]] : target[chunk[0]..chunk[1]];
            var expected = batchFirst ? full[.., chunk[0]..chunk[1]] : full[chunk[0]..chunk[1]];
            var actual = layer.ForwardCached(step, memory, self, cross, tgtKeyPaddingMask: padding[.., chunk[0]..chunk[1]]);
            Assert.True(actual.AllClose(expected, 1e-12, 1e-12), $"positions {chunk[0]}..{chunk[1]}");
        }
    }

    // A padding flag given only from some step on counts the earlier positions as not padded, and a
    // step given none after flags were kept counts its own as not padded: as a full pass whose mask
    // is false there.
    [Fact]
    public void Decoder_ForwardCached_TargetPaddingGivenAtSomeStepsOnly()
    {
        var decoder = new TransformerDecoder(new TransformerDecoderLayer(8, 2, dimFeedforward: 12, dropout: 0, dtype: DType.Float64, generator: new Generator(24)), 2);
        var (target, memory) = (Randn(25, 4, 2, 8), Randn(26, 3, 2, 8));
        var padding = Tensor.From(new[] { false, true, false, false, false, false, true, false }, [2, 4]);
        var full = decoder.Forward(target, memory, Transformer.GenerateSquareSubsequentMask(4, DType.Float64), tgtKeyPaddingMask: padding, tgtIsCausal: true);
        var cache = decoder.NewCache();
        Tensor?[] flags = [null, padding[.., 1..2], padding[.., 2..3], null];
        for (int t = 0; t < 4; t++)
            Assert.True(decoder.ForwardCached(target[t..(t + 1)], memory, cache, tgtKeyPaddingMask: flags[t]).AllClose(full[t..(t + 1)], 1e-12, 1e-12), $"step {t}");
    }

    [Fact]
    public void ATargetPaddingMaskOfTheWrongShape_IsRefused()
    {
        var attention = new MultiheadAttention(8, 2, dtype: DType.Float64, generator: new Generator(27));
        var x = Randn(28, 2, 3, 8);                                                          // [L, N, E]
        var e = Assert.Throws<ArgumentException>(() => attention.ForwardCached(x, x, x, new KeyValueCache(), keyPaddingMask: Tensor.Zeros([3, 3], DType.Bool)));
        Assert.Contains("ForwardCached", e.Message);
        Assert.Contains("[3, 3]", e.Message);
        Assert.Contains("[3, 2]", e.Message);
    }

    // Beam search keeps the rows of the hypotheses that survive a step, some twice, some not at all:
    // after Reorder each row goes on as the full pass over its own target and memory does.
    [Fact]
    public void Decoder_CacheReorder_KeepsTheChosenRows_ThenDecodingGoesOnPerRow()
    {
        var decoder = new TransformerDecoder(new TransformerDecoderLayer(8, 2, dimFeedforward: 12, dropout: 0, dtype: DType.Float64, generator: new Generator(30)), 2);
        var (target, memory) = (Randn(31, 4, 2, 8), Randn(32, 3, 2, 8));                 // two rows: [T, N, E], [S, N, E]
        var padding = Tensor.From(new[] { false, false, false, true, false, false }, [2, 3]);   // row 1's last memory position
        var targetPadding = Tensor.From(new[] { false, false, true, false }, [2, 2]);          // row 1's second target position
        var cache = decoder.NewCache();
        decoder.ForwardCached(target[..2], memory, cache, padding, targetPadding);
        var order = Tensor.From(new long[] { 1, 0, 1 });
        cache.Reorder(order);
        Assert.Equal(2, cache.Length);
        // Rows 1, 0, 1 of everything, for the steps after the reorder and for the full pass.
        var (rows, rowsMemory, rowsPadding) = (target.IndexSelect(1, order), memory.IndexSelect(1, order), padding.IndexSelect(0, order));
        var full = decoder.Forward(rows, rowsMemory, Transformer.GenerateSquareSubsequentMask(4, DType.Float64),
            tgtKeyPaddingMask: Tensor.Cat([targetPadding.IndexSelect(0, order), Tensor.Zeros([3, 2], DType.Bool)], 1), memoryKeyPaddingMask: rowsPadding, tgtIsCausal: true);
        for (int t = 2; t < 4; t++)
            Assert.True(decoder.ForwardCached(rows[t..(t + 1)], rowsMemory, cache, rowsPadding).AllClose(full[t..(t + 1)], 1e-12, 1e-12), $"step {t}");
    }

    [Fact]
    public void ReorderingByRowsThatAreNotThere_IsRefused()
    {
        var decoder = new TransformerDecoder(new TransformerDecoderLayer(8, 2, dimFeedforward: 12, dropout: 0, dtype: DType.Float64, generator: new Generator(33)), 1);
        var cache = decoder.NewCache();
        decoder.ForwardCached(Randn(34, 1, 2, 8), Randn(35, 3, 2, 8), cache);
        var e = Assert.Throws<ArgumentException>(() => cache.Reorder(Tensor.From(new long[] { 0, 2 })));
        Assert.Contains("Reorder", e.Message);
        Assert.Contains("2", e.Message);
        Assert.Throws<ArgumentException>(() => cache.Reorder(Tensor.From(new double[] { 0, 1 })));
    }

    [Fact]
    public void ACacheOfAnotherLength_IsRefused()
    {
        var decoder = new TransformerDecoder(new TransformerDecoderLayer(8, 2, dimFeedforward: 12, dropout: 0, dtype: DType.Float64, generator: new Generator(16)), 2);
        var other = new TransformerDecoder(new TransformerDecoderLayer(8, 2, dimFeedforward: 12, dropout: 0, dtype: DType.Float64, generator: new Generator(16)), 3);
        var e = Assert.Throws<ArgumentException>(() => decoder.ForwardCached(Randn(17, 1, 1, 8), Randn(18, 2, 1, 8), other.NewCache()));
        Assert.Contains("3 layers", e.Message);
        Assert.Contains("2", e.Message);
    }
}
