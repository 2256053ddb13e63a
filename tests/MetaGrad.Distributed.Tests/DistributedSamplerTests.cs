namespace MetaGrad.Distributed.Tests;

public class DistributedSamplerTests
{
    [Fact]
    public void InOrder_DealsPositionsInTurn_PaddingWithTheFirst()
    {
        // 10 positions among 3 ranks: padded to 12 with positions 0 and 1, dealt 0,3,6,9 / 1,4,7,0 / 2,5,8,1.
        int[][] shares = [.. Enumerable.Range(0, 3).Select(r => new DistributedSampler(10, 3, r, shuffle: false).ToArray())];
        Assert.Equal([0, 3, 6, 9], shares[0]);
        Assert.Equal([1, 4, 7, 0], shares[1]);
        Assert.Equal([2, 5, 8, 1], shares[2]);
        Assert.Equal(4, new DistributedSampler(10, 3, 1, shuffle: false).Count);
    }

    [Fact]
    public void DropLast_DropsTheTailThatDoesNotDivide()
    {
        int[][] shares = [.. Enumerable.Range(0, 3).Select(r => new DistributedSampler(10, 3, r, shuffle: false, dropLast: true).ToArray())];
        Assert.Equal([0, 3, 6], shares[0]);
        Assert.Equal([1, 4, 7], shares[1]);
        Assert.Equal([2, 5, 8], shares[2]);
        Assert.Equal(0, new DistributedSampler(2, 3, 0, dropLast: true).Count);   // PyTorch: ceil((2 - 3) / 3) = 0
    }

    [Fact]
    public void Shuffled_SharesAreDisjoint_CoverTheData_AndChangeWithTheEpoch()
    {
        var samplers = Enumerable.Range(0, 4).Select(r => new DistributedSampler(100, 4, r, seed: 11)).ToArray();
        var first = samplers.Select(s => s.ToArray()).ToArray();
        Assert.Equal(Enumerable.Range(0, 100), first.SelectMany(s => s).Order());
        Assert.Equal(first[2], samplers[2].ToArray());   // the same epoch gives the same order
        foreach (var s in samplers) s.SetEpoch(1);
        var second = samplers.Select(s => s.ToArray()).ToArray();
        Assert.Equal(Enumerable.Range(0, 100), second.SelectMany(s => s).Order());
        Assert.NotEqual(first[0], second[0]);
        Assert.NotEqual(first[0], new DistributedSampler(100, 4, 0, seed: 12).ToArray());   // another seed, another order
    }

    [Fact]
    public void Rank_OutsideTheGroup_IsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => new DistributedSampler(10, 2, 2));
        Assert.Equal("DistributedSampler: invalid rank 2, rank should be in the interval [0, 1]", error.Message);
    }
}
