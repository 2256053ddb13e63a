using MetaGrad.NN;
using SkiaSharp;

namespace MetaGrad.Examples;

/// <summary>Pictures of what a convolutional network learned and where it goes wrong, as PNGs (SkiaSharp).</summary>
public static class ModelPictures
{
    const int Cell = 12;   // screen pixels per filter weight or image pixel

    /// <summary>
    /// The first layer's filters [K, 1, kh, kw] side by side, each scaled to its own range: light
    /// where the filter responds to ink, dark where it responds to its absence.
    /// </summary>
    public static void SaveFilters(Tensor filters, string path)
    {
        var w = filters.Detach().To(DType.Float64);
        int count = w.Shape[0], kh = w.Shape[2], kw = w.Shape[3], gap = Cell;
        using var bitmap = new SKBitmap(count * (kw * Cell + gap) + gap, kh * Cell + 2 * gap);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        for (int f = 0; f < count; f++)
        {
            var values = w[f, 0].ToArray<double>();
            double lo = values.Min(), hi = values.Max();
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++)
                {
                    byte level = (byte)(255 * (values[i * kw + j] - lo) / Math.Max(hi - lo, 1e-12));
                    Fill(canvas, gap + f * (kw * Cell + gap) + j * Cell, gap + i * Cell, Cell, new SKColor(level, level, level));
                }
        }
        Save(bitmap, path);
    }

    /// <summary>Up to <paramref name="count"/> test digits the model gets wrong, each captioned "label → prediction".</summary>
    public static void SaveMisclassified(Module<Tensor, Tensor> model, Tensor images, Tensor labels, string path, int count = 16)
    {
        model.Eval();
        long[] predicted;
        using (Autograd.NoGrad()) predicted = model.Forward(images).ArgMax(1).ToArray<long>();
        var truth = labels.ToArray<long>();
        var wrong = Enumerable.Range(0, truth.Length).Where(i => predicted[i] != truth[i]).Take(count).ToArray();
        const int side = 28 * 4, caption = 28, columns = 8;
        int rows = Math.Max(1, (wrong.Length + columns - 1) / columns);
        using var bitmap = new SKBitmap(columns * side, rows * (side + caption));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 20);
        using var ink = new SKPaint { Color = SKColors.DarkRed, IsAntialias = true };
        for (int k = 0; k < wrong.Length; k++)
        {
            var pixels = images[wrong[k]].Reshape(28, 28).To(DType.Float64).ToArray<double>();
            double lo = pixels.Min(), hi = pixels.Max();
            int x0 = k % columns * side, y0 = k / columns * (side + caption);
            for (int i = 0; i < 28; i++)
                for (int j = 0; j < 28; j++)
                {
                    byte level = (byte)(255 - 255 * (pixels[i * 28 + j] - lo) / Math.Max(hi - lo, 1e-12));
                    Fill(canvas, x0 + j * 4, y0 + i * 4, 4, new SKColor(level, level, level));
                }
            canvas.DrawText($"{truth[wrong[k]]} → {predicted[wrong[k]]}", x0 + 8, y0 + side + 21, font, ink);
        }
        Save(bitmap, path);
    }

    static void Fill(SKCanvas canvas, int x, int y, int size, SKColor color)
    {
        using var paint = new SKPaint { Color = color };
        canvas.DrawRect(x, y, size, size, paint);
    }

    static void Save(SKBitmap bitmap, string path)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        // Written beside the target, then moved over it: a reader never sees half a picture.
        string temporary = path + ".tmp";
        using (var file = File.Create(temporary)) data.SaveTo(file);
        File.Move(temporary, path, overwrite: true);
    }
}
