namespace MetaGrad.Tests;

/// <summary>Sort, TopK and MaxWithIndices: values and indices from one node of two outputs.</summary>
public class SelectionTests
{
    [Fact]
    public void Sort_IsOneNodeWithValuesAndIndices()
    {
        var x = Tensor.From(new[] { 3.0, 1.0, 2.0 }, requiresGrad: true);
        var (values, indices) = x.Sort();
        Assert.Equal([1.0, 2.0, 3.0], values.ToArray<double>());
        Assert.Equal([1L, 2L, 0L], indices.ToArray<long>());
        Assert.Equal("SortBackward", values.GradFn!.Name);
        Assert.Null(indices.GradFn);
        (values * Tensor.From(new[] { 10.0, 20.0, 30.0 })).Sum().Backward();
        Assert.Equal([30.0, 10.0, 20.0], x.Grad!.ToArray<double>());   // each weight back where its value came from
    }

    [Fact]
    public void TopK_SendsTheGradientToTheChosenElementsOnly()
    {
        var x = Tensor.From(new[,] { { 1.0, 5.0, 3.0 }, { 4.0, 2.0, 6.0 } }, requiresGrad: true);
        var (values, indices) = x.TopK(2, dim: 1);
        Assert.Equal([5.0, 3.0, 6.0, 4.0], values.ToArray<double>());
        Assert.Equal([1L, 2L, 2L, 0L], indices.ToArray<long>());
        Assert.Equal("TopkBackward", values.GradFn!.Name);
        values.Sum().Backward();
        Assert.Equal([0.0, 1.0, 1.0, 1.0, 0.0, 1.0], x.Grad!.ToArray<double>());
    }

    [Fact]
    public void MaxWithIndices_GivesTheWholeGradientToTheFirstMaximum()
    {
        // torch.max(x, dim=1) on [[1, 7, 7], [2, 0, -1]]: values [7, 2], indices [1, 0].
        var x = Tensor.From(new[,] { { 1.0, 7.0, 7.0 }, { 2.0, 0.0, -1.0 } }, requiresGrad: true);
        var (values, indices) = x.MaxWithIndices(1);
        Assert.Equal([7.0, 2.0], values.ToArray<double>());
        Assert.Equal([1L, 0L], indices.ToArray<long>());
        values.Sum().Backward();
        Assert.Equal([0.0, 1.0, 0.0, 1.0, 0.0, 0.0], x.Grad!.ToArray<double>());
        // The seed's Max shares it between the tied sevens instead.
        var y = Tensor.From(new[,] { { 1.0, 7.0, 7.0 }, { 2.0, 0.0, -1.0 } }, requiresGrad: true);
        y.Max(1).Sum().Backward();
        Assert.Equal([0.0, 0.5, 0.5, 1.0, 0.0, 0.0], y.Grad!.ToArray<double>());
    }

    [Fact]
    public void MinWithIndices_KeepsTheDimWhenAsked()
    {
        var x = Tensor.From(new[,] { { 1.0, 7.0 }, { 2.0, -3.0 } });
        var (values, indices) = x.MinWithIndices(0, keepDim: true);
        Assert.Equal([1, 2], values.Shape.ToArray());
        Assert.Equal([1.0, -3.0], values.ToArray<double>());
        Assert.Equal([0L, 1L], indices.ToArray<long>());
        Assert.Contains("MinWithIndices", Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 0).MinWithIndices(1)).Message);
    }

    [Fact]
    public void MaxWithIndices_PassesAGradientCheck() =>
        Assert.True(Autograd.GradCheck(a => a[0].MaxWithIndices(0).Values.Pow(2).Sum() + a[0].Sort(1).Values[.., 0].Sum(),
            [Tensor.From(new[,] { { 0.3, -1.2, 2.0 }, { 1.1, 0.4, -0.7 } }, requiresGrad: true)]));
}

/// <summary>Split, Chunk and Unbind: views of one tensor from one node with an output per piece.</summary>
public class SplitTests
{
    [Fact]
    public void Split_GivesViewsFromOneNode_AndAnUnusedPieceGetsZeros()
    {
        var x = Tensor.From(new[] { 1.0, 2.0, 3.0, 4.0, 5.0, 6.0 }, requiresGrad: true);
        var pieces = x.Split(2);
        Assert.Equal(3, pieces.Length);
        Assert.Same(pieces[0].GradFn, pieces[2].GradFn);
        Assert.Equal("SplitBackward", pieces[1].GradFn!.Name);
        Assert.Same(x.Storage, pieces[1].Storage);
        (pieces[0] * 2.0 + pieces[2] * 3.0).Sum().Backward();
        Assert.Equal([2.0, 2.0, 0.0, 0.0, 3.0, 3.0], x.Grad!.ToArray<double>());
    }

    [Fact]
    public void APieceOfATensorThatRequiresGrad_IsAViewForInPlaceChecks()
    {
        var x = Tensor.Ones([4], DType.Float64, requiresGrad: true) * 1.0;
        var piece = x.Chunk(2)[1];
        Assert.Throws<NotSupportedException>(() => piece.Add_(1.0));
    }

    [Fact]
    public void Unbind_DropsTheDimAndSendsEachGradientBack()
    {
        var x = Tensor.From(new[,] { { 1.0, 2.0 }, { 3.0, 4.0 }, { 5.0, 6.0 } }, requiresGrad: true);
        var columns = x.Unbind(1);
        Assert.Equal(2, columns.Length);
        Assert.Equal([3], columns[0].Shape.ToArray());
        Assert.Equal([2.0, 4.0, 6.0], columns[1].ToArray<double>());
        (columns[1] * Tensor.From(new[] { 1.0, 10.0, 100.0 })).Sum().Backward();
        Assert.Equal([0.0, 1.0, 0.0, 10.0, 0.0, 100.0], x.Grad!.ToArray<double>());
        Assert.Contains("Unbind", Assert.Throws<ArgumentException>(() => Tensor.From(1.0).Unbind()).Message);
    }
}
