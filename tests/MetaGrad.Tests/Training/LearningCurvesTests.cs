using SkiaSharp;

namespace MetaGrad.Tests.Training;

/// <summary>The learning-curve picture: its size, its ink, and the refusals.</summary>
public class LearningCurvesTests
{
    [Fact]
    public void SavePng_DrawsEachPanelsCurves_AtTheRequestedSize()
    {
        using var dir = new TempFolder();
        string path = dir.File("curves.png");
        LearningCurves.SavePng(path,
            new CurvePanel("Loss", [new Curve("train", [2.0, 1.0, 0.5]), new Curve("test", [2.1, 1.3, 0.9])]),
            new CurvePanel("Accuracy (%)", [new Curve("test", [50, 80, 90], X: [1, 2, 3])]) { Legend = ScottPlot.Alignment.LowerRight });

        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal((1200, 450), (bitmap.Width, bitmap.Height));
        // Curves in colour on a white and grey chart: count the saturated pixels in each half.
        int Coloured(int from, int to)
        {
            int n = 0;
            for (int x = from; x < to; x++)
                for (int y = 0; y < bitmap.Height; y++)
                {
                    var c = bitmap.GetPixel(x, y);
                    if (Math.Max(c.Red, Math.Max(c.Green, c.Blue)) - Math.Min(c.Red, Math.Min(c.Green, c.Blue)) > 80) n++;
                }
            return n;
        }
        Assert.True(Coloured(0, 600) > 200, "the loss panel has its curves");
        Assert.True(Coloured(600, 1200) > 100, "the accuracy panel has its curve");
    }

    [Fact]
    public void SavePng_RefusesNoPanels_AndXOfTheWrongLength()
    {
        using var dir = new TempFolder();
        Assert.Throws<ArgumentException>(() => LearningCurves.SavePng(dir.File("a.png")));
        var e = Assert.Throws<ArgumentException>(() => LearningCurves.SavePng(dir.File("b.png"), new CurvePanel("Loss", [new Curve("train", [1.0, 2.0], X: [1.0])])));
        Assert.Contains("'train' of 'Loss' has 2 values but 1 x positions", e.Message);
    }
}
