using MetaGrad.Data;

namespace MetaGrad.Tests.Data;

public class DatasetTests
{
    static TensorDataset Numbers(int n) => new(Tensor.Arange((double)n), Tensor.Arange((long)n));

    static long Label(Tensor[] item) => item[1].Item<long>();

    [Fact]
    public void TensorDataset_ItemIsTheRowOfEachTensor()
    {
        var x = Tensor.Arange(12.0).Reshape(4, 3);
        var y = Tensor.From(new long[] { 7, 8, 9, 10 });
        var ds = new TensorDataset(x, y);
        Assert.Equal(4, ds.Count);
        var item = ds[2];
        Check.Values([6f, 7f, 8f], item[0]);
        Check.Shape([3], item[0]);
        Check.Shape([], item[1]);
        Assert.Equal(9L, item[1].Item<long>());
    }

    [Fact]
    public void TensorDataset_RejectsTensorsOfDifferentLengths()
    {
        var ex = Assert.Throws<ArgumentException>(() => new TensorDataset(Tensor.Zeros(4, 2), Tensor.Zeros(5)));
        Assert.Contains("tensor 1 has 5", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Numbers(3)[3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Numbers(3)[-1]);
    }

    [Fact]
    public void Subset_ReadsThroughItsIndices()
    {
        var sub = new Subset<Tensor[]>(Numbers(10), [9, 0, 4]);
        Assert.Equal(3, sub.Count);
        Assert.Equal([9L, 0L, 4L], sub.Select(Label));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Subset<Tensor[]>(Numbers(10), [10]));
    }

    [Fact]
    public void ConcatDataset_ChainsItsParts_SkippingEmptyOnes()
    {
        var cat = new ConcatDataset<Tensor[]>(Numbers(3), Numbers(0), Numbers(2), Numbers(0), Numbers(1));
        Assert.Equal(6, cat.Count);
        Assert.Equal([0L, 1L, 2L, 0L, 1L, 0L], cat.Select(Label));
        Assert.Throws<ArgumentOutOfRangeException>(() => cat[6]);
    }

    [Fact]
    public void RandomSplit_ByLengths_PartitionsTheDataset_ReproduciblyFromTheSeed()
    {
        var ds = Numbers(20);
        var parts = Dataset.RandomSplit(ds, [12, 5, 3], new Generator(1));
        Assert.Equal([12, 5, 3], parts.Select(p => p.Count));
        var all = parts.SelectMany(p => p.Select(Label)).ToArray();
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), all.Order());
        Assert.NotEqual(Enumerable.Range(0, 20).Select(i => (long)i), all);   // shuffled, not sliced

        var again = Dataset.RandomSplit(ds, [12, 5, 3], new Generator(1));
        Assert.Equal(all, again.SelectMany(p => p.Select(Label)));
        var other = Dataset.RandomSplit(ds, [12, 5, 3], new Generator(2));
        Assert.NotEqual(all, other.SelectMany(p => p.Select(Label)));
    }

    [Fact]
    public void RandomSplit_ByFractions_DealsTheRemainderInOrder()
    {
        // floor(10/3) = 3 each, and the one left over goes to the first part, as in PyTorch.
        var parts = Dataset.RandomSplit(Numbers(10), [1 / 3.0, 1 / 3.0, 1 / 3.0], new Generator(0));
        Assert.Equal([4, 3, 3], parts.Select(p => p.Count));
        Assert.Equal([8, 2], Dataset.RandomSplit(Numbers(10), [0.8, 0.2], new Generator(0)).Select(p => p.Count));
    }

    [Fact]
    public void RandomSplit_RejectsLengthsOrFractionsThatDoNotCoverTheDataset()
    {
        Assert.Contains("does not equal the length of the input dataset (10)",
            Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(Numbers(10), [5, 4])).Message);
        Assert.Contains("add up to 1", Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(Numbers(10), [0.5, 0.4])).Message);
    }
}
