using MetaGrad.Functions;

namespace MetaGrad;

public partial class Tensor
{
    /// <summary>The tensor whose storage this view reads (null for tensors that own their layout).</summary>
    internal Tensor? ViewBase;

    Tensor AsViewOf(Tensor source)
    {
        if (ReferenceEquals(Storage, source.Storage)) ViewBase = source.ViewBase ?? source;
        return this;
    }

    int[] Dims(int[] dims, string op)
    {
        var result = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) result[i] = ShapeMath.Dim(dims[i], NDim, op);
        return result;
    }

    /// <summary>The same elements with a new shape (one entry may be -1): a view when possible, else a copy.</summary>
    public Tensor Reshape(params int[] shape) =>
        new Functions.Reshape(ShapeMath.Infer("Reshape", shape, Numel), mustView: false).Apply(this).AsViewOf(this);

    /// <summary>A view with a new shape; throws when the strides make a view impossible (use Reshape then).</summary>
    public Tensor View(params int[] shape) =>
        new Functions.Reshape(ShapeMath.Infer("View", shape, Numel), mustView: true).Apply(this).AsViewOf(this);

    /// <summary>Merges dims startDim..endDim into one.</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        int s = ShapeMath.Dim(startDim, NDim, "Flatten"), e = ShapeMath.Dim(endDim, NDim, "Flatten");
        if (NDim == 0) return Reshape(1);
        if (s > e) throw new ArgumentException($"Flatten: startDim {startDim} comes after endDim {endDim}");
        var shape = Layout.Shape[..s].Append(Layout.Shape[s..(e + 1)].Aggregate(1, (a, b) => a * b)).Concat(Layout.Shape[(e + 1)..]).ToArray();
        return Reshape(shape);
    }

    /// <summary>Reorders dims (a view).</summary>
    public Tensor Permute(params int[] dims)
    {
        var d = Dims(dims, "Permute");
        if (d.Length != NDim || d.Distinct().Count() != NDim)
            throw new ArgumentException($"Permute: {ShapeMath.Format(dims)} is not a permutation of the {NDim} dims of a tensor of shape {ShapeMath.Format(Layout.Shape)}");
        return new Functions.Permute(d).Apply(this).AsViewOf(this);
    }

    /// <summary>Swaps two dims (a view).</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        int a = ShapeMath.Dim(dim0, NDim, "Transpose"), b = ShapeMath.Dim(dim1, NDim, "Transpose");
        if (NDim == 0) return this;
        var perm = ShapeMath.Iota(NDim);
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(perm);
    }

    /// <summary>All dims reversed; the transpose of a matrix (PyTorch's .T).</summary>
    public Tensor T
    {
        get
        {
            if (NDim < 2) return this;
            var perm = ShapeMath.Iota(NDim);
            Array.Reverse(perm);
            return Permute(perm);
        }
    }

    /// <summary>The last two dims swapped (PyTorch's .mT).</summary>
    public Tensor MT => NDim < 2 ? throw new InvalidOperationException($"MT: needs at least 2 dims, got shape {ShapeMath.Format(Layout.Shape)}") : Transpose(-2, -1);

    /// <summary>Drops all size-1 dims.</summary>
    public Tensor Squeeze() => SqueezeDims(Enumerable.Range(0, NDim).ToArray());

    /// <summary>Drops dim if its size is 1 (otherwise returns an unchanged view).</summary>
    public Tensor Squeeze(int dim)
    {
        int d = ShapeMath.Dim(dim, NDim, "Squeeze");   // a 0-d tensor accepts 0 and -1, as in PyTorch
        return NDim == 0 ? this : SqueezeDims([d]);
    }

    internal Tensor SqueezeDims(int[] dims)
    {
        var shape = Layout.Squeeze(dims).Shape;
        return shape.Length == NDim ? this : Reshape(shape);
    }

    /// <summary>Inserts a size-1 dim at position dim (negative counts from the end of the result).</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = ShapeMath.Dim(dim, NDim + 1, "Unsqueeze");
        var shape = Layout.Shape.ToList();
        shape.Insert(d, 1);
        return Reshape(shape.ToArray());
    }

    // Re-inserts the dims a reduction without keepDim removed, so a gradient broadcasts back.
    internal Tensor UnsqueezeDims(int[] dims, int rank)
    {
        var shape = new List<int>(Layout.Shape);
        var sorted = (int[])dims.Clone();
        Array.Sort(sorted);
        foreach (var d in sorted) shape.Insert(d, 1);
        return shape.Count == NDim ? this : Reshape(shape.ToArray());
    }

    /// <summary>Broadcasts to a larger shape without copying (-1 keeps a size).</summary>
    public Tensor Expand(params int[] shape)
    {
        if (shape.Length < NDim)
            throw new ArgumentException($"Expand: the number of sizes provided ({shape.Length}) must be greater or equal to the number of dimensions in the tensor ({NDim})");
        var target = (int[])shape.Clone();
        int lead = shape.Length - NDim;
        for (int d = 0; d < shape.Length; d++)
        {
            int own = d >= lead ? Layout.Shape[d - lead] : 1;
            if (target[d] == -1)
            {
                if (d < lead) throw new ArgumentException($"Expand: -1 is not allowed in a leading, new dimension ({ShapeMath.Format(shape)})");
                target[d] = own;
            }
            if (own != target[d] && own != 1)
                throw new ArgumentException($"Expand: the expanded size of the tensor ({target[d]}) must match the existing size ({own}) at non-singleton dimension {d}; target sizes {ShapeMath.Format(shape)}, tensor sizes {ShapeMath.Format(Layout.Shape)}");
        }
        if (target.SequenceEqual(Layout.Shape)) return this;
        ShapeMath.Numel(target, "Expand");
        return new Functions.Expand(target).Apply(this).AsViewOf(this);
    }

    /// <summary>Broadcasts to another tensor's shape.</summary>
    public Tensor ExpandAs(Tensor other) => Expand(other.Layout.Shape);

    internal static bool IsExpandable(int[] target, int[] from)
    {
        if (target.Length > from.Length) return false;
        int lead = from.Length - target.Length;
        for (int d = 0; d < target.Length; d++)
            if (target[d] != from[d + lead] && target[d] != 1) return false;
        return true;
    }

    /// <summary>Sums over the dims that broadcasting from <paramref name="shape"/> added (PyTorch's sum_to_size).</summary>
    public Tensor SumTo(IReadOnlyList<int> shape)
    {
        var target = shape.ToArray();
        if (target.SequenceEqual(Layout.Shape)) return this;
        if (!IsExpandable(target, Layout.Shape))
            throw new ArgumentException($"SumTo: shape {ShapeMath.Format(target)} is not expandable to the tensor's shape {ShapeMath.Format(Layout.Shape)}");
        int lead = NDim - target.Length;
        var summedDims = new List<int>(NDim);
        for (int d = 0; d < NDim; d++)
            if (d < lead || (target[d - lead] == 1 && Layout.Shape[d] != 1)) summedDims.Add(d);
        var dims = summedDims.ToArray();
        var summed = dims.Length == 0 ? this : Sum(dims, keepDim: true);
        return summed.Reshape(target);
    }

    /// <summary>Tiles the tensor: each dim repeated the given number of times (torch.Tensor.repeat).</summary>
    public Tensor Repeat(params int[] repeats)
    {
        if (repeats.Length < NDim)
            throw new ArgumentException($"Repeat: number of repeat dims ({repeats.Length}) can not be smaller than number of tensor dims ({NDim})");
        // View as [1, s0, 1, s1, ...], expand the 1s to the repeat counts, then merge each pair.
        var x = Reshape(Enumerable.Repeat(1, repeats.Length - NDim).Concat(Layout.Shape).ToArray());
        var interleaved = x.Layout.Shape.SelectMany(s => new[] { 1, s }).ToArray();
        var expanded = repeats.Zip(x.Layout.Shape).SelectMany(p => new[] { p.First, p.Second }).ToArray();
        var sizes = repeats.Zip(x.Layout.Shape, (r, s) => (long)r * s).ToArray();
        if (sizes.Any(n => n > int.MaxValue) || ShapeMath.Product(expanded) > int.MaxValue)
            throw new ArgumentException($"Repeat: repeating shape {ShapeMath.Format(Layout.Shape)} by {ShapeMath.Format(repeats)} gives more than {int.MaxValue} elements, the most a MetaGrad tensor holds");
        var final = sizes.Select(n => (int)n).ToArray();
        return x.Reshape(interleaved).Expand(expanded).Reshape(final);
    }

    /// <summary>Reverses the order of elements along dims (a copy).</summary>
    public Tensor Flip(params int[] dims) => new Functions.Flip(Dims(dims, "Flip").Distinct().ToArray()).Apply(this);

    /// <summary>The elements start..start+length along dim (a view).</summary>
    public Tensor Narrow(int dim, int start, int length)
    {
        int d = ShapeMath.Dim(dim, NDim, "Narrow");
        int size = Layout.Shape[d];
        if (start < 0) start += size;
        if (start < 0 || length < 0 || start + length > size)
            throw new ArgumentOutOfRangeException(nameof(start), $"Narrow: start ({start}) + length ({length}) exceeds dimension size ({size}) of dim {dim} in shape {ShapeMath.Format(Layout.Shape)}");
        return Slice(d, start, length, 1, "Narrow");
    }

    internal Tensor Slice(int dim, int start, int length, int step, string name) =>
        new Functions.View(l => l.Slice(dim, start, length, step), name).Apply(this).AsViewOf(this);

    /// <summary>The slice at index along dim, with that dim removed (a view).</summary>
    public Tensor Select(int dim, int index)
    {
        int d = ShapeMath.Dim(dim, NDim, "Select");
        int size = Layout.Shape[d];
        if (index < -size || index >= size)
            throw new ArgumentOutOfRangeException(nameof(index), $"Select: index {index} is out of range for dimension {d} with size {size} (shape {ShapeMath.Format(Layout.Shape)})");
        int i = index < 0 ? index + size : index;
        return new Functions.View(l => l.Select(d, i), "Select").Apply(this).AsViewOf(this);
    }

    /// <summary>A contiguous tensor with the same values: itself when already contiguous.</summary>
    public Tensor Contiguous() => IsContiguous ? this : new Functions.Copy().Apply(this);

    /// <summary>A copy with its own storage; gradients flow back to this tensor.</summary>
    public Tensor Clone() => new Functions.Copy().Apply(this);

    /// <summary>Joins tensors of the same shape (but along dim) into one.</summary>
    public static Tensor Cat(Tensor[] tensors, int dim = 0)
    {
        if (tensors.Length == 0) throw new ArgumentException("Cat: expected a non-empty list of tensors");
        // PyTorch skips 1-D empty tensors in cat, a legacy rule kept for compatibility.
        var parts = tensors.Where(t => !(t.NDim == 1 && t.Numel == 0)).ToArray();
        if (parts.Length == 0) return tensors[0];
        var first = parts[0];
        if (first.NDim == 0) throw new ArgumentException("Cat: zero-dimensional tensor cannot be concatenated");
        int d = ShapeMath.Dim(dim, first.NDim, "Cat");
        var dtype = parts.Select(t => t.DType).Aggregate(DTypes.Promote);
        for (int i = 1; i < parts.Length; i++)
        {
            var t = parts[i];
            if (t.NDim != first.NDim || Enumerable.Range(0, first.NDim).Any(k => k != d && t.Layout.Shape[k] != first.Layout.Shape[k]))
                throw new ArgumentException($"Cat: sizes of tensors must match except in dimension {d}; tensor 0 has shape {ShapeMath.Format(first.Layout.Shape)} but tensor {i} has shape {ShapeMath.Format(t.Layout.Shape)}");
        }
        return new Functions.Cat(d).Apply(parts.Select(t => t.To(dtype)).ToArray());
    }

    /// <summary>Joins tensors of one shape along a new dim.</summary>
    public static Tensor Stack(Tensor[] tensors, int dim = 0)
    {
        if (tensors.Length == 0) throw new ArgumentException("Stack: expected a non-empty list of tensors");
        for (int i = 1; i < tensors.Length; i++)
            if (!tensors[i].Layout.Shape.SequenceEqual(tensors[0].Layout.Shape))
                throw new ArgumentException($"Stack: expects each tensor to be equal size, but got {ShapeMath.Format(tensors[0].Layout.Shape)} at entry 0 and {ShapeMath.Format(tensors[i].Layout.Shape)} at entry {i}");
        int d = ShapeMath.Dim(dim, tensors[0].NDim + 1, "Stack");
        return Cat(tensors.Select(t => t.Unsqueeze(d)).ToArray(), d);
    }

    /// <summary>Views of consecutive pieces of splitSize along dim (the last may be smaller).</summary>
    public Tensor[] Split(int splitSize, int dim = 0)
    {
        int d = ShapeMath.Dim(dim, NDim, "Split");
        if (splitSize <= 0) throw new ArgumentException($"Split: split size must be positive, got {splitSize}");
        int size = Layout.Shape[d];
        var sizes = new List<int>();
        for (int s = 0; s < size; s += splitSize) sizes.Add(Math.Min(splitSize, size - s));
        return Split(sizes.Count == 0 ? [0] : sizes.ToArray(), d);
    }

    /// <summary>Views of pieces of the given sizes along dim (sizes must add up to the dim's size).</summary>
    public Tensor[] Split(int[] sizes, int dim = 0)
    {
        int d = ShapeMath.Dim(dim, NDim, "Split");
        if (sizes.Sum() != Layout.Shape[d])
            throw new ArgumentException($"Split: split sizes {ShapeMath.Format(sizes)} must sum to the size {Layout.Shape[d]} of dim {d}");
        if (sizes.Any(s => s < 0)) throw new ArgumentException($"Split: split sizes {ShapeMath.Format(sizes)} must not be negative");
        var pieces = new Functions.Split(d, sizes).Apply(this);
        foreach (var piece in pieces) piece.AsViewOf(this);
        return pieces;
    }

    /// <summary>The slices along dim, each without that dim (torch.unbind): views from one node.</summary>
    public Tensor[] Unbind(int dim = 0)
    {
        int d = ShapeMath.Dim(dim, NDim, "Unbind");
        if (NDim == 0) throw new ArgumentException("Unbind: a 0-d tensor has no dim to unbind");
        return [.. Split(Enumerable.Repeat(1, Layout.Shape[d]).ToArray(), d).Select(p => p.SqueezeDims([d]))];
    }

    /// <summary>
    /// Splits into at most <paramref name="chunks"/> views of equal size (the last may be smaller);
    /// an empty dim gives exactly <paramref name="chunks"/> empty views, as in PyTorch.
    /// </summary>
    public Tensor[] Chunk(int chunks, int dim = 0)
    {
        if (chunks <= 0) throw new ArgumentException($"Chunk: number of chunks must be positive, got {chunks}");
        int d = ShapeMath.Dim(dim, NDim, "Chunk");
        int size = Layout.Shape[d];
        if (size == 0) return Split(new int[chunks], d);
        return Split((size + chunks - 1) / chunks, d);
    }

    /// <summary>
    /// Matrix product with torch.matmul's rules: 1-D·1-D is a dot product, a 1-D operand gains a
    /// temporary matrix dim, and dims before the last two are batch dims that broadcast.
    /// </summary>
    public Tensor Matmul(Tensor other)
    {
        if (NDim == 0 || other.NDim == 0)
            throw new ArgumentException($"Matmul: both arguments need at least 1 dimension, got shapes {ShapeMath.Format(Layout.Shape)} and {ShapeMath.Format(other.Layout.Shape)}");
        var (a, b) = Promote(this, other);
        if (a.DType == DType.Bool) throw new ArgumentException("Matmul: not supported for Bool tensors");
        var left = a.NDim == 1 ? a.Unsqueeze(0) : a;
        var right = b.NDim == 1 ? b.Unsqueeze(1) : b;
        if (left.Layout.Shape[^1] != right.Layout.Shape[^2])
            throw new ArgumentException($"Matmul: shapes {ShapeMath.Format(Layout.Shape)} and {ShapeMath.Format(other.Layout.Shape)} cannot be multiplied ({left.Layout.Shape[^2]}x{left.Layout.Shape[^1]} and {right.Layout.Shape[^2]}x{right.Layout.Shape[^1]})");
        ShapeMath.Broadcast("Matmul", left.Layout.Shape[..^2], right.Layout.Shape[..^2]);
        var y = new Functions.Matmul().Apply(left, right);
        if (b.NDim == 1) y = y.Squeeze(-1);
        if (a.NDim == 1) y = y.Squeeze(b.NDim == 1 ? -1 : -2);
        return y;
    }

    /// <summary>Batched matrix product of two 3-D tensors [b, n, k] and [b, k, m].</summary>
    public Tensor Bmm(Tensor other)
    {
        if (NDim != 3 || other.NDim != 3 || Layout.Shape[0] != other.Layout.Shape[0])
            throw new ArgumentException($"Bmm: expected 3-D tensors with the same batch size, got {ShapeMath.Format(Layout.Shape)} and {ShapeMath.Format(other.Layout.Shape)}");
        return Matmul(other);
    }

    /// <summary>Product of two matrices.</summary>
    public Tensor Mm(Tensor other)
    {
        if (NDim != 2 || other.NDim != 2)
            throw new ArgumentException($"Mm: expected 2-D tensors, got {ShapeMath.Format(Layout.Shape)} and {ShapeMath.Format(other.Layout.Shape)}");
        return Matmul(other);
    }
}
