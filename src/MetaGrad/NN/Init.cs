namespace MetaGrad.NN;

/// <summary>Fan mode for Kaiming initialisation.</summary>
public enum FanMode
{
    /// <summary>Scale by the inputs per output unit (PyTorch's "fan_in"): keeps the forward pass's variance.</summary>
    FanIn,
    /// <summary>Scale by the outputs per input unit (PyTorch's "fan_out"): keeps the backward pass's variance.</summary>
    FanOut,
}

/// <summary>
/// Weight initialisers (torch.nn.init). Each fills a tensor in place without recording a graph
/// and returns it; the formulas and defaults are PyTorch's.
/// </summary>
public static partial class Init
{
    /// <summary>The recommended gain for a nonlinearity ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu", "conv*").</summary>
    public static double CalculateGain(string nonlinearity, double? param = null) => nonlinearity switch
    {
        "linear" or "conv1d" or "conv2d" or "conv3d" or "sigmoid" => 1,
        "tanh" => 5.0 / 3,
        "relu" => Math.Sqrt(2),
        "leaky_relu" => Math.Sqrt(2 / (1 + Math.Pow(param ?? 0.01, 2))),
        "selu" => 3.0 / 4,
        _ => throw new ArgumentException($"CalculateGain: unsupported nonlinearity \"{nonlinearity}\""),
    };

    /// <summary>(fan_in, fan_out): dim 1 and dim 0 sizes times the receptive field (the product of the remaining dims).</summary>
    public static (int FanIn, int FanOut) CalculateFanInAndFanOut(Tensor t)
    {
        if (t.NDim < 2) throw new ArgumentException($"Init: fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions (shape {ShapeMath.Format(t.Shape.ToArray())})");
        int receptive = t.Shape.Skip(2).Aggregate(1, (a, b) => a * b);
        return (t.Shape[1] * receptive, t.Shape[0] * receptive);
    }

    static Tensor Fill(Tensor t, Action fill)
    {
        using (Autograd.NoGrad()) fill();
        return t;
    }

    /// <summary>U(a, b).</summary>
    public static Tensor Uniform_(Tensor t, double a = 0, double b = 1, Generator? generator = null) => Fill(t, () => t.Uniform_(a, b, generator));
    /// <summary>N(mean, std²).</summary>
    public static Tensor Normal_(Tensor t, double mean = 0, double std = 1, Generator? generator = null) => Fill(t, () => t.Normal_(mean, std, generator));
    /// <summary>A constant.</summary>
    public static Tensor Constant_(Tensor t, double value) => Fill(t, () => t.Fill_(value));
    /// <summary>Zeros.</summary>
    public static Tensor Zeros_(Tensor t) => Constant_(t, 0);
    /// <summary>Ones.</summary>
    public static Tensor Ones_(Tensor t) => Constant_(t, 1);

    /// <summary>Glorot uniform: U(-a, a) with a = gain·√(6 / (fan_in + fan_out)).</summary>
    public static Tensor XavierUniform_(Tensor t, double gain = 1, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(t);
        double a = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        return Uniform_(t, -a, a, generator);
    }

    /// <summary>Glorot normal: N(0, std²) with std = gain·√(2 / (fan_in + fan_out)).</summary>
    public static Tensor XavierNormal_(Tensor t, double gain = 1, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(t);
        return Normal_(t, 0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)), generator);
    }

    static double KaimingStd(Tensor t, double a, FanMode mode, string nonlinearity)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(t);
        int fan = mode == FanMode.FanIn ? fanIn : fanOut;
        return CalculateGain(nonlinearity, a) / Math.Sqrt(fan);
    }

    /// <summary>He uniform: U(-b, b) with b = gain·√(3 / fan).</summary>
    public static Tensor KaimingUniform_(Tensor t, double a = 0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu", Generator? generator = null)
    {
        double bound = Math.Sqrt(3.0) * KaimingStd(t, a, mode, nonlinearity);
        return Uniform_(t, -bound, bound, generator);
    }

    /// <summary>He normal: N(0, std²) with std = gain / √fan.</summary>
    public static Tensor KaimingNormal_(Tensor t, double a = 0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu", Generator? generator = null) =>
        Normal_(t, 0, KaimingStd(t, a, mode, nonlinearity), generator);

    /// <summary>
    /// A (semi-)orthogonal matrix times gain: the Q of a QR decomposition of a normal matrix, with
    /// signs fixed by R's diagonal so the result is uniformly distributed (Saxe et al. 2013).
    /// </summary>
    public static Tensor Orthogonal_(Tensor t, double gain = 1, Generator? generator = null)
    {
        if (t.NDim < 2) throw new ArgumentException($"Orthogonal_: only tensors with 2 or more dimensions are supported, got shape {ShapeMath.Format(t.Shape.ToArray())}");
        int rows = t.Shape[0], cols = t.Numel / rows;
        bool transpose = rows < cols;
        int n = Math.Max(rows, cols), m = Math.Min(rows, cols);
        var g = generator ?? Generator.Default;
        // Modified Gram–Schmidt on the m columns of an n×m normal matrix.
        var q = new double[n, m];
        for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) q[i, j] = g.NextNormal();
        for (int j = 0; j < m; j++)
        {
            for (int k = 0; k < j; k++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++) dot += q[i, k] * q[i, j];
                for (int i = 0; i < n; i++) q[i, j] -= dot * q[i, k];
            }
            double norm = 0;
            for (int i = 0; i < n; i++) norm += q[i, j] * q[i, j];
            norm = Math.Sqrt(norm);
            for (int i = 0; i < n; i++) q[i, j] /= norm;   // R's diagonal is the positive norm: no sign fix needed
        }
        var values = new double[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                values[r * cols + c] = gain * (transpose ? q[c, r] : q[r, c]);
        return Fill(t, () => t.Copy_(Tensor.From(values, t.Shape.ToArray())));
    }
}
