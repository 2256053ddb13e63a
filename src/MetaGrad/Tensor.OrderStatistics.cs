using MetaGrad.Functions;

namespace MetaGrad;

/// <summary>How <see cref="Tensor.Quantile(double, int?, bool, QuantileInterpolation)"/> picks a value between two neighbours (PyTorch's interpolation argument).</summary>
public enum QuantileInterpolation
{
    /// <summary>a + (b − a)·f, f the fractional part of the rank q·(n − 1).</summary>
    Linear,
    /// <summary>The lower neighbour.</summary>
    Lower,
    /// <summary>The higher neighbour.</summary>
    Higher,
    /// <summary>The mean of the two neighbours.</summary>
    Midpoint,
    /// <summary>The neighbour at the rank rounded half to even.</summary>
    Nearest,
}

// Order statistics (median, mode, quantiles) and counting of values (unique, bincount, histc).
public partial class Tensor
{
    /// <summary>
    /// The lower median of all elements (0-d; the smaller of the two middle values for an even
    /// count), NaN when any element is NaN (or the tensor is empty). Its gradient is split evenly
    /// among the elements equal to it, as PyTorch's median().
    /// </summary>
    public Tensor Median()
    {
        if (Numel == 0)
        {
            if (!DType.IsFloatingPoint()) throw new ArgumentException($"Median: cannot compute the median of an empty {DType} tensor");
            return Full([], double.NaN, DType);
        }
        var flat = Reshape(-1).Detach();
        var value = flat.Gather(0, LowerMedianIndices(flat, 0)).Reshape();
        return DType.IsFloatingPoint() ? new EvenlyDistributed("Median", value).Apply(this) : value;
    }

    /// <summary>
    /// The lower median along dim and its index (torch.median(dim)); a line holding NaN gives NaN
    /// and the index of a NaN. The whole gradient of a line goes to the index given.
    /// </summary>
    public (Tensor Values, Tensor Indices) Median(int dim, bool keepDim = false) =>
        PickAlong(dim, keepDim, "Median", (x, d) => LowerMedianIndices(x, d));

    /// <summary>
    /// The most frequent value along dim and the index of its last occurrence (torch.mode); of equally
    /// frequent values the smallest. The whole gradient of a line goes to the index given.
    /// </summary>
    public (Tensor Values, Tensor Indices) Mode(int dim = -1, bool keepDim = false) =>
        PickAlong(dim, keepDim, "Mode", (x, d) => x.Backend.ModeIndices(x, d));

    // One element per line along dim, picked by index (kept with size 1), with its index.
    (Tensor Values, Tensor Indices) PickAlong(int dim, bool keepDim, string op, Func<Tensor, int, Tensor> pick)
    {
        int d = ShapeMath.Dim(dim, NDim, op);
        if (NDim == 0) return (Clone(), From(0L));
        if (Layout.Shape[d] == 0)
            throw new ArgumentException($"{op}: expected reduction dim {d} to have non-zero size (input shape {ShapeMath.Format(Layout.Shape)})");
        var (values, indices) = Select(op, d, pick(Detach(), d).Contiguous());
        return keepDim ? (values, indices) : (values.SqueezeDims([d]), indices.SqueezeDims([d]));
    }

    // The index along d of each line's lower median (kept with size 1): position (n − 1)/2 of the
    // stable sort, or that of the first NaN when the line has any (NaN sorts last and wins, as in PyTorch).
    static Tensor LowerMedianIndices(Tensor x, int d)
    {
        var order = (Tensor)x.Backend.Sort(x, d, descending: false).Indices;
        int n = x.Layout.Shape[d];
        var shape = (int[])x.Layout.Shape.Clone();
        shape[d] = 1;
        var position = Full(shape, (n - 1) / 2, DType.Int64);
        if (x.DType.IsFloatingPoint())
        {
            var nans = x.IsNaN().Sum(d, keepDim: true);
            position = Where(nans > 0.0, n - nans, position);
        }
        return order.Gather(d, position);
    }

    /// <summary>
    /// The q-th quantile (q in [0, 1]) over dim, or of all elements when dim is null (torch.quantile):
    /// the sorted values at rank q·(n − 1), between neighbours as <paramref name="interpolation"/> says.
    /// A line holding NaN gives NaN. Floating tensors only; differentiable through the sort.
    /// </summary>
    public Tensor Quantile(double q, int? dim = null, bool keepDim = false, QuantileInterpolation interpolation = QuantileInterpolation.Linear) =>
        QuantileOf([q], scalarQ: true, dim, keepDim, interpolation);

