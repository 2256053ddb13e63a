using ScottPlot;

namespace MetaGrad.Training;

/// <summary>One line of a chart: its legend label and its values, at x = 1, 2, 3 … unless <paramref name="X"/> is given.</summary>
public sealed record Curve(string Label, IReadOnlyList<double> Values, IReadOnlyList<double>? X = null);

/// <summary>One chart of <see cref="LearningCurves"/>: a title, its curves, the x axis's label and where the legend sits.</summary>
public sealed record CurvePanel(string Title, IReadOnlyList<Curve> Curves)
{
    /// <summary>The x axis's label.</summary>
    public string XLabel { get; init; } = "epoch";

    /// <summary>Where the legend sits: upper right suits a falling loss, lower right a rising accuracy.</summary>
    public Alignment Legend { get; init; } = Alignment.UpperRight;
}

/// <summary>
/// Learning curves as one PNG, the charts side by side (ScottPlot, rendered off-screen by SkiaSharp):
/// <code>
/// LearningCurves.SavePng("curves.png",
///     new CurvePanel("Loss", [new("train", trainLosses), new("test", testLosses)]),
///     new CurvePanel("Accuracy (%)", [new("test", accuracies)]) { Legend = Alignment.LowerRight });
/// </code>
/// </summary>
public static class LearningCurves
{
    /// <summary>Draws <paramref name="panels"/> side by side into a <paramref name="width"/> × <paramref name="height"/> PNG at <paramref name="path"/>.</summary>
    public static void SavePng(string path, IReadOnlyList<CurvePanel> panels, int width = 1200, int height = 450)
    {
        if (panels.Count == 0) throw new ArgumentException("LearningCurves.SavePng: no panels to draw");
        if (width < 1 || height < 1) throw new ArgumentException($"LearningCurves.SavePng: the picture must be at least 1x1, got {width}x{height}");
        foreach (var panel in panels)
            foreach (var curve in panel.Curves)
                if (curve.X is { } x && x.Count != curve.Values.Count)
                    throw new ArgumentException($"LearningCurves.SavePng: curve '{curve.Label}' of '{panel.Title}' has {curve.Values.Count} values but {x.Count} x positions");

        var multiplot = new Multiplot();
        multiplot.AddPlots(panels.Count);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        for (int i = 0; i < panels.Count; i++)
        {
            var plot = multiplot.GetPlot(i);
            foreach (var curve in panels[i].Curves)
            {
                double[] xs = curve.X?.ToArray() ?? [.. Enumerable.Range(1, curve.Values.Count).Select(e => (double)e)];
                var scatter = plot.Add.Scatter(xs, curve.Values.ToArray());
                scatter.LegendText = curve.Label;
                scatter.MarkerSize = 6;
            }
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
            plot.Title(panels[i].Title);
            plot.XLabel(panels[i].XLabel);
            plot.ShowLegend(panels[i].Legend);
        }
        multiplot.SavePng(path, width, height);
    }

    /// <inheritdoc cref="SavePng(string, IReadOnlyList{CurvePanel}, int, int)"/>
    public static void SavePng(string path, params CurvePanel[] panels) => SavePng(path, (IReadOnlyList<CurvePanel>)panels);
}
