namespace MetaGrad;

/// <summary>How <see cref="Tensor.ScatterReduce"/> combines the values that land on one element (PyTorch's reduce argument).</summary>
public enum ScatterReduction
{
    /// <summary>"sum": the values are added.</summary>
    Sum,
    /// <summary>"prod": the values are multiplied.</summary>
    Prod,
    /// <summary>"mean": the average of the values (and of self's, with includeSelf); integers round down.</summary>
    Mean,
    /// <summary>"amax": the largest value; NaN wins.</summary>
    Amax,
    /// <summary>"amin": the smallest value; NaN wins.</summary>
    Amin,
}

// Writing by index. Each operation finds the logical positions it writes by indexing a tensor of
// positions (Positions) the way it indexes this one, then writes with one of two Functions: IndexPut
// (overwrite: the gradient reads back at the positions) or ScatterReduce (combine); IndexPut with
// accumulate is a ScatterAdd on the flattened tensor. Reads by index (Take, TakeAlongDim) are
// IndexSelect and Gather on views, so their gradients come from those.
public partial class Tensor
{
    // Each element's row-major position: indexing it as an operation indexes this tensor gives the
    // positions the operation reads or writes.
    Tensor Positions() => Arange(Numel).Reshape(Layout.Shape);

    static void CheckBounds(string op, Tensor index, int size, int dim, bool negative = false)
    {
        foreach (var i in index.ToArray<long>())
            if (i >= size || i < (negative ? -size : 0))
                throw new ArgumentOutOfRangeException(nameof(index), $"{op}: index {i} is out of bounds for dimension {dim} with size {size}");
    }

    static void CheckSameDType(string op, Tensor self, Tensor other, string name)
    {
        if (other.DType != self.DType)
            throw new ArgumentException($"{op}: expected self and {name} to have the same dtype, got {self.DType} and {other.DType}");
    }

    // Scatter's positions: the element index[i][j] along dim, at j on the other dims, for every entry
    // of the index; src (when given) pairs its leading block of the index's shape with them.
    Tensor ScatterPositions(string op, int dim, Tensor index, Tensor? src)
    {
        CheckIndexTensor(op, index);
        int d = ShapeMath.Dim(dim, NDim, op);
        if (src is not null) CheckSameDType(op, this, src, "src");
        var ids = index.Layout.Shape;
        if (ids.Length != NDim || (src is not null && src.NDim != NDim))
            throw new ArgumentException($"{op}: index {ShapeMath.Format(ids)}{(src is null ? "" : $" and src {ShapeMath.Format(src.Layout.Shape)}")} must have as many dims as self {ShapeMath.Format(Layout.Shape)}");
        for (int k = 0; k < NDim; k++)
            if ((k != d && ids[k] > Layout.Shape[k]) || (src is not null && ids[k] > src.Layout.Shape[k]))
                throw new ArgumentException($"{op}: expected index {ShapeMath.Format(ids)} to be no larger than self {ShapeMath.Format(Layout.Shape)} apart from dim {d}{(src is null ? "" : $" and no larger than src {ShapeMath.Format(src.Layout.Shape)}")}");
        CheckBounds(op, index, NDim == 0 ? 1 : Layout.Shape[d], d);
        return Positions().Gather(d, index);
    }

    // The leading block of t with the given shape (a view).
    static Tensor Leading(Tensor t, int[] shape)
    {
        for (int k = 0; k < shape.Length; k++)
            if (t.Layout.Shape[k] != shape[k]) t = t.Narrow(k, 0, shape[k]);
        return t;
    }

    /// <summary>
    /// A copy with src[i][j] written at [index[i][j]][j] for dim 0, and likewise for any dim
    /// (torch.scatter); only src's leading block of the index's shape is used. Where an index repeats,
    /// which value is kept is unspecified, as in PyTorch.
    /// </summary>
    public Tensor Scatter(int dim, Tensor index, Tensor src)
    {
        var positions = ScatterPositions("Scatter", dim, index, src);
        return new Functions.IndexPut(positions).Apply(this, Leading(src, positions.Layout.Shape));
    }

    /// <summary>A copy with value written at [index[i][j]][j] for dim 0, and likewise for any dim (torch.scatter with a value).</summary>
    public Tensor Scatter(int dim, Tensor index, double value) =>
        new Functions.IndexPut(ScatterPositions("Scatter", dim, index, null)).Apply(this, Scalar(value, DType));

