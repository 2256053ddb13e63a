using MetaGrad.Functions;

namespace MetaGrad;

/// <summary>
/// One entry of an index expression: an integer, a C# Index (<c>^1</c>) or Range (<c>1..3</c>),
/// a stepped slice, NewAxis, Ellipsis, or an Int64/Bool tensor (advanced indexing).
/// </summary>
public readonly struct TensorIndex
{
    internal enum Kind { Integer, Slice, NewAxis, Ellipsis, Tensor }

    internal readonly Kind K;
    internal readonly Index Start, Stop;
    internal readonly int Step;
    internal readonly Tensor? Indices;
    // An integer written as -n (PyTorch's spelling) rather than ^n: messages repeat it as written.
    internal readonly bool Negative;

    TensorIndex(Kind k, Index start = default, Index stop = default, int step = 1, Tensor? indices = null, bool negative = false)
    {
        K = k;
        Start = start;
        Stop = stop;
        Step = step;
        Indices = indices;
        Negative = negative;
    }

    /// <summary>The position as the user wrote it: 3, -4 or ^4.</summary>
    internal string Written => Negative ? $"-{Start.Value}" : Start.ToString();

    /// <summary>Inserts a new dim of size 1 (PyTorch's None).</summary>
    public static TensorIndex NewAxis => new(Kind.NewAxis);
    /// <summary>Stands for as many full slices as needed (PyTorch's ...).</summary>
    public static TensorIndex Ellipsis => new(Kind.Ellipsis);

    /// <summary>start:stop:step; a null bound means the end of the dim. Negative bounds count from the end.</summary>
    public static TensorIndex Slice(int? start = null, int? stop = null, int step = 1)
    {
        if (step <= 0) throw new ArgumentException($"Slice: step must be greater than zero, got {step}");
        Index s = start is int a ? (a < 0 ? Index.FromEnd(-a) : Index.FromStart(a)) : Index.Start;
        Index e = stop is int b ? (b < 0 ? Index.FromEnd(-b) : Index.FromStart(b)) : Index.End;
        return new(Kind.Slice, s, e, step);
    }

    /// <summary>A single position (negative counts from the end).</summary>
    public static implicit operator TensorIndex(int i) => new(Kind.Integer, i < 0 ? Index.FromEnd(-i) : Index.FromStart(i), negative: i < 0);
    /// <summary>A single position, from the start or the end (<c>^1</c>).</summary>
    public static implicit operator TensorIndex(Index i) => new(Kind.Integer, i);
    /// <summary>A range of positions (<c>1..3</c>, <c>..</c>).</summary>
    public static implicit operator TensorIndex(Range r) => new(Kind.Slice, r.Start, r.End, 1);
    /// <summary>Advanced indexing by an integer tensor, or masking by a Bool tensor.</summary>
    public static implicit operator TensorIndex(Tensor t) => new(Kind.Tensor, indices: t);
}

public partial class Tensor
{
    /// <summary>PyTorch's None in an index expression.</summary>
    public static TensorIndex NewAxis => TensorIndex.NewAxis;
    /// <summary>PyTorch's ... in an index expression.</summary>
    public static TensorIndex Ellipsis => TensorIndex.Ellipsis;

    /// <summary>
    /// Indexing with PyTorch's rules: integers and ranges give views; integer or Bool tensors
    /// gather (a copy). Assignment writes in place and is recorded by autograd.
    /// </summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public Tensor this[params TensorIndex[] indices]
    {
        get => IndexGet(indices);
        set => IndexPut(indices, value);
    }

    Tensor IndexGet(TensorIndex[] indices)
    {
        var (view, advanced) = BasicIndex(indices);
        return advanced.Count == 0 ? view : AdvancedIndex(view, advanced);
    }

