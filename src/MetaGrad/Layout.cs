namespace MetaGrad;

/// <summary>
/// Where a tensor's elements sit in its storage: shape, strides (in elements) and offset.
/// Every view (transpose, slice, expand...) is a new layout over the same storage; the
/// layout never touches data, so views are O(rank).
/// </summary>
public sealed class Layout
{
    internal readonly int[] Shape;
    internal readonly int[] Strides;
    internal readonly int Offset;

    internal Layout(int[] shape, int[] strides, int offset)
    {
        Shape = shape;
        Strides = strides;
        Offset = offset;
    }

    /// <summary>A fresh row-major layout for <paramref name="shape"/>.</summary>
    internal static Layout Contiguous(int[] shape) => new(shape, ContiguousStrides(shape), 0);

    internal static int[] ContiguousStrides(int[] shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = s;
            s *= Math.Max(shape[d], 1);
        }
        return strides;
    }

    internal int Rank => Shape.Length;

    internal int Numel => ShapeMath.Numel(Shape);

    /// <summary>Row-major with no gaps: the kernels' fast paths can treat it as a flat span.</summary>
    internal bool IsContiguous
    {
        get
        {
            if (Numel == 0) return true;
            int expected = 1;
            for (int d = Shape.Length - 1; d >= 0; d--)
            {
                if (Shape[d] == 1) continue;
                if (Strides[d] != expected) return false;
                expected *= Shape[d];
            }
            return true;
        }
    }

    internal Layout Permute(int[] dims)
    {
        var shape = new int[dims.Length];
        var strides = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            shape[i] = Shape[dims[i]];
            strides[i] = Strides[dims[i]];
        }
        return new(shape, strides, Offset);
    }

    internal Layout Transpose(int d0, int d1)
    {
        var perm = Enumerable.Range(0, Rank).ToArray();
        (perm[d0], perm[d1]) = (perm[d1], perm[d0]);
        return Permute(perm);
    }

    /// <summary>Elements start, start+step, ... below stop along one dim (step may be negative for Flip).</summary>
    internal Layout Slice(int dim, int start, int length, int step)
    {
        var shape = (int[])Shape.Clone();
        var strides = (int[])Strides.Clone();
        shape[dim] = length;
        strides[dim] = Strides[dim] * step;
        int offset = length == 0 ? Offset : Offset + start * Strides[dim];
        return new(shape, strides, offset);
    }

    /// <summary>Drops one dim by fixing its index.</summary>
    internal Layout Select(int dim, int index)
    {
        var shape = new int[Rank - 1];
        var strides = new int[Rank - 1];
        for (int i = 0, j = 0; i < Rank; i++)
            if (i != dim) (shape[j], strides[j++]) = (Shape[i], Strides[i]);
        return new(shape, strides, Offset + index * Strides[dim]);
    }

    internal Layout Unsqueeze(int dim)
    {
        var shape = Shape.ToList();
        var strides = Strides.ToList();
        int stride = dim < Rank ? Strides[dim] * Shape[dim] : 1;
        shape.Insert(dim, 1);
        strides.Insert(dim, stride);
        return new(shape.ToArray(), strides.ToArray(), Offset);
    }

    internal Layout Squeeze(IReadOnlyCollection<int> dims)
    {
        var shape = new List<int>(Rank);
        var strides = new List<int>(Rank);
        for (int d = 0; d < Rank; d++)
            if (!(Shape[d] == 1 && dims.Contains(d))) { shape.Add(Shape[d]); strides.Add(Strides[d]); }
        return new([.. shape], [.. strides], Offset);
    }

    /// <summary>Broadcast to a larger shape with stride 0 on the new or size-1 dims (no copy).</summary>
    internal Layout Expand(int[] shape)
    {
        int lead = shape.Length - Rank;
        var strides = new int[shape.Length];
        for (int d = 0; d < shape.Length; d++)
        {
            int src = d - lead;
            strides[d] = src < 0 ? 0 : Shape[src] == shape[d] ? Strides[src] : 0;
        }
        return new(shape, strides, Offset);
    }

    /// <summary>
    /// The same elements seen with a new shape, when strides allow it without a copy (PyTorch's
    /// view rule: each run of merged dims must be contiguous within itself). Null when a copy is needed.
    /// </summary>
    internal Layout? View(int[] shape)
    {
        if (IsContiguous || Numel == 0) return new(shape, ContiguousStrides(shape), Offset);
        // Group old dims into chunks that are contiguous among themselves, then split chunks into new dims.
        var oldShape = new List<int>();
        var oldStrides = new List<int>();
        for (int d = 0; d < Rank; d++)
            if (Shape[d] != 1) { oldShape.Add(Shape[d]); oldStrides.Add(Strides[d]); }
        var newStrides = new int[shape.Length];
        int oi = 0, ni = 0;
        while (ni < shape.Length || oi < oldShape.Count)
        {
            if (ni < shape.Length && shape[ni] == 1) { newStrides[ni] = 1; ni++; continue; }
            if (oi >= oldShape.Count || ni >= shape.Length) return null;
            // Take a chunk of old dims that is contiguous within itself.
            int chunkEnd = oi;
            long chunkSize = oldShape[oi];
            while (chunkEnd + 1 < oldShape.Count && oldStrides[chunkEnd] == oldStrides[chunkEnd + 1] * oldShape[chunkEnd + 1])
            {
                chunkEnd++;
                chunkSize *= oldShape[chunkEnd];
            }
            // Consume new dims whose product equals a prefix-aligned part of this chunk.
            long acc = 1;
            int innermostStride = oldStrides[chunkEnd];
            var group = new List<int>();
            while (ni < shape.Length && acc < chunkSize)
            {
                acc *= shape[ni];
                group.Add(ni);
                ni++;
            }
            while (ni < shape.Length && shape[ni] == 1) { group.Add(ni); ni++; }
            if (acc != chunkSize) return null;
            long s = innermostStride;
            for (int g = group.Count - 1; g >= 0; g--)
            {
                newStrides[group[g]] = (int)s;
                s *= shape[group[g]];
            }
            oi = chunkEnd + 1;
        }
        return new(shape, newStrides, Offset);
    }
}

