using ScottPlot;

namespace MetaGrad.Examples;

/// <summary>The loss and accuracy curves of a run, side by side in one PNG (ScottPlot, rendered off-screen by SkiaSharp).</summary>
public static class LearningCurves
{
    public static void SavePng(IReadOnlyList<EpochResult> history, string path, int width = 1200, int height = 450)
    {
        double[] epochs = history.Select(r => (double)r.Epoch).ToArray();
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();

        var loss = multiplot.GetPlot(0);
        Curve(loss, epochs, history.Select(r => r.TrainLoss), "train");
        Curve(loss, epochs, history.Select(r => r.TestLoss), "test");
        loss.Title("Cross-entropy loss");
        loss.XLabel("epoch");
        loss.ShowLegend(Alignment.UpperRight);

        var accuracy = multiplot.GetPlot(1);
        Curve(accuracy, epochs, history.Select(r => 100 * r.TrainAccuracy), "train");
        Curve(accuracy, epochs, history.Select(r => 100 * r.TestAccuracy), "test");
        accuracy.Title("Accuracy (%)");
        accuracy.XLabel("epoch");
        accuracy.ShowLegend(Alignment.LowerRight);

        multiplot.SavePng(path, width, height);
    }

    static void Curve(Plot plot, double[] epochs, IEnumerable<double> values, string label)
    {
        var scatter = plot.Add.Scatter(epochs, values.ToArray());
        scatter.LegendText = label;
        scatter.MarkerSize = 6;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
    }
}