    /// <summary>
    /// A copy with the entries of src combined into [index[i][j]][j] (dim 0, likewise for any dim)
    /// by <paramref name="reduce"/>, together with self's value when <paramref name="includeSelf"/>
    /// (torch.scatter_reduce). Elements that receive nothing keep self's value.
    /// </summary>
    public Tensor ScatterReduce(int dim, Tensor index, Tensor src, ScatterReduction reduce, bool includeSelf = true)
    {
        if (DType == DType.Bool) throw new ArgumentException("ScatterReduce: not supported for Bool tensors");
        var positions = ScatterPositions("ScatterReduce", dim, index, src);
        return new Functions.ScatterReduce(positions, reduce, includeSelf).Apply(this, Leading(src, positions.Layout.Shape));
    }

    /// <summary>A copy with the slices of source along dim written at the 1-D index (torch.index_copy).</summary>
    public Tensor IndexCopy(int dim, Tensor index, Tensor source)
    {
        CheckIndexTensor("IndexCopy", index);
        if (index.NDim > 1) throw new ArgumentException($"IndexCopy: index should have 0 or 1 dims, got shape {ShapeMath.Format(index.Layout.Shape)}");
        CheckSameDType("IndexCopy", this, source, "source");
        int d = ShapeMath.Dim(dim, NDim, "IndexCopy");
        // A 0-d tensor is written as the 1-element vector it holds.
        if (NDim == 0 && source.NDim == 0) return Reshape(1).IndexCopy(0, index, source.Reshape(1)).Reshape();
        var expected = (int[])Layout.Shape.Clone();
        if (NDim > 0) expected[d] = index.Numel;
        if (!source.Layout.Shape.SequenceEqual(expected))
            throw new ArgumentException($"IndexCopy: source of shape {ShapeMath.Format(source.Layout.Shape)} must have shape {ShapeMath.Format(expected)}: self's {ShapeMath.Format(Layout.Shape)} with dim {d} the index's length");
        CheckBounds("IndexCopy", index, Layout.Shape[d], d);
        return new Functions.IndexPut(Positions().IndexSelect(d, index.Reshape(-1))).Apply(this, source);
    }

    /// <summary>
    /// A copy with values written (or, with <paramref name="accumulate"/>, added) at the elements
    /// that this[indices] selects (torch.index_put); the indices are Int64 or Int32 tensors that
    /// broadcast together, or Bool masks, and values broadcast to the selection's shape.
    /// </summary>
    public Tensor IndexPut(Tensor[] indices, Tensor values, bool accumulate = false)
    {
        CheckSameDType("IndexPut", this, values, "values");
        Tensor positions;
        try { positions = Positions().IndexGet([.. indices.Select(i => (TensorIndex)i)]); }
        catch (ArgumentOutOfRangeException e) { throw new ArgumentOutOfRangeException($"IndexPut: {e.Message}", e); }
        catch (ArgumentException e) { throw new ArgumentException($"IndexPut: {e.Message}", e); }
        var shape = positions.Layout.Shape;
        var v = values.NDim > shape.Length ? values.Reshape([.. values.Layout.Shape.SkipWhile(s => s == 1)]) : values;
        if (!IsExpandable(v.Layout.Shape, shape))
            throw new ArgumentException($"IndexPut: shape mismatch: values of shape {ShapeMath.Format(values.Layout.Shape)} cannot be broadcast to the indexing result of shape {ShapeMath.Format(shape)}");
        if (!accumulate) return new Functions.IndexPut(positions).Apply(this, v);
        return Reshape(-1).ScatterAdd(0, positions.Reshape(-1), v.Expand(shape).Reshape(-1)).Reshape(Layout.Shape);
    }

    /// <summary>The elements at the given positions of the flattened tensor, in the index's shape; negative positions count from the end (torch.take).</summary>
    public Tensor Take(Tensor index)
    {
        CheckIndexTensor("Take", index);
        CheckBounds("Take", index, Numel, 0, negative: true);
        var i = index.To(DType.Int64);
        i = Where(i < 0L, i + Numel, i);
        return Reshape(-1).IndexSelect(0, i.Reshape(-1)).Reshape(index.Layout.Shape);
    }

    /// <summary>
    /// Gathers along dim with indices that broadcast against this tensor on the other dims
    /// (torch.take_along_dim); with no dim, takes from the flattened tensor.
    /// </summary>
    public Tensor TakeAlongDim(Tensor indices, int? dim = null)
    {
        CheckIndexTensor("TakeAlongDim", indices);
        if (dim is null)
        {
            CheckBounds("TakeAlongDim", indices, Numel, 0);
            return Reshape(-1).Gather(0, indices.Reshape(-1));
        }
        int d = ShapeMath.Dim(dim.Value, NDim, "TakeAlongDim");
        if (indices.NDim != NDim)
            throw new ArgumentException($"TakeAlongDim: input and indices should have the same number of dims, but got {NDim} dims for input and {indices.NDim} for indices");
        if (NDim == 0) return Gather(d, indices);
        CheckBounds("TakeAlongDim", indices, Layout.Shape[d], d);
        // Both broadcast on every dim but d, where each keeps its own size.
        var (own, picks) = (Layout.Shape.ToArray(), indices.Layout.Shape.ToArray());
        (own[d], picks[d]) = (1, 1);
        var common = ShapeMath.Broadcast("TakeAlongDim", own, picks);
        int[] selfShape = [.. common], indexShape = [.. common];
        (selfShape[d], indexShape[d]) = (Layout.Shape[d], indices.Layout.Shape[d]);
        return Expand(selfShape).Gather(d, indices.Expand(indexShape));
    }

