using System.Globalization;
using ScottPlot;

namespace MetaGrad.Training;

/// <summary>
/// A confusion matrix (<see cref="Metrics.ConfusionMatrix"/>: rows the true class, columns the
/// predicted one) as a PNG heat map, each cell shaded by its share of the true class's samples and
/// labelled with its count, so the few confusions off the diagonal stand out.
/// </summary>
public static class ConfusionMatrixPicture
{
    const int Cell = 48;   // pixels a cell

    /// <summary>Draws <paramref name="matrix"/> [C, C] to <paramref name="path"/>; <paramref name="classNames"/> label the axes (0 … C-1 by default).</summary>
    public static void SavePng(Tensor matrix, string path, IReadOnlyList<string>? classNames = null, string title = "Confusion matrix")
    {
        var counts = Counts(matrix);
        int classes = counts.GetLength(0);
        classNames ??= [.. Enumerable.Range(0, classes).Select(c => c.ToString(CultureInfo.InvariantCulture))];
        if (classNames.Count != classes)
            throw new ArgumentException($"ConfusionMatrixPicture: {classNames.Count} class names for a {classes}x{classes} matrix");

        var shares = Shares(counts);

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(shares);
        heatmap.Colormap = new ScottPlot.Colormaps.Blues().Reversed();   // ScottPlot's Blues runs dark to light: empty cells should be the light ones
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        plot.Add.ColorBar(heatmap);
        // Cells are centred on whole numbers, the first row (class 0) at the top.
        for (int t = 0; t < classes; t++)
            for (int p = 0; p < classes; p++)
            {
                if (counts[t, p] == 0) continue;   // blank cells read faster than a sea of zeros
                var label = plot.Add.Text(counts[t, p].ToString(CultureInfo.InvariantCulture), p, classes - 1 - t);
                label.LabelAlignment = Alignment.MiddleCenter;
                label.LabelFontSize = 13;
                label.LabelFontColor = shares[t, p] > 0.5 ? Colors.White : Colors.Black;
            }
        double[] positions = [.. Enumerable.Range(0, classes).Select(c => (double)c)];
        plot.Axes.Bottom.SetTicks(positions, [.. classNames]);
        plot.Axes.Left.SetTicks([.. positions.Select(c => classes - 1 - c)], [.. classNames]);
        plot.Axes.Margins(0, 0);
        plot.XLabel("predicted");
        plot.YLabel("true");
        plot.Title(title);
        var (width, height) = PngSize(classes);
        plot.SavePng(path, width, height);
    }

    /// <summary>Each cell's share of its row, the true class's samples (0 for a class without samples): what the shading shows.</summary>
    public static double[,] Shares(Tensor matrix) => Shares(Counts(matrix));

    static double[,] Shares(long[,] counts)
    {
        int classes = counts.GetLength(0);
        var shares = new double[classes, classes];
        for (int t = 0; t < classes; t++)
        {
            long row = 0;
            for (int p = 0; p < classes; p++) row += counts[t, p];
            for (int p = 0; p < classes; p++) shares[t, p] = row == 0 ? 0 : (double)counts[t, p] / row;
        }
        return shares;
    }

    /// <summary>The picture's size for <paramref name="classes"/> classes: a square grid, and room for the labels and the colour bar.</summary>
    public static (int Width, int Height) PngSize(int classes) => (Math.Max(360, Cell * classes + 230), Math.Max(300, Cell * classes + 130));

    static long[,] Counts(Tensor matrix)
    {
        if (matrix.NDim != 2 || matrix.Shape[0] != matrix.Shape[1] || matrix.Shape[0] == 0)
            throw new ArgumentException($"ConfusionMatrixPicture: expected a square matrix [C, C], got shape {matrix.Shape}");
        if (matrix.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"ConfusionMatrixPicture: expected counts (Int64 or Int32), got {matrix.DType}");
        var values = matrix.To(DType.Int64).Contiguous().ToArray<long>();
        int classes = matrix.Shape[0];
        var counts = new long[classes, classes];
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] < 0) throw new ArgumentException($"ConfusionMatrixPicture: counts must be 0 or more, got {values[i]} at [{i / classes}, {i % classes}]");
            counts[i / classes, i % classes] = values[i];
        }
        return counts;
    }
}
