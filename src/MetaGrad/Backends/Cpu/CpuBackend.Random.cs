namespace MetaGrad.Backends.Cpu;

internal sealed partial class CpuBackend
{
    // Values are drawn in row-major order of dst's shape, so a seed gives the same tensor whatever
    // its strides; the generator is locked once for the whole tensor, not once a value.
    void FillDrawn(RawTensor dst, Generator gen, Func<Generator, double> draw)
    {
        var values = new double[dst.Numel];
        lock (gen.Sync)
            for (int i = 0; i < values.Length; i++) values[i] = draw(gen);
        Copy(dst, FromArray(values, dst.Layout.Shape));
    }

    public void FillUniform(RawTensor dst, Generator gen, double lo, double hi)
    {
        double scale = hi - lo;
        // The common case (a fresh float32 tensor, e.g. a dropout mask) is drawn straight into place.
        if (dst.DType == DType.Float32 && dst.Layout.IsContiguous)
        {
            var data = Data<float>(dst).AsSpan(dst.Layout.Offset, dst.Numel);
            lock (gen.Sync)
                for (int i = 0; i < data.Length; i++) data[i] = (float)(lo + scale * gen.DrawDouble());
            return;
        }
        FillDrawn(dst, gen, g => lo + scale * g.DrawDouble());
    }

    public void FillNormal(RawTensor dst, Generator gen, double mean, double std) =>
        FillDrawn(dst, gen, g => mean + std * g.DrawNormal());

    public void FillRandInt(RawTensor dst, Generator gen, long lo, long hi)
    {
        if (hi <= lo) throw new ArgumentException($"RandInt: expected low < high, got low={lo}, high={hi}");
        var values = new long[dst.Numel];
        lock (gen.Sync)
            for (int i = 0; i < values.Length; i++) values[i] = lo + gen.DrawInt64(hi - lo);
        Copy(dst, FromArray(values, dst.Layout.Shape));
    }

    public RawTensor Multinomial(RawTensor probs, int samples, bool replacement, Generator gen)
    {
        var shape = probs.Layout.Shape;
        if (shape.Length is not (1 or 2)) throw new ArgumentException($"Multinomial: probabilities must be 1-D or 2-D, got shape {ShapeMath.Format(shape)}");
        int rows = shape.Length == 1 ? 1 : shape[0], cats = shape[^1];
        var w = ToArray<double>(probs);
        var result = new long[rows * samples];
        for (int r = 0; r < rows; r++)
        {
            var weights = w.AsSpan(r * cats, cats).ToArray();
            if (weights.Any(v => v < 0 || double.IsNaN(v) || double.IsInfinity(v)))
                throw new ArgumentException("Multinomial: probabilities must be finite and non-negative");
            int positive = weights.Count(v => v > 0);
            if (positive == 0) throw new ArgumentException("Multinomial: the probabilities of a row sum to zero");
            if (!replacement && samples > positive)
                throw new ArgumentException($"Multinomial: cannot draw {samples} samples without replacement from {positive} categories with non-zero probability");
            for (int s = 0; s < samples; s++)
            {
                double total = weights.Sum(), u = gen.NextDouble() * total, acc = 0;
                int chosen = -1;
                for (int c = 0; c < cats; c++)
                {
                    if (weights[c] <= 0) continue;
                    chosen = c;
                    acc += weights[c];
                    if (u < acc) break;
                }
                result[r * samples + s] = chosen;
                if (!replacement) weights[chosen] = 0;
            }
        }
        return FromArray(result, shape.Length == 1 ? [samples] : [rows, samples]);
    }
}
