namespace MetaGrad.TensorBoard;

/// <summary>Turns an image tensor in any of PyTorch's layouts into height × width × channel bytes, as add_image does.</summary>
internal static class ImageLayout
{
    const int GridColumns = 8;   // PyTorch's make_grid for add_images

    /// <summary>The pixels row by row, each pixel's channels together, with the size and channel count.</summary>
    public static (byte[] Pixels, int Height, int Width, int Channels) ToHwcBytes(Tensor image, string dataFormats)
    {
        string format = dataFormats.ToUpperInvariant();
        if (format is not ("CHW" or "HWC" or "HW" or "NCHW" or "NHWC"))
            throw new ArgumentException($"add_image: dataformats must be CHW, HWC, HW, NCHW or NHWC, got '{dataFormats}'");
        if (image.NDim != format.Length)
            throw new ArgumentException($"add_image: dataformats '{dataFormats}' needs a {format.Length}-dimensional tensor, got shape {image.Shape}");
        if (image.Numel == 0)
            throw new ArgumentException($"add_image: the image of shape {image.Shape} is empty");

        // Reorder to N, C, H, W (N and C of size 1 where the format has none).
        var t = image.Detach();
        if (!format.Contains('C')) t = t.Unsqueeze(0);
        if (!format.Contains('N')) t = t.Unsqueeze(0);
        string full = (format.Contains('N') ? "" : "N") + (format.Contains('C') ? "" : "C") + format;
        t = t.Permute([.. "NCHW".Select(axis => full.IndexOf(axis))]);
        int n = t.Shape[0], c = t.Shape[1], h = t.Shape[2], w = t.Shape[3];
        if (c is not (1 or 3 or 4) || (n > 1 || format.Contains('N')) && c == 4)
            throw new ArgumentException($"add_image: an image needs 1, 3 or 4 channels (a grid of images 1 or 3), got {c} in shape {image.Shape} ({dataFormats})");

        double scale = image.DType.IsFloatingPoint() ? 255 : 1;   // floats are [0, 1], integers already [0, 255]
        var values = t.To(DType.Float64).Contiguous().ToArray<double>();
        int outChannels = c == 1 ? 3 : c;                          // grey is repeated to RGB, as PyTorch does
        int columns = Math.Min(n, GridColumns), rows = (n + columns - 1) / columns;
        int height = rows * h, width = columns * w;
        var pixels = new byte[height * width * outChannels];       // the grid's unused cells stay black
        for (int k = 0; k < n; k++)
        {
            int top = k / columns * h, left = k % columns * w;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int ch = 0; ch < outChannels; ch++)
                    {
                        double v = values[((k * c + (c == 1 ? 0 : ch)) * h + y) * w + x] * scale;
                        // numpy's clip then astype(uint8): NaN becomes 0, the rest truncates toward zero.
                        pixels[((top + y) * width + left + x) * outChannels + ch] = double.IsNaN(v) ? (byte)0 : (byte)Math.Clamp(v, 0, 255);
                    }
        }
        return (pixels, height, width, outChannels);
    }
}
