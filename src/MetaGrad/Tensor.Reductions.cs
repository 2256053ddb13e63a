using MetaGrad.Functions;

namespace MetaGrad;

public partial class Tensor
{
    int[] ReduceDims(int[]? dims, string op)
    {
        if (dims is null) return ShapeMath.Iota(NDim);
        if (NDim == 0)
        {
            foreach (var dim in dims) ShapeMath.Dim(dim, 0, op);
            return [];
        }
        // Loops, not LINQ: this runs for every reduction, tiny ones included.
        var d = Dims(dims, op);
        Array.Sort(d);
        bool repeated = false;
        for (int i = 1; i < d.Length; i++) repeated |= d[i] == d[i - 1];
        if (repeated) throw new ArgumentException($"{op}: dim {ShapeMath.Format(dims)} appears multiple times in the list of dims");
        return d;
    }

    /// <summary>Sum of all elements (0-d). Integer and Bool tensors sum to Int64.</summary>
    public Tensor Sum() => Sum(null, keepDim: false);
    /// <summary>Sum along one dim.</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Sum([dim], keepDim);
    /// <summary>Sum along several dims (all when null).</summary>
    public Tensor Sum(int[]? dims, bool keepDim = false)
    {
        var d = ReduceDims(dims, "Sum");
        if (d.Length == 0) return DType.IsFloatingPoint() ? this + 0.0 : To(DType.Int64);
        if (!DType.IsFloatingPoint()) return ((Tensor)Backend.Reduce(Backends.ReduceOp.Sum, this, d)).SqueezeIf(!keepDim, d);
        return new Functions.Sum(d, keepDim).Apply(this);
    }

    Tensor SqueezeIf(bool squeeze, int[] dims) => squeeze ? SqueezeDims(dims) : this;

    /// <summary>Mean of all elements.</summary>
    public Tensor Mean() => Mean(null, keepDim: false);
    /// <summary>Mean along one dim.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Mean([dim], keepDim);
    /// <summary>Mean along several dims (all when null). Floating dtypes only, as in PyTorch.</summary>
    public Tensor Mean(int[]? dims, bool keepDim = false)
    {
        if (!DType.IsFloatingPoint())
            throw new ArgumentException($"Mean: could not infer output dtype; input dtype must be floating point, got {DType}");
        var d = ReduceDims(dims, "Mean");
        int count = d.Aggregate(1, (n, k) => n * Layout.Shape[k]);
        return Sum(d, keepDim) / count;
    }

    /// <summary>
    /// Variance along dims (all when null) with Bessel's correction by default (correction = 1),
    /// computed as the mean squared deviation from the mean, which is stable for large offsets.
    /// </summary>
    public Tensor Var(int[]? dims = null, int correction = 1, bool keepDim = false)
    {
        var d = ReduceDims(dims, "Var");
        int count = d.Aggregate(1, (n, k) => n * Layout.Shape[k]);
        var deviation = this - Mean(d, keepDim: true);
        return (deviation * deviation).Sum(d, keepDim) / Math.Max(count - correction, 0);
    }

    /// <summary>Variance along one dim.</summary>
    public Tensor Var(int dim, int correction = 1, bool keepDim = false) => Var([dim], correction, keepDim);

    /// <summary>
    /// Standard deviation: the square root of <see cref="Var(int[], int, bool)"/>. Where it is 0 its
    /// gradient is 0, the subgradient PyTorch returns.
    /// </summary>
    public Tensor Std(int[]? dims = null, int correction = 1, bool keepDim = false)
    {
        var v = Var(ReduceDims(dims, "Std"), correction, keepDim);
        // √'s derivative is infinite at 0 (and 0·inf = NaN): route the root through 1 where the variance is 0.
        var zero = v == 0.0;
        return Where(zero, ZerosLike(v), Where(zero, OnesLike(v), v).Sqrt());
    }

    /// <summary>Standard deviation along one dim.</summary>
    public Tensor Std(int dim, int correction = 1, bool keepDim = false) => Std([dim], correction, keepDim);