    /// <summary>
    /// Quantiles for each q of a 0-d or 1-D tensor of the input's dtype; a 1-D q adds a leading dim
    /// of its length to the result, as in PyTorch.
    /// </summary>
    public Tensor Quantile(Tensor q, int? dim = null, bool keepDim = false, QuantileInterpolation interpolation = QuantileInterpolation.Linear)
    {
        if (q.NDim > 1) throw new ArgumentException($"Quantile: expected q to be a scalar or 1D tensor, got shape {ShapeMath.Format(q.Layout.Shape)}");
        if (q.DType != DType) throw new ArgumentException($"Quantile: expected q tensor to have the same dtype as the input ({DType}), got {q.DType}");
        return QuantileOf(q.ToArray<double>(), scalarQ: q.NDim == 0, dim, keepDim, interpolation);
    }

    Tensor QuantileOf(double[] qs, bool scalarQ, int? dim, bool keepDim, QuantileInterpolation interpolation)
    {
        // PyTorch refuses half and bfloat16 here too.
        if (DType is not (DType.Float32 or DType.Float64)) throw new ArgumentException($"Quantile: input tensor must be either float or double dtype, got {DType}");
        if (Numel == 0) throw new ArgumentException($"Quantile: input tensor must be non-empty (shape {ShapeMath.Format(Layout.Shape)})");
        foreach (var q in qs)
            if (!(q >= 0 && q <= 1)) throw new ArgumentOutOfRangeException(nameof(qs), $"Quantile: q values must be in the range [0, 1], got {q}");
        int d = dim is int k ? ShapeMath.Dim(k, NDim, "Quantile") : 0;
        var lines = dim is null ? Reshape(-1) : NDim == 0 ? Reshape(1) : this;
        // The shape without the q dim: all dims kept as 1, or those of the input with d removed or kept.
        int[] shape = dim is null
            ? (keepDim ? Enumerable.Repeat(1, NDim).ToArray() : [])
            : (keepDim ? lines.Layout.Shape.Select((s, j) => j == d ? 1 : s).ToArray() : lines.Layout.Shape.Where((_, j) => j != d).ToArray());
        if (NDim == 0) shape = [];
        if (qs.Length == 0) return Zeros([0, .. shape], DType);
        var sorted = lines.Sort(d).Values;
        int n = lines.Layout.Shape[d];
        var picked = new Tensor[qs.Length];
        for (int i = 0; i < qs.Length; i++) picked[i] = QuantileAt(sorted, d, n, qs[i], interpolation);
        var y = Stack(picked, 0);   // [Q, ..., 1 at d + 1, ...]
        var nan = lines.IsNaN();
        if (nan.Any()) y = Where(nan.Any(d, keepDim: true), Full([], double.NaN, DType), y);
        return scalarQ ? y.Reshape(shape) : y.Reshape([qs.Length, .. shape]);
    }

    // The sorted values at rank q·(n − 1) (kept with size 1 at d). The rank and the weight are
    // computed in the tensor's own dtype, and the interpolation is PyTorch's lerp, which counts from
    // the nearer end for accuracy.
    static Tensor QuantileAt(Tensor sorted, int d, int n, double q, QuantileInterpolation interpolation)
    {
        double rank = sorted.DType == DType.Float32 ? (float)q * (float)(n - 1) : q * (n - 1);
        rank = interpolation switch
        {
            QuantileInterpolation.Lower => Math.Floor(rank),
            QuantileInterpolation.Higher => Math.Ceiling(rank),
            QuantileInterpolation.Nearest => Math.Round(rank, MidpointRounding.ToEven),
            _ => rank,
        };
        int below = (int)rank, above = (int)Math.Ceiling(rank);
        var low = sorted.Narrow(d, below, 1);
        if (interpolation is not (QuantileInterpolation.Linear or QuantileInterpolation.Midpoint)) return low;
        double w = interpolation == QuantileInterpolation.Midpoint ? 0.5 : rank - below;
        if (sorted.DType == DType.Float32) w = (float)w;
        var high = sorted.Narrow(d, above, 1);
        return w < 0.5 ? low + (high - low) * w : high - (high - low) * (1 - w);
    }