/// <summary>Shape arithmetic shared by the tensor API and the kernels.</summary>
internal static class ShapeMath
{
    /// <summary>[0, 1, ..., n - 1]: the identity permutation, or every dim.</summary>
    public static int[] Iota(int n)
    {
        var result = new int[n];
        for (int k = 0; k < n; k++) result[k] = k;
        return result;
    }

    internal static int Numel(IReadOnlyList<int> shape, string op = "Tensor")
    {
        long n = Product(shape);
        if (n > int.MaxValue) throw new ArgumentException($"{op}: a tensor of shape {Format(shape)} has more than {int.MaxValue} elements, the most a MetaGrad tensor holds");
        return (int)n;
    }

    /// <summary>
    /// The product of non-negative dims, saturated at int.MaxValue + 1 so that it cannot wrap: dims
    /// read from a file or given by a user (5 × 2147418113 × 1718039348 wraps a long to 4).
    /// </summary>
    internal static long Product(IReadOnlyList<int> dims)
    {
        const long Saturated = (long)int.MaxValue + 1;
        long n = 1;
        foreach (var s in dims) n = Math.Min(n * s, Saturated);   // at most 2^31 · (2^31 - 1): no overflow
        return n;
    }

    internal static string Format(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>Normalises a possibly negative dim, naming the operation when it is out of range.</summary>
    internal static int Dim(int dim, int rank, string op)
    {
        int r = Math.Max(rank, 1);
        if (dim < -r || dim >= r)
            throw new ArgumentOutOfRangeException(nameof(dim), $"{op}: dimension out of range (expected to be in range of [{-r}, {r - 1}], but got {dim})");
        return dim < 0 ? dim + r : dim;
    }

    /// <summary>NumPy/PyTorch broadcasting: align trailing dims; each pair must be equal or contain a 1.</summary>
    internal static int[] Broadcast(string op, int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast: the size of tensor a ({da}) must match the size of tensor b ({db}) at non-singleton dimension {i}");
            result[i] = da == 1 ? db : da;
        }
        return result;
    }

    /// <summary>Resolves one -1 entry of a requested shape from the element count.</summary>
    internal static int[] Infer(string op, int[] shape, int numel)
    {
        var result = (int[])shape.Clone();
        int infer = -1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"{op}: only one dimension can be inferred (-1) in shape {Format(shape)}");
                infer = i;
            }
            else if (shape[i] < 0) throw new ArgumentException($"{op}: invalid shape dimension {shape[i]} in {Format(shape)}");
        }
        long known = Product(infer < 0 ? shape : [.. shape[..infer], .. shape[(infer + 1)..]]);
        if (infer >= 0)
        {
            if (known == 0 || numel % known != 0)
                throw new ArgumentException($"{op}: shape {Format(shape)} is invalid for input of size {numel}");
            result[infer] = (int)(numel / known);
        }
        else if (known != numel)
            throw new ArgumentException($"{op}: shape {Format(shape)} is invalid for input of size {numel}");
        return result;
    }
}