    /// <summary>
    /// The vector p-norm over dims (all when null): (Σ|x|^p)^(1/p); p = ∞ is max |x|. Its
    /// gradient at the zero vector is 0, the subgradient PyTorch returns.
    /// </summary>
    public Tensor Norm(double p = 2, int[]? dims = null, bool keepDim = false)
    {
        var d = ReduceDims(dims, "Norm");
        var a = Abs();
        if (double.IsPositiveInfinity(p))
        {
            if (d.Any(k => Layout.Shape[k] == 0) || (Numel == 0 && dims is null))
                throw new ArgumentException($"Norm: the inf-norm of an empty dim has no identity (input shape {ShapeMath.Format(Layout.Shape)})");
            return a.Max(d, keepDim);
        }
        if (p == 1) return a.Sum(d, keepDim);
        // |x|^p under- or overflows long before the norm does (float32 squares vanish below 1e-19
        // and overflow above 1e19), so divide by the largest |x| first, as hypot does. The scale is a
        // constant for differentiation: ‖x‖ = m·‖x/m‖ for every m > 0.
        var m = Numel == 0 ? OnesLike(a.Sum(d, keepDim: true)) : a.Max(d, keepDim: true).Detach();
        m = Where((m > 0.0) & (m < double.PositiveInfinity), m, OnesLike(m));   // 0, inf and NaN: no scaling
        var powered = (a / m).Pow(p).Sum(d, keepDim: true);
        // Where the norm is 0, route the root through 1 so its derivative (which is infinite) never meets the zero.
        var zero = powered == 0.0;
        var safe = Where(zero, OnesLike(powered), powered);
        var y = Where(zero, ZerosLike(powered), safe.Pow(1 / p) * m);
        return keepDim ? y : y.SqueezeDims(d);
    }

    /// <summary>Norm along one dim.</summary>
    public Tensor Norm(double p, int dim, bool keepDim = false) => Norm(p, [dim], keepDim);

    /// <summary>The largest element (0-d); its gradient is shared evenly by all maxima.</summary>
    public Tensor Max() => Max(null, keepDim: false);
    /// <summary>The largest elements along dim (PyTorch's amax); the gradient is split evenly among ties.</summary>
    public Tensor Max(int dim, bool keepDim = false) => Max([dim], keepDim);
    /// <summary>The largest elements over dims (all when null).</summary>
    public Tensor Max(int[]? dims, bool keepDim = false) => ExtremeOver(dims, keepDim, max: true);

    /// <summary>The smallest element (0-d); its gradient is shared evenly by all minima.</summary>
    public Tensor Min() => Min(null, keepDim: false);
    /// <summary>The smallest elements along dim (PyTorch's amin); the gradient is split evenly among ties.</summary>
    public Tensor Min(int dim, bool keepDim = false) => Min([dim], keepDim);
    /// <summary>The smallest elements over dims (all when null).</summary>
    public Tensor Min(int[]? dims, bool keepDim = false) => ExtremeOver(dims, keepDim, max: false);

    Tensor ExtremeOver(int[]? dims, bool keepDim, bool max)
    {
        var d = ReduceDims(dims, max ? "Max" : "Min");
        if (Numel == 0 && dims is null)
            throw new ArgumentException($"{(max ? "Max" : "Min")}: expected a reduction dim to be specified for an empty input of shape {ShapeMath.Format(Layout.Shape)}");
        if (d.Length == 0) return Clone();
        return new Extreme(d, keepDim, max).Apply(this);
    }

    /// <summary>Index of the largest element of the flattened tensor (first on ties), Int64.</summary>
    public Tensor ArgMax() => Reshape(-1).ArgMax(0);
    /// <summary>Indices of the largest elements along dim (first on ties), Int64.</summary>
    public Tensor ArgMax(int dim, bool keepDim = false) => ArgExtreme(dim, keepDim, max: true);
    /// <summary>Index of the smallest element of the flattened tensor (first on ties), Int64.</summary>
    public Tensor ArgMin() => Reshape(-1).ArgMin(0);
    /// <summary>Indices of the smallest elements along dim (first on ties), Int64.</summary>
    public Tensor ArgMin(int dim, bool keepDim = false) => ArgExtreme(dim, keepDim, max: false);

    Tensor ArgExtreme(int dim, bool keepDim, bool max)
    {
        int d = ShapeMath.Dim(dim, NDim, max ? "ArgMax" : "ArgMin");
        if (NDim == 0) return From(0L);
        Tensor y = Backend.ArgReduce(this, d, max);
        Tracing.Active?.Primitive(max ? "ArgMax" : "ArgMin", d, [this], y);
        return keepDim ? y : y.SqueezeDims([d]);
    }

    /// <summary>Values sorted along dim with the indices they came from (a stable sort; NaN sorts last).</summary>
    public (Tensor Values, Tensor Indices) Sort(int dim = -1, bool descending = false)
    {
        int d = ShapeMath.Dim(dim, NDim, "Sort");
        if (NDim == 0) return (Clone(), From(0L));
        (_, Tensor indices) = Backend.Sort(Detach(), d, descending);
        return Select("Sort", d, indices);
    }

    // Values at indices along dim and the indices, from one two-output node.
    (Tensor Values, Tensor Indices) Select(string op, int dim, Tensor indices)
    {
        var outputs = new Functions.Selection(op, dim, indices).Apply(this);
        return (outputs[0], outputs[1]);
    }

