using System.Text;
using ScottPlot;

namespace MetaGrad.Examples;

/// <summary>
/// Where the decoder looked: attention weights [output chars, input chars] drawn as a text grid
/// (one digit per cell, the weight's tenths, 1–9, '.' below 0.1, so the alignment reads at a glance
/// in a terminal), as a PNG heatmap, or as one heatmap per attention head in one PNG.
/// </summary>
public static class AttentionGrid
{
    /// <summary>One row per output character (its label first), one column per input character (labels across the top).</summary>
    public static string Text(float[,] weights, string input, IReadOnlyList<string> outputs)
    {
        int rows = weights.GetLength(0), columns = weights.GetLength(1);
        int labelWidth = outputs.Max(o => o.Length) + 1;
        var text = new StringBuilder();
        text.Append(' ', labelWidth).AppendJoin(' ', input.Take(columns)).AppendLine();
        for (int r = 0; r < rows; r++)
        {
            text.Append(outputs[r].PadRight(labelWidth));
            for (int c = 0; c < columns; c++)
            {
                float w = weights[r, c];
                int tenths = Math.Min(9, (int)(w * 10));
                text.Append(tenths == 0 ? '.' : (char)('0' + tenths));
                if (c < columns - 1) text.Append(' ');
            }
            text.AppendLine();
        }
        return text.ToString();
    }

    /// <summary>The same weights as a heatmap, input characters along the bottom, output characters down the side.</summary>
    public static void SavePng(float[,] weights, string input, IReadOnlyList<string> outputs, string path)
    {
        var plot = new Plot();
        Draw(plot, weights, input, outputs, $"Attention: {input}", fixedScale: false);
        var (width, height) = PngSize(weights);
        plot.SavePng(path, width, height);
    }

    /// <summary>
    /// The attention of several heads, one heatmap per head stacked in rows (head 1 on top), each
    /// as <see cref="SavePng"/> draws one, on one colour scale from 0 to 1 so the heads compare.
    /// </summary>
    public static void SaveHeadsPng(IReadOnlyList<float[,]> heads, string input, IReadOnlyList<string> outputs, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(heads.Count);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Rows();
        for (int h = 0; h < heads.Count; h++)
            Draw(multiplot.GetPlot(h), heads[h], input, outputs, $"Head {h + 1}: {input}", fixedScale: true);
        var (width, height) = HeadsPngSize(heads);
        multiplot.SavePng(path, width, height);
    }

    /// <summary>The pixel size <see cref="SavePng"/> gives <paramref name="weights"/>: 40 pixels a cell, and room for the labels and the colour bar.</summary>
    public static (int Width, int Height) PngSize(float[,] weights) =>
        (Math.Max(400, 40 * weights.GetLength(1) + 200), Math.Max(300, 40 * weights.GetLength(0) + 150));

    /// <summary>The pixel size <see cref="SaveHeadsPng"/> gives: one <see cref="PngSize"/> per head, stacked.</summary>
    public static (int Width, int Height) HeadsPngSize(IReadOnlyList<float[,]> heads)
    {
        var (width, height) = PngSize(heads[0]);
        return (width, height * heads.Count);
    }

    static void Draw(Plot plot, float[,] weights, string input, IReadOnlyList<string> outputs, string title, bool fixedScale)
    {
        int rows = weights.GetLength(0), columns = weights.GetLength(1);
        var intensities = new double[rows, columns];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                intensities[r, c] = weights[r, c];
        var heatmap = plot.Add.Heatmap(intensities);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        if (fixedScale) heatmap.ManualRange = new ScottPlot.Range(0, 1);
        plot.Add.ColorBar(heatmap);
        // Cells are centred on whole numbers, the first row at the top.
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, columns).Select(c => (double)c)], [.. input.Take(columns).Select(c => c == ' ' ? "␣" : c.ToString())]);
        plot.Axes.Left.SetTicks([.. Enumerable.Range(0, rows).Select(r => (double)(rows - 1 - r))], [.. outputs]);
        plot.Axes.Margins(0, 0);
        plot.XLabel("input");
        plot.YLabel("output");
        plot.Title(title);
    }
}