    /// <summary>
    /// A copy with the elements where the (broadcast) mask is true replaced, in row-major order, by
    /// the leading elements of source (torch.masked_scatter).
    /// </summary>
    public Tensor MaskedScatter(Tensor mask, Tensor source)
    {
        CheckMask("MaskedScatter", mask);
        CheckSameDType("MaskedScatter", this, source, "source");
        var shape = ShapeMath.Broadcast("MaskedScatter", Layout.Shape, mask.Layout.Shape);
        return new Functions.MaskedScatter(mask.Expand(shape)).Apply(Expand(shape), source);
    }

    // In place: the out-of-place operation written back into this tensor, recorded by autograd as
    // the arithmetic ones are (see InPlace): the version counter moves, and this tensor takes over
    // the new node as its history. A refusal names the in-place operation the user called.
    Tensor Written(string op, Tensor? other, Func<Tensor, Tensor> compute) => InPlace(op, other, self =>
    {
        string outOfPlace = op.TrimEnd('_') + ":";
        string Named(string message) => op + (message.StartsWith(outOfPlace) ? message[(outOfPlace.Length - 1)..] : ": " + message);
        try { return compute(self); }
        catch (ArgumentOutOfRangeException e) { throw new ArgumentOutOfRangeException(Named(e.Message), e); }
        catch (ArgumentException e) { throw new ArgumentException(Named(e.Message), e); }
    });

    /// <summary>Sets value where the mask (broadcast to this tensor's shape) is true, in place (torch.masked_fill_).</summary>
    public Tensor MaskedFill_(Tensor mask, double value) => Written("MaskedFill_", null, self => self.MaskedFill(mask, value));

    /// <summary>Replaces the masked elements by source's leading elements, in place (torch.masked_scatter_).</summary>
    public Tensor MaskedScatter_(Tensor mask, Tensor source) => Written("MaskedScatter_", source, self => self.MaskedScatter(mask, source));

    /// <summary>Adds src at index along dim, in place (torch.scatter_add_).</summary>
    public Tensor ScatterAdd_(int dim, Tensor index, Tensor src) => Written("ScatterAdd_", src, self => self.ScatterAdd(dim, index, src));

    /// <summary>Writes src at index along dim, in place (torch.scatter_).</summary>
    public Tensor Scatter_(int dim, Tensor index, Tensor src) => Written("Scatter_", src, self => self.Scatter(dim, index, src));

    /// <summary>Writes value at index along dim, in place (torch.scatter_ with a value).</summary>
    public Tensor Scatter_(int dim, Tensor index, double value) => Written("Scatter_", null, self => self.Scatter(dim, index, value));

    /// <summary>Combines src into index along dim by reduce, in place (torch.scatter_reduce_).</summary>
    public Tensor ScatterReduce_(int dim, Tensor index, Tensor src, ScatterReduction reduce, bool includeSelf = true) =>
        Written("ScatterReduce_", src, self => self.ScatterReduce(dim, index, src, reduce, includeSelf));

    /// <summary>Adds the slices of src at the 1-D index along dim, in place (torch.index_add_).</summary>
    public Tensor IndexAdd_(int dim, Tensor index, Tensor src) => Written("IndexAdd_", src, self => self.IndexAdd(dim, index, src));

    /// <summary>Writes the slices of source at the 1-D index along dim, in place (torch.index_copy_).</summary>
    public Tensor IndexCopy_(int dim, Tensor index, Tensor source) => Written("IndexCopy_", source, self => self.IndexCopy(dim, index, source));

    /// <summary>Sets the slices at index along dim to value, in place (torch.index_fill_).</summary>
    public Tensor IndexFill_(int dim, Tensor index, double value) => Written("IndexFill_", null, self => self.IndexFill(dim, index, value));

    /// <summary>Writes (or adds) values at the elements this[indices] selects, in place (torch.index_put_).</summary>
    public Tensor IndexPut_(Tensor[] indices, Tensor values, bool accumulate = false) =>
        Written("IndexPut_", values, self => self.IndexPut(indices, values, accumulate));
}