    /// <summary>The k largest (or smallest) values along dim and their indices, sorted.</summary>
    public (Tensor Values, Tensor Indices) TopK(int k, int dim = -1, bool largest = true)
    {
        int d = ShapeMath.Dim(dim, NDim, "TopK");
        int size = NDim == 0 ? 1 : Layout.Shape[d];
        if (k < 0 || k > size) throw new ArgumentOutOfRangeException(nameof(k), $"TopK: k ({k}) is out of range for dimension {d} of size {size}");
        if (NDim == 0) return (Clone(), From(0L));
        Tensor order = Backend.TopKIndices(Detach(), d, k, largest);
        return Select("Topk", d, order);
    }

    /// <summary>
    /// The largest values along dim with their indices, as PyTorch's torch.max(x, dim) returns them:
    /// the whole gradient of a row goes to the index given (the first maximum), where
    /// <see cref="Max(int, bool)"/> (PyTorch's amax, the seed's Max) shares it among ties.
    /// </summary>
    public (Tensor Values, Tensor Indices) MaxWithIndices(int dim, bool keepDim = false) => ExtremeWithIndices(dim, keepDim, max: true);

    /// <summary>The smallest values along dim with their indices (torch.min(x, dim)); see <see cref="MaxWithIndices"/>.</summary>
    public (Tensor Values, Tensor Indices) MinWithIndices(int dim, bool keepDim = false) => ExtremeWithIndices(dim, keepDim, max: false);

    (Tensor Values, Tensor Indices) ExtremeWithIndices(int dim, bool keepDim, bool max)
    {
        string op = max ? "MaxWithIndices" : "MinWithIndices";
        int d = ShapeMath.Dim(dim, NDim, op);
        if (NDim == 0) return (Clone(), From(0L));
        if (Layout.Shape[d] == 0)
            throw new ArgumentException($"{op}: cannot reduce over dimension {d} of size 0 of a tensor of shape {ShapeMath.Format(Layout.Shape)}");
        Tensor found = Backend.ArgReduce(this, d, max);
        Tracing.Active?.Primitive(max ? "ArgMax" : "ArgMin", d, [this], found);
        var (values, indices) = Select(max ? "Max" : "Min", d, found);   // [.., 1, ..]
        return keepDim ? (values, indices) : (values.SqueezeDims([d]), indices.SqueezeDims([d]));
    }

    /// <summary>log Σ exp(x) along dim (-inf over an empty dim), computed stably by shifting by the max.</summary>
    public Tensor LogSumExp(int dim, bool keepDim = false)
    {
        int d = ShapeMath.Dim(dim, NDim, "LogSumExp");
        var m = MaxShift(d);
        m = Where(m.Abs() == double.PositiveInfinity, ZerosLike(m), m);
        var y = (this - m).Exp().Sum(d, keepDim: true).Log() + m;
        return keepDim ? y : y.SqueezeDims([d]);
    }

    /// <summary>exp(x) / Σ exp(x) along dim, stable for large inputs (one fused node).</summary>
    public Tensor Softmax(int dim)
    {
        int d = ShapeMath.Dim(dim, NDim, "Softmax");
        return new Functions.Softmax(d).Apply(Floating());
    }

    // The max along d (kept as size 1) that the softmax family subtracts before exponentiating.
    // It is a constant for differentiation: its gradient would cancel exactly anyway. An empty dim
    // has no max and nothing to shift, so the shift is 0 there (PyTorch gives -inf and empty results).
    Tensor MaxShift(int d)
    {
        if (NDim > 0 && Layout.Shape[d] == 0)
        {
            var shape = (int[])Layout.Shape.Clone();
            shape[d] = 1;
            return Zeros(shape, DType);
        }
        return Max(d, keepDim: true).Detach();
    }

    /// <summary>x - log Σ exp(x) along dim, stable for large inputs (one fused node).</summary>
    public Tensor LogSoftmax(int dim)
    {
        int d = ShapeMath.Dim(dim, NDim, "LogSoftmax");
        return new Functions.LogSoftmax(d).Apply(Floating());
    }

    /// <summary>Softmax composed from primitive operations: the reference the fused node is tested against.</summary>
    internal Tensor SoftmaxReference(int dim)
    {
        int d = ShapeMath.Dim(dim, NDim, "Softmax");
        var e = (this - MaxShift(d)).Exp();
        return e / e.Sum(d, keepDim: true);
    }

    /// <summary>LogSoftmax composed from primitive operations: the reference the fused node is tested against.</summary>
    internal Tensor LogSoftmaxReference(int dim)
    {
        int d = ShapeMath.Dim(dim, NDim, "LogSoftmax");
        var shifted = this - MaxShift(d);
        return shifted - shifted.Exp().Sum(d, keepDim: true).Log();
    }
}