    /// <summary>
    /// The distinct elements in ascending order (1-D), and on request, for each element the position
    /// of its value among them (the input's shape, Int64) and how often each occurs (Int64), as
    /// torch.unique. With <paramref name="dim"/>, the distinct slices along dim instead, in
    /// lexicographic order, the inverse and counts being per slice. The result is sorted whatever
    /// <paramref name="sorted"/> says (PyTorch leaves the order unspecified when it is false). Not differentiable.
    /// </summary>
    public (Tensor Values, Tensor? Inverse, Tensor? Counts) Unique(bool sorted = true, bool returnInverse = false, bool returnCounts = false, int? dim = null)
    {
        Tensor values, inverse, counts;
        if (dim is int k && NDim > 0)
        {
            int d = ShapeMath.Dim(k, NDim, "Unique");
            int n = Layout.Shape[d];
            if (Numel == 0 && Layout.Shape.Where((_, j) => j != d).Any(s => s == 0))
                throw new ArgumentException($"Unique: there are 0 sized dimensions, and they aren't selected (dim {d} of shape {ShapeMath.Format(Layout.Shape)}), so unique cannot be applied");
            // Each slice along d as one row of a matrix [n, m].
            var order = new[] { d }.Concat(Enumerable.Range(0, NDim).Where(j => j != d)).ToArray();
            var rows = Detach().Permute(order).Reshape(n, n == 0 ? 0 : Numel / n);
            Tensor first;
            (first, inverse, counts) = Backend.UniqueRows(rows);
            values = Detach().IndexSelect(d, first);
        }
        else (values, inverse, counts) = Backend.Unique(this);
        return (values, returnInverse ? inverse : null, returnCounts ? counts : null);
    }

    /// <summary>
    /// How often each non-negative integer of a 1-D integer tensor occurs (torch.bincount): a result
    /// of length max(max(x) + 1, minlength), Int64; with <paramref name="weights"/> (x's shape) the sums
    /// of the weights instead, in Float32 for Float32 weights and Float64 for any other (but Int64
    /// zeros for an empty input, as in PyTorch). Not differentiable.
    /// </summary>
    public Tensor Bincount(Tensor? weights = null, int minlength = 0)
    {
        if (NDim != 1 || !DType.IsInteger())
            throw new ArgumentException($"Bincount: only supports 1-d non-negative integral inputs, got a {DType} tensor of shape {ShapeMath.Format(Layout.Shape)}");
        if (minlength < 0) throw new ArgumentOutOfRangeException(nameof(minlength), $"Bincount: minlength should be >= 0, got {minlength}");
        if (weights is not null && (weights.NDim != 1 || weights.Layout.Shape[0] != Layout.Shape[0]))
            throw new ArgumentException($"Bincount: weights should be 1-d and have the same length as input (input shape {ShapeMath.Format(Layout.Shape)}, weights shape {ShapeMath.Format(weights.Layout.Shape)})");
        // An empty input gives Int64 zeros even with weights, as libtorch's bincount does.
        if (Numel == 0) return Zeros([minlength], DType.Int64);
        var values = ToArray<long>();
        long largest = -1;
        foreach (var v in values)
        {
            if (v < 0) throw new ArgumentException($"Bincount: input should contain only non-negative integers, got {v}");
            largest = Math.Max(largest, v);
        }
        int length = (int)Math.Max(largest + 1, minlength);
        return Backend.Bincount(this, weights?.Detach(), length);
    }

    /// <summary>
    /// A histogram of <paramref name="bins"/> equal bins over [min, max] (torch.histc), in the input's
    /// floating dtype: elements outside the range are left out, max falls in the last bin. When min
    /// and max are equal the data's own minimum and maximum are used, and if those are equal too the
    /// range is widened by 1 on each side. Not differentiable.
    /// </summary>
    public Tensor Histc(int bins = 100, double min = 0, double max = 0)
    {
        if (!DType.IsFloatingPoint()) throw new ArgumentException($"Histc: expected a floating point input, got {DType}");
        if (bins <= 0) throw new ArgumentOutOfRangeException(nameof(bins), $"Histc: bins must be > 0, got {bins}");
        if (min > max) throw new ArgumentException($"Histc: max must be larger than min (min {min}, max {max})");
        if (min == max && Numel > 0)
        {
            var (lo, hi) = Detach().Aminmax();
            (min, max) = (lo.Item<double>(), hi.Item<double>());
        }
        if (min == max) (min, max) = (min - 1, max + 1);
        if (!double.IsFinite(min) || !double.IsFinite(max))
            throw new ArgumentException($"Histc: range of [{min}, {max}] is not finite");
        return Backend.Histc(this, bins, min, max);
    }
}
