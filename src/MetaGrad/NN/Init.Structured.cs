using MetaGrad.Data;

namespace MetaGrad.NN;

/// <summary>The truncated-normal and structured initialisers (torch.nn.init.trunc_normal_, eye_, dirac_, sparse_).</summary>
public static partial class Init
{
    /// <summary>
    /// N(mean, std²) restricted to [a, b]: uniform draws between Φ((a-mean)/std) and Φ((b-mean)/std)
    /// mapped back through Φ⁻¹, then clamped to [a, b], as torch.nn.init.trunc_normal_ (which works
    /// best with mean inside [a, b]).
    /// </summary>
    public static Tensor TruncNormal_(Tensor t, double mean = 0, double std = 1, double a = -2, double b = 2, Generator? generator = null)
    {
        if (!(std > 0)) throw new ArgumentException($"TruncNormal_: std must be positive, got {std}");
        if (!(a < b)) throw new ArgumentException($"TruncNormal_: the lower bound a ({a}) must be below the upper bound b ({b})");
        double lo = StandardNormal.Cdf((a - mean) / std), hi = StandardNormal.Cdf((b - mean) / std);
        var g = generator ?? Generator.Default;
        var values = new double[t.Numel];
        lock (g.Sync)   // once, not once a draw
            for (int i = 0; i < values.Length; i++)
            {
                double x = mean + std * StandardNormal.InverseCdf(lo + (hi - lo) * g.DrawDouble());
                values[i] = Math.Clamp(x, a, b);
            }
        return Fill(t, () => t.Copy_(Tensor.From(values, t.Shape.ToArray())));
    }

    /// <summary>The identity matrix (ones on the main diagonal of a 2-d tensor, zeros elsewhere), as torch.nn.init.eye_.</summary>
    public static Tensor Eye_(Tensor t)
    {
        if (t.NDim != 2) throw new ArgumentException($"Eye_: only tensors with 2 dimensions are supported, got shape {ShapeMath.Format(t.Shape.ToArray())}");
        return Fill(t, () => t.Copy_(Tensor.Eye(t.Shape[0], t.Shape[1], DType.Float64)));
    }

    /// <summary>
    /// The Dirac delta for a convolution weight [out, in, k...] (3 to 5 dims): a 1 at the kernel's
    /// centre linking output channel d to input channel d within each of the groups, so the
    /// convolution passes its input through (as many channels as both sides have), as torch.nn.init.dirac_.
    /// </summary>
    public static Tensor Dirac_(Tensor t, int groups = 1)
    {
        if (t.NDim < 3 || t.NDim > 5) throw new ArgumentException($"Dirac_: only tensors with 3, 4, or 5 dimensions are supported, got shape {ShapeMath.Format(t.Shape.ToArray())}");
        if (groups <= 0 || t.Shape[0] % groups != 0)
            throw new ArgumentException($"Dirac_: dim 0 ({t.Shape[0]}) must be divisible by groups ({groups})");
        var shape = t.Shape.ToArray();
        int perGroup = shape[0] / groups, channels = Math.Min(perGroup, shape[1]);
        // Row-major offset of [o, i, centre...]: the centre of kernel size k is k / 2, as PyTorch picks it.
        int kernel = 1, centre = 0;
        for (int d = 2; d < shape.Length; d++)
        {
            centre = centre * shape[d] + shape[d] / 2;
            kernel *= shape[d];
        }
        var values = new double[t.Numel];
        for (int g = 0; g < groups; g++)
            for (int d = 0; d < channels; d++)
                values[((g * perGroup + d) * shape[1] + d) * kernel + centre] = 1;
        return Fill(t, () => t.Copy_(Tensor.From(values, shape)));
    }

    /// <summary>
    /// A sparse 2-d matrix: N(0, std²) entries with ⌈sparsity·rows⌉ of each column's entries, at
    /// random rows, set to zero (Martens 2010), as torch.nn.init.sparse_.
    /// </summary>
    public static Tensor Sparse_(Tensor t, double sparsity, double std = 0.01, Generator? generator = null)
    {
        if (t.NDim != 2) throw new ArgumentException($"Sparse_: only tensors with 2 dimensions are supported, got shape {ShapeMath.Format(t.Shape.ToArray())}");
        if (!(sparsity >= 0 && sparsity <= 1)) throw new ArgumentException($"Sparse_: sparsity must lie in [0, 1], got {sparsity}");
        int rows = t.Shape[0], cols = t.Shape[1];
        int zeros = (int)Math.Ceiling(sparsity * rows);
        var g = generator ?? Generator.Default;
        var values = new double[rows * cols];
        lock (g.Sync)
            for (int i = 0; i < values.Length; i++) values[i] = std * g.DrawNormal();
        for (int c = 0; c < cols; c++)
            foreach (var r in Permutation.Random(rows, g)[..zeros]) values[r * cols + c] = 0;
        return Fill(t, () => t.Copy_(Tensor.From(values, [rows, cols])));
    }
}
