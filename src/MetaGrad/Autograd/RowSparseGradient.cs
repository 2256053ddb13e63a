namespace MetaGrad;

/// <summary>
/// The gradient of a parameter [V, ...] that only some of its rows received: an embedding's with
/// sparse: true (PyTorch's sparse COO gradient with one sparse dim). A step that looks up a few
/// hundred ids of a large vocabulary then costs those rows, not a dense [V, ...] gradient; SGD,
/// Adagrad and SparseAdam update only those rows. Rows may repeat until <see cref="Coalesce"/>.
/// </summary>
public sealed class RowSparseGradient
{
    /// <summary>A gradient holding <paramref name="values"/>[k] for row <paramref name="indices"/>[k] of a tensor of <paramref name="shape"/>.</summary>
    public RowSparseGradient(Tensor indices, Tensor values, int[] shape)
    {
        if (indices.DType != DType.Int64 || indices.NDim != 1)
            throw new ArgumentException($"RowSparseGradient: indices must be 1-D Int64, got {indices.DType} {ShapeMath.Format(indices.Shape.ToArray())}");
        if (shape.Length == 0 || values.NDim != shape.Length || values.Shape[0] != indices.Shape[0] || !values.Shape.ToArray()[1..].SequenceEqual(shape[1..]))
            throw new ArgumentException($"RowSparseGradient: values must be [{indices.Shape[0]}, {string.Join(", ", shape[1..])}] for {indices.Shape[0]} rows of {ShapeMath.Format(shape)}, got {ShapeMath.Format(values.Shape.ToArray())}");
        (Indices, Values, Shape) = (indices, values, shape);
    }

    /// <summary>The row of each entry, Int64 [nnz].</summary>
    public Tensor Indices { get; }

    /// <summary>The entries, [nnz, ...] (the parameter's trailing shape).</summary>
    public Tensor Values { get; }

    /// <summary>The shape of the dense gradient this stands for.</summary>
    public int[] Shape { get; }

    /// <summary>Each row once, in increasing order, with the values of its repeats summed.</summary>
    public RowSparseGradient Coalesce()
    {
        var rows = Indices.ToArray<long>();
        var unique = rows.Distinct().Order().ToArray();
        var slot = new Dictionary<long, long>(unique.Length);
        for (int i = 0; i < unique.Length; i++) slot[unique[i]] = i;
        var target = Tensor.From(rows.Select(r => slot[r]).ToArray(), [rows.Length]);
        using var _ = Autograd.NoGrad();
        var summed = Tensor.Zeros([unique.Length, .. Shape[1..]], Values.DType).IndexAdd(0, target, Values);
        return new RowSparseGradient(Tensor.From(unique, [unique.Length]), summed, Shape);
    }

    /// <summary>The dense gradient: zeros with the entries added at their rows.</summary>
    public Tensor ToDense()
    {
        using var _ = Autograd.NoGrad();
        return Tensor.Zeros(Shape, Values.DType).IndexAdd(0, Indices, Values);
    }

    /// <summary>This gradient and another of the same shape, accumulated (their entries side by side).</summary>
    public RowSparseGradient Add(RowSparseGradient other)
    {
        if (!other.Shape.SequenceEqual(Shape))
            throw new ArgumentException($"RowSparseGradient.Add: shapes {ShapeMath.Format(Shape)} and {ShapeMath.Format(other.Shape)} differ");
        using var _ = Autograd.NoGrad();
        return new RowSparseGradient(Tensor.Cat([Indices, other.Indices], 0), Tensor.Cat([Values, other.Values.To(Values.DType)], 0), Shape);
    }
}
