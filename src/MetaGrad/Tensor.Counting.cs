namespace MetaGrad;

// Reductions that count or test elements (any, all, count_nonzero) and the paired extremes (aminmax).
public partial class Tensor
{
    // True where an element is non-zero (NaN counts as non-zero, as in PyTorch).
    Tensor NonZeroMask() => To(DType.Bool);

    /// <summary>Whether any element along dim is non-zero, as a Bool tensor (torch.any(dim)); false over an empty dim.</summary>
    public Tensor Any(int dim, bool keepDim = false) => Any([dim], keepDim);

    /// <summary>Whether any element over dims (all when null) is non-zero, as a Bool tensor.</summary>
    public Tensor Any(int[]? dims, bool keepDim = false) =>
        NonZeroMask().Sum(ReduceDims(dims, "Any"), keepDim) > 0.0;

    /// <summary>Whether every element along dim is non-zero, as a Bool tensor (torch.all(dim)); true over an empty dim.</summary>
    public Tensor All(int dim, bool keepDim = false) => All([dim], keepDim);

    /// <summary>Whether every element over dims (all when null) is non-zero, as a Bool tensor.</summary>
    public Tensor All(int[]? dims, bool keepDim = false) =>
        (!NonZeroMask()).Sum(ReduceDims(dims, "All"), keepDim) == 0.0;

    /// <summary>The number of non-zero elements (0-d Int64, torch.count_nonzero).</summary>
    public Tensor CountNonzero() => CountNonzero((int[]?)null);

    /// <summary>The number of non-zero elements along dim, Int64.</summary>
    public Tensor CountNonzero(int dim) => CountNonzero([dim]);

    /// <summary>The number of non-zero elements over dims (all when null), Int64; the dims are removed.</summary>
    public Tensor CountNonzero(int[]? dims) => NonZeroMask().Sum(ReduceDims(dims, "CountNonzero"));

    /// <summary>
    /// The smallest and largest elements over dim (all when null) in one call (torch.aminmax); the
    /// gradients are those of <see cref="Min(int[], bool)"/> and <see cref="Max(int[], bool)"/>, split among ties.
    /// </summary>
    public (Tensor Min, Tensor Max) Aminmax(int? dim = null, bool keepDim = false)
    {
        int[]? dims = dim is int d ? [ShapeMath.Dim(d, NDim, "Aminmax")] : null;
        bool empty = dims is null ? Numel == 0 : NDim > 0 && Layout.Shape[dims[0]] == 0;
        if (empty)
            throw new ArgumentException($"Aminmax: cannot compute aminmax over an empty dimension as the operation has no identity (input shape {ShapeMath.Format(Layout.Shape)})");
        if (NDim == 0) return (Clone(), Clone());
        return (Min(dims, keepDim), Max(dims, keepDim));
    }

    /// <summary>
    /// The indices that sort the tensor along dim, Int64 (torch.argsort): ascending unless
    /// <paramref name="descending"/>. The sort is stable, so ties keep their order (torch.argsort(stable: true)).
    /// </summary>
    public Tensor Argsort(int dim = -1, bool descending = false)
    {
        int d = ShapeMath.Dim(dim, NDim, "Argsort");
        if (NDim == 0) return From(0L);
        return Backend.Sort(Detach(), d, descending).Indices;
    }
}
