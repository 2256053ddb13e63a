using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

public class EmbeddingBagTests
{
    // Row i is [i, 10 - i²]: sums and maxima are easy to work by hand.
    static Tensor Weight(bool requiresGrad = false)
    {
        var t = Tensor.From(Enumerable.Range(0, 5).SelectMany(i => new double[] { i, 10 - i * i }).ToArray(), [5, 2]);
        t.RequiresGrad = requiresGrad;
        return t;
    }

    static Tensor Ids(params long[] ids) => Tensor.From(ids, [ids.Length]);

    [Fact]
    public void Sum_WithOffsets_AddsTheRowsOfEachBag_AndAnEmptyBagIsZero()
    {
        // Bags [1, 2], [], [4, 4, 0].
        var y = Functional.EmbeddingBag(Ids(1, 2, 4, 4, 0), Weight(), Ids(0, 2, 2), "sum");
        Check.Values([3.0, 15.0, 0.0, 0.0, 8.0, -2.0], y);
    }

    [Fact]
    public void Mean_DividesByTheBagSize()
    {
        var y = Functional.EmbeddingBag(Ids(1, 2, 4, 4, 0), Weight(), Ids(0, 2, 2), "mean");
        Check.Values([1.5, 7.5, 0.0, 0.0, 8.0 / 3, -2.0 / 3], y);
    }

    [Fact]
    public void Max_TakesTheMaximumPerFeature()
    {
        var y = Functional.EmbeddingBag(Ids(1, 2, 4, 4, 0), Weight(), Ids(0, 2, 2), "max");
        Check.Values([2.0, 9.0, 0.0, 0.0, 4.0, 10.0], y);
    }

    [Fact]
    public void TwoDimensionalInput_IsOneBagPerRow()
    {
        var y = Functional.EmbeddingBag(Tensor.From(new long[] { 1, 2, 3, 0 }, [2, 2]), Weight(), mode: "sum");
        Check.Values([3.0, 15.0, 3.0, 11.0], y);
    }

    [Fact]
    public void IncludeLastOffset_EndsTheLastBagThere()
    {
        var y = Functional.EmbeddingBag(Ids(1, 2, 3), Weight(), Ids(0, 1, 3), "sum", includeLastOffset: true);
        Check.Values([1.0, 9.0, 5.0, 7.0], y);
    }

    [Fact]
    public void PaddingIdx_IsLeftOutOfTheBagAndOfTheMeanCount()
    {
        // Bags [1, 0, 3] and [0]: padding 0 leaves [1, 3] (mean [2, 5]) and an empty bag.
        var y = Functional.EmbeddingBag(Ids(1, 0, 3, 0), Weight(), Ids(0, 3), "mean", paddingIdx: 0);
        Check.Values([2.0, 5.0, 0.0, 0.0], y);
    }

    [Fact]
    public void PerSampleWeights_ScaleEachRowOfASum()
    {
        var y = Functional.EmbeddingBag(Ids(1, 2, 3), Weight(), Ids(0, 2), "sum", Tensor.From(new[] { 2.0, -1.0, 0.5 }, [3]));
        Check.Values([0.0, 12.0, 1.5, 0.5], y);
    }

    [Fact]
    public void PerSampleWeights_WithMean_Throw() =>
        Assert.Throws<NotSupportedException>(() => Functional.EmbeddingBag(Ids(1, 2), Weight(), Ids(0), "mean", Tensor.Ones([2], DType.Float64)));

    [Fact]
    public void Offsets_NotStartingAtZero_Throw() =>
        Assert.Throws<ArgumentException>(() => Functional.EmbeddingBag(Ids(1, 2), Weight(), Ids(1), "sum"));

    [Fact]
    public void Backward_AddsTheGradientIntoTheUsedRowsOnly()
    {
        var w = Weight(requiresGrad: true);
        Functional.EmbeddingBag(Ids(1, 2, 4, 4, 0), w, Ids(0, 2, 2), "sum").Sum().Backward();
        Check.Values([1.0, 1, 1, 1, 1, 1, 0, 0, 2, 2], w.Grad!);
    }

    [Fact]
    public void Backward_OfMax_GoesToTheArgmaxRow()
    {
        var w = Weight(requiresGrad: true);
        Functional.EmbeddingBag(Ids(1, 2, 4, 4, 0), w, Ids(0, 2, 2), "max").Sum().Backward();
        // Bag 0: feature 0 from row 2, feature 1 from row 1; bag 2: feature 0 from row 4 (twice, one row), feature 1 from row 0.
        Check.Values([0.0, 1, 0, 1, 1, 0, 0, 0, 1, 0], w.Grad!);
    }

    [Theory]
    [InlineData("sum")]
    [InlineData("mean")]
    [InlineData("max")]
    public void Gradients_OfTheWeight(string mode) =>
        Check.Gradients(t => Functional.EmbeddingBag(Ids(1, 2, 4, 3, 0, 2, 1), t[0], Ids(0, 2, 2, 5), mode, paddingIdx: 2), Check.Input(5, 3));

    [Fact]
    public void Gradients_OfWeightAndPerSampleWeights() =>
        Check.Gradients(t => Functional.EmbeddingBag(Tensor.From(new long[] { 1, 2, 4, 3, 0, 1 }, [2, 3]), t[0], mode: "sum", perSampleWeights: t[1]),
            Check.Input(5, 3), Check.Input([2, 3], 3));

    [Fact]
    public void Module_ZeroesThePaddingRow_AndNamesItsWeight()
    {
        var bag = new EmbeddingBag(6, 3, mode: "sum", paddingIdx: -1);
        Assert.All(bag.Weight[5].ToArray<float>(), x => Assert.Equal(0f, x));
        Assert.Equal(["weight"], bag.NamedParameters().Select(p => p.Name).ToArray());
        Check.Shape([2, 3], bag.Forward(Ids(1, 5, 2), Ids(0, 1)));
    }

    [Theory]
    [InlineData("sum")]
    [InlineData("max")]
    public void AllBagsEmpty_GiveZerosAndAZeroGradient(string mode)
    {
        var w = Weight(requiresGrad: true);
        var y = Functional.EmbeddingBag(Ids(0, 0), w, Ids(0, 1), mode, paddingIdx: 0);
        Check.Values([0.0, 0, 0, 0], y);
        y.Sum().Backward();
        Check.Values(new double[10], w.Grad!);
    }
}
