using SkiaSharp;

namespace MetaGrad.Tests.Training;

/// <summary>The confusion-matrix heat map: its size, its shading by share of the true class, the refusals.</summary>
public class ConfusionMatrixPictureTests
{
    [Fact]
    public void SavePng_ShadesEachCellByItsShareOfTheTrueClass()
    {
        using var dir = new TempFolder();
        string path = dir.File("confusion.png");
        // Class 0: all 40 right; class 1: 30 right, 10 taken for 0; class 2: never predicted right.
        var matrix = Tensor.From(new long[] { 40, 0, 0, 10, 30, 0, 5, 5, 0 }, [3, 3]);
        ConfusionMatrixPicture.SavePng(matrix, path, ["cat", "dog", "fox"]);

        Assert.Equal(new[,] { { 1.0, 0, 0 }, { 0.25, 0.75, 0 }, { 0.5, 0.5, 0 } }, ConfusionMatrixPicture.Shares(matrix));
        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal(ConfusionMatrixPicture.PngSize(3), (bitmap.Width, bitmap.Height));
        // The shaded cells are blue (the colour bar too): many pixels far bluer than red.
        int blue = 0;
        for (int x = 0; x < bitmap.Width; x++)
            for (int y = 0; y < bitmap.Height; y++)
            {
                var c = bitmap.GetPixel(x, y);
                if (c.Blue - c.Red > 60) blue++;
            }
        Assert.True(blue > 3000, $"{blue} blue pixels");
    }

    [Fact]
    public void SavePng_RefusesANonSquareOrFloatMatrix_AndTheWrongNumberOfNames()
    {
        using var dir = new TempFolder();
        Assert.Contains("square", Assert.Throws<ArgumentException>(() => ConfusionMatrixPicture.SavePng(Tensor.Zeros(2, 3).To(DType.Int64), dir.File("a.png"))).Message);
        Assert.Contains("Float32", Assert.Throws<ArgumentException>(() => ConfusionMatrixPicture.SavePng(Tensor.Zeros(2, 2), dir.File("b.png"))).Message);
        Assert.Contains("3 class names", Assert.Throws<ArgumentException>(() => ConfusionMatrixPicture.SavePng(Tensor.Zeros(2, 2).To(DType.Int64), dir.File("c.png"), ["a", "b", "c"])).Message);
    }
}