    // Applies integers, slices, NewAxis and Ellipsis as views; returns the tensor indices with the
    // dims of the view they apply to.
    (Tensor View, List<(int Dim, Tensor Index)> Advanced) BasicIndex(TensorIndex[] indices)
    {
        int consumed = indices.Sum(i => i.K switch
        {
            TensorIndex.Kind.Integer or TensorIndex.Kind.Slice => 1,
            TensorIndex.Kind.Tensor => i.Indices!.DType == DType.Bool ? Math.Max(i.Indices.NDim, 1) : 1,
            _ => 0,
        });
        if (consumed > NDim)
            throw new ArgumentOutOfRangeException(nameof(indices), $"Index: too many indices for tensor of dimension {NDim} (got {consumed})");
        if (indices.Count(i => i.K == TensorIndex.Kind.Ellipsis) > 1)
            throw new ArgumentException("Index: an index can only have a single ellipsis");

        var x = this;
        var advanced = new List<(int, Tensor)>();
        int dim = 0, sourceDim = 0;   // dim in the view being built, and in this tensor (for messages)
        foreach (var index in indices)
        {
            if (index.K is TensorIndex.Kind.Integer or TensorIndex.Kind.Slice) sourceDim++;
            switch (index.K)
            {
                case TensorIndex.Kind.Integer:
                {
                    int size = x.Layout.Shape[dim];
                    int i = index.Start.IsFromEnd ? size - index.Start.Value : index.Start.Value;
                    if (i < 0 || i >= size)
                        throw new ArgumentOutOfRangeException(nameof(indices), $"Index: index {index.Written} is out of bounds for dimension {sourceDim - 1} with size {size}");
                    x = x.Select(dim, i);
                    break;
                }
                case TensorIndex.Kind.Slice:
                {
                    int size = x.Layout.Shape[dim];
                    int start = Math.Clamp(index.Start.IsFromEnd ? size - index.Start.Value : index.Start.Value, 0, size);
                    int stop = Math.Clamp(index.Stop.IsFromEnd ? size - index.Stop.Value : index.Stop.Value, 0, size);
                    int length = stop <= start ? 0 : (stop - start + index.Step - 1) / index.Step;
                    if (!(start == 0 && length == size && index.Step == 1)) x = x.Slice(dim, start, length, index.Step, "Slice");
                    dim++;
                    break;
                }
                case TensorIndex.Kind.NewAxis:
                    x = x.Unsqueeze(dim);
                    dim++;
                    break;
                case TensorIndex.Kind.Ellipsis:
                    dim += NDim - consumed;
                    sourceDim += NDim - consumed;
                    break;
                case TensorIndex.Kind.Tensor:
                {
                    var t = index.Indices!;
                    if (t.DType == DType.Bool)
                    {
                        var m = t.NDim == 0 ? t.Unsqueeze(0) : t;
                        for (int d = 0; d < m.NDim; d++)
                            if (m.Layout.Shape[d] != x.Layout.Shape[dim + d])
                                throw new ArgumentException($"Index: the shape of the mask {ShapeMath.Format(t.Layout.Shape)} does not match the shape of the indexed tensor {ShapeMath.Format(x.Layout.Shape)} at index {dim + d}");
                        Tensor coords = Cpu.Nonzero(m);
                        for (int d = 0; d < m.NDim; d++) advanced.Add((dim + d, coords.Select(1, d)));
                        dim += m.NDim;
                    }
                    else if (t.DType is DType.UInt8 or DType.Int8 or DType.Int16 or DType.UInt16)
                        // PyTorch reads a uint8 index tensor as a (deprecated) mask and refuses int8, int16 and uint16: neither silently here.
                        throw new ArgumentException($"Index: tensors used as indices must be Int64, Int32 or Bool, got {t.DType}; convert with .Long(), or .Bool() for a mask");
                    else if (t.DType.IsInteger() && t.NDim == 0)
                    {
                        // A 0-d integer tensor indexes like an integer (a select), as in PyTorch.
                        int size = x.Layout.Shape[dim];
                        long i = t.Item<long>();
                        if (i < -size || i >= size)
                            throw new ArgumentOutOfRangeException(nameof(indices), $"Index: index {i} is out of bounds for dimension {dim} with size {size}");
                        x = x.Select(dim, (int)(i < 0 ? i + size : i));
                    }
                    else if (t.DType.IsInteger())
                    {
                        advanced.Add((dim, t));
                        dim++;
                    }
                    else throw new ArgumentException($"Index: tensors used as indices must be Int64, Int32 or Bool, got {t.DType}");
                    break;
                }
            }
        }
        return (x, advanced);
    }

