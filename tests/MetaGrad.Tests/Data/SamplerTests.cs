using MetaGrad.Data;

namespace MetaGrad.Tests.Data;

public class SamplerTests
{
    [Fact]
    public void SequentialSampler_YieldsPositionsInOrder()
    {
        Assert.Equal([0, 1, 2, 3], new SequentialSampler(4));
        Assert.Equal(4, new SequentialSampler(4).Count);
    }

    [Fact]
    public void RandomSampler_WithoutReplacement_IsANewPermutationEachPass()
    {
        var sampler = new RandomSampler(50, generator: new Generator(3));
        var first = sampler.ToArray();
        var second = sampler.ToArray();
        Assert.Equal(Enumerable.Range(0, 50), first.Order());
        Assert.Equal(Enumerable.Range(0, 50), second.Order());
        Assert.NotEqual(first, second);
        Assert.Equal(first, new RandomSampler(50, generator: new Generator(3)).ToArray());
    }

    [Fact]
    public void RandomSampler_NumSamples_DrawsDistinctPositionsWithoutReplacement()
    {
        var drawn = new RandomSampler(10, numSamples: 4, generator: new Generator(0)).ToArray();
        Assert.Equal(4, drawn.Length);
        Assert.Equal(4, drawn.Distinct().Count());
        Assert.All(drawn, i => Assert.InRange(i, 0, 9));
        Assert.Contains("only with replacement", Assert.Throws<ArgumentException>(() => new RandomSampler(3, numSamples: 4)).Message);
    }

    [Fact]
    public void RandomSampler_WithReplacement_CanRepeatAndExceedTheDatasetSize()
    {
        var sampler = new RandomSampler(3, replacement: true, numSamples: 100, generator: new Generator(5));
        var drawn = sampler.ToArray();
        Assert.Equal(100, sampler.Count);
        Assert.Equal(100, drawn.Length);
        Assert.Equal([0, 1, 2], drawn.Distinct().Order());
    }

    [Fact]
    public void SubsetRandomSampler_ShufflesTheGivenPositions()
    {
        int[] chosen = [4, 8, 15, 16, 23, 42];
        var sampler = new SubsetRandomSampler(chosen, new Generator(9));
        var first = sampler.ToArray();
        Assert.Equal(chosen, first.Order());
        Assert.Equal(6, sampler.Count);
    }

    [Theory]
    [InlineData(10, 3, false, new[] { 3, 3, 3, 1 })]
    [InlineData(10, 3, true, new[] { 3, 3, 3 })]
    [InlineData(9, 3, true, new[] { 3, 3, 3 })]
    [InlineData(2, 5, false, new[] { 2 })]
    [InlineData(2, 5, true, new int[0])]
    public void BatchSampler_GroupsPositions_AndCountsBatches(int n, int batchSize, bool dropLast, int[] sizes)
    {
        var batches = new BatchSampler(new SequentialSampler(n), batchSize, dropLast);
        Assert.Equal(sizes, batches.Select(b => b.Length));
        Assert.Equal(sizes.Length, batches.Count);
        Assert.Equal(Enumerable.Range(0, sizes.Sum()), batches.SelectMany(b => b));
    }
}
