namespace MetaGrad.Tests;

/// <summary>The seed series' own tests (metagrad's test_max, test_slice, test_reshape, test_transpose), ported with their values.</summary>
public class SeedMaxTests
{
    [Fact]
    public void Max_OfVector_GradientGoesToTheMaximum()
    {
        var x = Tensor.From(new float[] { 1, 2, 3, 6, 7, 9, 2 }, requiresGrad: true);
        var z = x.Max();
        Assert.Equal(9f, z.Item<float>());
        z.Backward();
        Assert.Equal(new float[] { 0, 0, 0, 0, 0, 1, 0 }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void Max_SplitsGradientEvenlyAmongTies()
    {
        var x = Tensor.From(new float[] { 1, 2, 3, 9, 7, 9, 2 }, requiresGrad: true);
        var z = x.Max();
        Assert.Equal(9f, z.Item<float>());
        z.Backward();
        Assert.Equal(new float[] { 0, 0, 0, 0.5f, 0, 0.5f, 0 }, x.Grad!.ToArray<float>());
    }

    static Tensor SeedMatrix() =>
        Tensor.From(new float[,] { { 1, 1, 8, 9, 1 }, { 4, 5, 9, 9, 8 }, { 8, 6, 9, 7, 9 }, { 8, 6, 1, 9, 8 } }, requiresGrad: true);

    [Fact]
    public void Max_OfMatrix_SplitsAmongAllSixNines()
    {
        var a = SeedMatrix();
        var z = a.Max();
        Assert.Equal(9f, z.Item<float>());
        z.Backward();
        float s = 1f / 6;
        Check.Values(new float[] { 0, 0, 0, s, 0, 0, 0, s, s, 0, 0, 0, s, 0, s, 0, 0, 0, s, 0 }, a.Grad!);
    }

    [Fact]
    public void Max_AlongDim0_SplitsAmongTiesInEachColumn()
    {
        var a = SeedMatrix();
        var m = a.Max(dim: 0);
        Assert.Equal(new float[] { 8, 6, 9, 9, 9 }, m.ToArray<float>());
        m.Backward(Tensor.Ones(5));
        float t = 1f / 3;
        Check.Values(new float[] { 0, 0, 0, t, 0, 0, 0, 0.5f, t, 0, 0.5f, 0.5f, 0.5f, 0, 1, 0.5f, 0.5f, 0, t, 0 }, a.Grad!);
    }
}

public class SeedSliceTests
{
    [Fact]
    public void Index_OfVector_GradientIsOneAtThatPosition()
    {
        var x = Tensor.From(new float[] { 1, 2, 3, 4, 5 }, requiresGrad: true);
        var z = x[2];
        Assert.Equal(3f, z.Item<float>());
        z.Backward();
        Assert.Equal(new float[] { 0, 0, 1, 0, 0 }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void Slice_OfVector_GradientIsOneOnTheSlice()
    {
        var x = Tensor.From(new float[] { 1, 2, 3, 4, 5 }, requiresGrad: true);
        var z = x[1..4];
        Assert.Equal(new float[] { 2, 3, 4 }, z.ToArray<float>());
        z.Backward(Tensor.Ones(3));
        Assert.Equal(new float[] { 0, 1, 1, 1, 0 }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void Slice_OfMatrix_PutsOnesInTheBlock()
    {
        var a = Tensor.From(new float[,] { { 1, 1, 8, 9, 1 }, { 4, 5, 9, 9, 8 }, { 8, 6, 9, 7, 9 }, { 8, 6, 1, 9, 8 } }, requiresGrad: true);
        var s = a[1..3, 2..4];
        Check.Shape([2, 2], s);
        Assert.Equal(new float[] { 9, 9, 9, 7 }, s.ToArray<float>());
        s.Backward(Tensor.Ones(2, 2));
        Assert.Equal(new float[] { 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0 }, a.Grad!.ToArray<float>());
    }
}

public class SeedReshapeTests
{
    [Fact]
    public void Reshape_Twice_KeepsValuesAndPassesOnesBack()
    {
        var r = Tensor.Arange(12, dtype: DType.Float32, requiresGrad: true);
        var z = r.Reshape(2, 6).Reshape(4, 3);
        Check.Shape([4, 3], z);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), z.ToArray<float>());
        z.Backward(Tensor.Ones(4, 3));
        Assert.Equal(Enumerable.Repeat(1f, 12).ToArray(), r.Grad!.ToArray<float>());
    }

    [Fact]
    public void Reshape_OfMatrix_GradientComesBackInTheOriginalShape()
    {
        var x = Tensor.From(new float[,] { { 1, 2, 3 }, { 4, 5, 6 } }, requiresGrad: true);
        var z = x.Reshape(3, 2) * Tensor.From(new float[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } });
        z.Sum().Backward();
        Check.Shape([2, 3], x.Grad!);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, x.Grad!.ToArray<float>());
    }
}

public class SeedTransposeTests
{
    [Fact]
    public void Permute_MovesTheSizeOneAxis()
    {
        var x = Tensor.Arange(12, dtype: DType.Float32, requiresGrad: true);
        var p = x.Reshape(2, 6, 1).Permute(0, 2, 1);
        Check.Shape([2, 1, 6], p);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), p.ToArray<float>());
        p.Backward(Tensor.Arange(12, dtype: DType.Float32).Reshape(2, 1, 6));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), x.Grad!.ToArray<float>());
    }

    [Fact]
    public void T_TransposesAndGradientTransposesBack()
    {
        var x = Tensor.Arange(6, dtype: DType.Float32, requiresGrad: true);
        var t = x.Reshape(2, 3).T;
        Check.Shape([3, 2], t);
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, t.ToArray<float>());
        (t * Tensor.From(new float[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } })).Sum().Backward();
        Assert.Equal(new float[] { 1, 3, 5, 2, 4, 6 }, x.Grad!.ToArray<float>());
    }
}