    // Advanced indexing: the indexed dims are moved to the front and merged into one, so the
    // lookup is a single IndexSelect (whose backward is IndexAdd) on linear positions.
    static Tensor AdvancedIndex(Tensor x, List<(int Dim, Tensor Index)> advanced)
    {
        var dims = advanced.Select(a => a.Dim).ToArray();
        var broadcast = advanced.Select(a => a.Index.Layout.Shape).Aggregate((a, b) => ShapeMath.Broadcast("Index", a, b));
        var linear = Zeros(broadcast, DType.Int64);
        long stride = 1;
        for (int j = advanced.Count - 1; j >= 0; j--)
        {
            var (d, idx) = advanced[j];
            int size = x.Layout.Shape[d];
            var i = idx.To(DType.Int64);
            var values = i.ToArray<long>();
            foreach (var v in values)
                if (v < -size || v >= size)
                    throw new ArgumentOutOfRangeException(nameof(advanced), $"Index: index {v} is out of bounds for dimension {d} with size {size}");
            i = Where(i < 0L, i + size, i);
            linear = linear + i * stride;
            stride *= size;
        }
        var rest = Enumerable.Range(0, x.NDim).Where(d => !dims.Contains(d)).ToArray();
        var moved = x.Permute(dims.Concat(rest).ToArray());
        var restShape = rest.Select(d => x.Layout.Shape[d]).ToArray();
        var flat = moved.Reshape([(int)stride, .. restShape]);
        var y = flat.IndexSelect(0, linear.Reshape(-1)).Reshape([.. broadcast, .. restShape]);
        // Adjacent indexed dims keep their place (PyTorch's rule); separated ones go first.
        bool adjacent = dims.Zip(dims.Skip(1)).All(p => p.Second == p.First + 1);
        int at = dims.Min();
        if (!adjacent || at == 0) return y;
        int nb = broadcast.Length;
        var perm = Enumerable.Range(nb, at).Concat(Enumerable.Range(0, nb)).Concat(Enumerable.Range(nb + at, y.NDim - nb - at)).ToArray();
        return y.Permute(perm);
    }

    void IndexPut(TensorIndex[] indices, Tensor values)
    {
        // The logical positions that x[indices] reads are where the assignment writes.
        var positions = Arange(Numel).Reshape(Layout.Shape.ToArray()).IndexGet(indices);
        if (!IsExpandable(values.Layout.Shape.SkipWhile(s => s == 1).ToArray(), positions.Layout.Shape) && !IsExpandable(values.Layout.Shape, positions.Layout.Shape))
            throw new ArgumentException($"IndexPut: shape mismatch: value tensor of shape {ShapeMath.Format(values.Layout.Shape)} cannot be broadcast to indexing result of shape {ShapeMath.Format(positions.Layout.Shape)}");
        var v = values.NDim > positions.NDim ? values.Reshape(values.Layout.Shape.SkipWhile(s => s == 1).ToArray()) : values;
        if (!(Autograd.IsGradEnabled && (RequiresGrad || v.RequiresGrad)))
        {
            CheckInPlace("IndexPut");
            Backend.Put(this, positions, v.To(DType), accumulate: false);
            MarkWritten();
            return;
        }
        InPlace("IndexPut", v, self => new Functions.IndexPut(positions).Apply(self, v.To(DType)));
    }

    static void CheckIndexTensor(string op, Tensor index)
    {
        if (index.DType is not (DType.Int64 or DType.Int32)) throw new ArgumentException($"{op}: expected an Int64 or Int32 index tensor, got {index.DType}");
    }

    static void CheckMask(string op, Tensor mask)
    {
        if (mask.DType != DType.Bool) throw new ArgumentException($"{op}: expected a Bool mask, got {mask.DType}");
    }

    /// <summary>out[i][j] = this[index[i][j]][j] for dim 0, and likewise for any dim (torch.gather).</summary>
    public Tensor Gather(int dim, Tensor index)
    {
        CheckIndexTensor("Gather", index);
        int d = ShapeMath.Dim(dim, NDim, "Gather");
        // A 0-d input is gathered as the 1-element vector it holds (the kernels need a dim to walk).
        if (NDim == 0 && index.NDim == 0) return Reshape(1).Gather(0, index.Reshape(1)).Reshape();
        return new Functions.Gather(d, index).Apply(this);
    }

    /// <summary>A copy of this tensor with src added at index along dim (torch.scatter_add).</summary>
    public Tensor ScatterAdd(int dim, Tensor index, Tensor src)
    {
        CheckIndexTensor("ScatterAdd", index);
        int d = ShapeMath.Dim(dim, NDim, "ScatterAdd");
        if (src.NDim != NDim) throw new ArgumentException($"ScatterAdd: src must have as many dims as self ({ShapeMath.Format(src.Layout.Shape)} vs {ShapeMath.Format(Layout.Shape)})");
        if (NDim == 0 && index.NDim == 0) return Reshape(1).ScatterAdd(0, index.Reshape(1), src.Reshape(1)).Reshape();
        var (self, s) = Promote(this, src);
        return new Functions.ScatterAdd(d, index).Apply(self, s);
    }

