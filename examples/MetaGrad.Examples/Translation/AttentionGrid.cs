using System.Text;
using ScottPlot;

namespace MetaGrad.Examples;

/// <summary>
/// Where the decoder looked: attention weights [output chars, input chars] drawn as a text grid
/// (one digit per cell, the weight's tenths, 1–9, '.' below 0.1, so the alignment reads at a glance
/// in a terminal) or as a PNG heatmap.
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
        int rows = weights.GetLength(0), columns = weights.GetLength(1);
        var intensities = new double[rows, columns];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                intensities[r, c] = weights[r, c];
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(intensities);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        plot.Add.ColorBar(heatmap);
        // Cells are centred on whole numbers, the first row at the top.
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, columns).Select(c => (double)c)], [.. input.Take(columns).Select(c => c == ' ' ? "␣" : c.ToString())]);
        plot.Axes.Left.SetTicks([.. Enumerable.Range(0, rows).Select(r => (double)(rows - 1 - r))], [.. outputs]);
        plot.Axes.Margins(0, 0);
        plot.XLabel("input");
        plot.YLabel("output");
        plot.Title($"Attention: {input}");
        plot.SavePng(path, Math.Max(400, 40 * columns + 200), Math.Max(300, 40 * rows + 150));
    }
}