    /// <summary>The slices at a 1-D index along dim (torch.index_select).</summary>
    public Tensor IndexSelect(int dim, Tensor index)
    {
        CheckIndexTensor("IndexSelect", index);
        if (index.NDim > 1) throw new ArgumentException($"IndexSelect: index must be 0-D or 1-D, got shape {ShapeMath.Format(index.Layout.Shape)}");
        if (NDim == 0)
        {
            // A 0-d tensor has one element to pick, and the result stays 0-d (as in PyTorch).
            if (index.Numel != 1) throw new ArgumentException($"IndexSelect: an index into a 0-d tensor must have exactly 1 value, got {index.Numel}");
            ShapeMath.Dim(dim, 0, "IndexSelect");
            return Reshape(1).IndexSelect(0, index).Reshape();
        }
        int d = ShapeMath.Dim(dim, NDim, "IndexSelect");
        return new Functions.IndexSelect(d, index.Reshape(-1)).Apply(this);
    }

    /// <summary>A copy of this tensor with the slices of src added at index along dim (torch.index_add).</summary>
    public Tensor IndexAdd(int dim, Tensor index, Tensor src)
    {
        CheckIndexTensor("IndexAdd", index);
        int d = ShapeMath.Dim(dim, NDim, "IndexAdd");
        // A 0-d tensor is added into as the 1-element vector it holds (the kernel needs a dim to walk).
        if (NDim == 0 && src.NDim == 0) return Reshape(1).IndexAdd(0, index, src.Reshape(1)).Reshape();
        if (index.NDim > 1) throw new ArgumentException($"IndexAdd: index must be 0-D or 1-D, got shape {ShapeMath.Format(index.Layout.Shape)}");
        var expected = (int[])Layout.Shape.Clone();
        expected[d] = index.Numel;
        if (!src.Layout.Shape.SequenceEqual(expected))
            throw new ArgumentException($"IndexAdd: source of shape {ShapeMath.Format(src.Layout.Shape)} must have shape {ShapeMath.Format(expected)}: self's {ShapeMath.Format(Layout.Shape)} with dim {d} the index's length");
        var (self, s) = Promote(this, src);
        return new Functions.IndexAdd(d, index.Reshape(-1)).Apply(self, s);
    }

    /// <summary>A copy with the slices at index along dim set to value (torch.index_fill).</summary>
    public Tensor IndexFill(int dim, Tensor index, double value)
    {
        CheckIndexTensor("IndexFill", index);
        DTypes.CheckFits("IndexFill", value, DType);
        int d = ShapeMath.Dim(dim, NDim, "IndexFill");
        int size = NDim == 0 ? 1 : Layout.Shape[d];
        foreach (var i in index.ToArray<long>())
            if (i < -size || i >= size)
                throw new ArgumentOutOfRangeException(nameof(index), $"IndexFill: index {i} is out of bounds for dimension {d} with size {size}");
        // A mask along dim, broadcast over the other dims: the gradient comes from Where.
        var along = Zeros([NDim == 0 ? 1 : Layout.Shape[d]], DType.Bool);
        along[index.Reshape(-1)] = From(true);
        var shape = Enumerable.Repeat(1, NDim).ToArray();
        if (NDim > 0) shape[d] = Layout.Shape[d];
        return MaskedFill(along.Reshape(shape), value);
    }

    /// <summary>A copy with value where the (broadcast) mask is true (torch.masked_fill).</summary>
    public Tensor MaskedFill(Tensor mask, double value)
    {
        CheckMask("MaskedFill", mask);
        DTypes.CheckFits("MaskedFill", value, DType);
        ShapeMath.Broadcast("MaskedFill", Layout.Shape, mask.Layout.Shape);
        return Where(mask, ScalarLike(value).To(DType), this);
    }

    /// <summary>The elements where the (broadcast) mask is true, as a 1-D tensor (torch.masked_select).</summary>
    public Tensor MaskedSelect(Tensor mask)
    {
        CheckMask("MaskedSelect", mask);
        return new Functions.MaskedSelect(mask).Apply(this);
    }

    /// <summary>cond ? a : b elementwise with broadcasting (torch.where).</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        CheckMask("Where", condition);
        var (x, y) = Promote(a, b);
        ShapeMath.Broadcast("Where", ShapeMath.Broadcast("Where", condition.Layout.Shape, x.Layout.Shape), y.Layout.Shape);
        return new Functions.Where(condition).Apply(x, y);
    }

    /// <summary>Coordinates of the non-zero elements, Int64 [count, ndim].</summary>
    public Tensor Nonzero() => Backend.Nonzero(this);

    /// <summary>Draws category indices from rows of non-negative weights (torch.multinomial).</summary>
    public Tensor Multinomial(int numSamples, bool replacement = false, Generator? generator = null)
    {
        if (numSamples <= 0) throw new ArgumentException($"Multinomial: the number of samples must be positive, got {numSamples}");
        return Backend.Multinomial(this, numSamples, replacement, generator ?? Generator.Default);
    }
}
