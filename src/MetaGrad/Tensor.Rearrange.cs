namespace MetaGrad;

// Shape operations written from the primitive views and copies (Reshape, Permute, Expand, Narrow,
// Cat, IndexSelect), so each gets its gradient, and its gradient's gradient, from theirs. Only
// Unfold's overlapping windows need a Function of their own (Functions/SlidingWindows.cs).
public partial class Tensor
{
    /// <summary>Splits dim into several dims of the given sizes, one of which may be -1 (torch.unflatten): a view when possible.</summary>
    public Tensor Unflatten(int dim, params int[] sizes)
    {
        if (NDim == 0) throw new ArgumentException("Unflatten: cannot unflatten a 0-d tensor");
        int d = ShapeMath.Dim(dim, NDim, "Unflatten");
        if (sizes.Length == 0) throw new ArgumentException("Unflatten: sizes must be non-empty");
        int size = Layout.Shape[d];
        int[] resolved;
        try { resolved = ShapeMath.Infer("Unflatten", sizes, size); }
        catch (ArgumentException)
        {
            throw new ArgumentException($"Unflatten: provided sizes {ShapeMath.Format(sizes)} don't multiply up to the size of dim {d} ({size}) in the input tensor of shape {ShapeMath.Format(Layout.Shape)}");
        }
        return Reshape([.. Layout.Shape[..d], .. resolved, .. Layout.Shape[(d + 1)..]]);
    }

    /// <summary>Moves one dim to a new position, the others keeping their order (torch.movedim): a view.</summary>
    public Tensor Movedim(int source, int destination) => Movedim([source], [destination]);

    /// <summary>
    /// Moves the dims in <paramref name="source"/> to the positions in <paramref name="destination"/>;
    /// the remaining dims fill the remaining positions in their original order (torch.movedim): a view.
    /// </summary>
    public Tensor Movedim(int[] source, int[] destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"Movedim: invalid source or destination dims: source {ShapeMath.Format(source)} and destination {ShapeMath.Format(destination)} should contain the same number of dims");
        var from = Dims(source, "Movedim");
        var to = Dims(destination, "Movedim");
        if (from.Distinct().Count() != from.Length) throw new ArgumentException($"Movedim: repeated dim in source {ShapeMath.Format(source)}");
        if (to.Distinct().Count() != to.Length) throw new ArgumentException($"Movedim: repeated dim in destination {ShapeMath.Format(destination)}");
        if (NDim == 0) return this;
        var order = new int[NDim];
        Array.Fill(order, -1);
        for (int i = 0; i < from.Length; i++) order[to[i]] = from[i];
        var rest = Enumerable.Range(0, NDim).Where(d => !from.Contains(d)).GetEnumerator();
        for (int p = 0; p < NDim; p++)
            if (order[p] < 0 && rest.MoveNext()) order[p] = rest.Current;
        return Permute(order);
    }

    /// <summary>
    /// The windows of <paramref name="size"/> elements taken every <paramref name="step"/> along
    /// <paramref name="dimension"/>, as a new last dim (torch.Tensor.unfold): a view, whose windows
    /// may overlap; their gradients add up.
    /// </summary>
    public Tensor Unfold(int dimension, int size, int step)
    {
        int d = ShapeMath.Dim(dimension, NDim, "Unfold");
        int available = NDim == 0 ? 1 : Layout.Shape[d];
        if (size > available)
            throw new ArgumentException($"Unfold: maximum size for tensor at dimension {d} is {available} but size is {size}");
        if (size < 0) throw new ArgumentException($"Unfold: size is {size} but must be >= 0");
        if (step <= 0) throw new ArgumentException($"Unfold: step is {step} but must be > 0");
        // A 0-d tensor holds one window of its one element, or an empty one.
        if (NDim == 0) return Reshape(1).Unfold(0, size, step).Reshape(size);
        return new Functions.SlidingWindows(d, size, step).Apply(this).AsViewOf(this);
    }

    /// <summary>Broadcasts to <paramref name="shape"/> without copying (torch.broadcast_to, the same as <see cref="Expand"/>).</summary>
    public Tensor BroadcastTo(params int[] shape) => Expand(shape);

    /// <summary>Every tensor broadcast to their common shape (torch.broadcast_tensors): views.</summary>
    public static Tensor[] BroadcastTensors(params Tensor[] tensors)
    {
        var shape = tensors.Select(t => t.Layout.Shape).Aggregate(Array.Empty<int>(), (a, b) => ShapeMath.Broadcast("BroadcastTensors", a, b));
        return [.. tensors.Select(t => t.Expand(shape))];
    }

    /// <summary>
    /// Repeats the whole tensor reps[i] times along dim i (torch.tile). Unlike <see cref="Repeat"/>,
    /// fewer reps than dims is allowed: the missing leading reps are 1.
    /// </summary>
    public Tensor Tile(params int[] reps)
    {
        if (reps.Any(r => r < 0)) throw new ArgumentException($"Tile: trying to create tensor with negative dimension; reps {ShapeMath.Format(reps)}");
        return Repeat([.. Enumerable.Repeat(1, Math.Max(NDim - reps.Length, 0)), .. reps]);
    }

    /// <summary>
    /// Shifts the elements along dim by shifts places, those pushed off the end coming back at the
    /// start (torch.roll); with no dim, the flattened tensor is rolled and the shape restored. A copy.
    /// </summary>
    public Tensor Roll(int shifts, int? dim = null) => dim is int d ? Roll([shifts], [d]) : Roll([shifts], []);

    /// <summary>Rolls along several dims at once, shifts[i] places along dims[i] (torch.roll).</summary>
    public Tensor Roll(int[] shifts, int[] dims)
    {
        if (shifts.Length == 0) throw new ArgumentException("Roll: shifts required");
        if (dims.Length == 0 && shifts.Length == 1) return Reshape(-1).Roll(shifts, [0]).Reshape(Layout.Shape);
        if (shifts.Length != dims.Length)
            throw new ArgumentException($"Roll: shifts and dimensions must align; shifts: {shifts.Length}, dims: {dims.Length}");
        var ds = Dims(dims, "Roll");
        var x = this;
        for (int i = 0; i < ds.Length; i++)
        {
            if (x.NDim == 0) continue;   // one element: nothing moves
            int d = ds[i], n = x.Layout.Shape[d];
            if (n == 0) continue;
            int s = (int)(((long)shifts[i] % n + n) % n);
            // The last s elements move to the front: two slices, joined in the other order.
            if (s != 0) x = Cat([x.Narrow(d, n - s, s), x.Narrow(d, 0, n - s)], d);
        }
        return ReferenceEquals(x, this) ? Clone() : x;
    }

    /// <summary>
    /// Rotates by 90° k times in the plane of two dims, from the first towards the second
    /// (torch.rot90); k may be negative. A copy.
    /// </summary>
    public Tensor Rot90(int k = 1, int[]? dims = null)
    {
        dims ??= [0, 1];
        if (dims.Length != 2) throw new ArgumentException($"Rot90: expected total rotation dims == 2, but got dims = {dims.Length}");
        if (NDim < 2) throw new ArgumentException($"Rot90: expected total dims >= 2, but got total dims = {NDim}");
        int a = ShapeMath.Dim(dims[0], NDim, "Rot90"), b = ShapeMath.Dim(dims[1], NDim, "Rot90");
        if (a == b) throw new ArgumentException($"Rot90: expected rotation dims to be different, but got dim0 = {a} and dim1 = {b}");
        return (((k % 4) + 4) % 4) switch
        {
            1 => Flip(b).Transpose(a, b),
            2 => Flip(a, b),
            3 => Flip(a).Transpose(a, b),
            _ => Clone(),
        };
    }

    /// <summary>
    /// The n-th forward difference along dim, out[i] = x[i + 1] − x[i] applied n times (torch.diff),
    /// after joining prepend and append to either end; Bool tensors take the exclusive or.
    /// </summary>
    public Tensor Diff(int n = 1, int dim = -1, Tensor? prepend = null, Tensor? append = null)
    {
        if (NDim == 0) throw new ArgumentException("Diff: expects input to be at least one-dimensional");
        if (n < 0) throw new ArgumentException($"Diff: order must be non-negative but got {n}");
        int d = ShapeMath.Dim(dim, NDim, "Diff");
        foreach (var extra in new[] { prepend, append })
            if (extra is not null && (extra.NDim != NDim || Enumerable.Range(0, NDim).Any(k => k != d && extra.Layout.Shape[k] != Layout.Shape[k])))
                throw new ArgumentException($"Diff: prepend and append must have the input's shape {ShapeMath.Format(Layout.Shape)} except in dim {d}, got {ShapeMath.Format(extra.Layout.Shape)}");
        var x = prepend is null && append is null ? this
            : Cat([.. prepend is null ? [] : new[] { prepend }, this, .. append is null ? [] : new[] { append }], d);
        if (n == 0) return x.Clone();
        n = Math.Min(n, x.Layout.Shape[d]);
        for (int i = 0; i < n; i++)
        {
            int length = x.Layout.Shape[d] - 1;
            var (later, earlier) = (x.Narrow(d, 1, length), x.Narrow(d, 0, length));
            x = x.DType == DType.Bool ? later ^ earlier : later - earlier;
        }
        return x;
    }

    /// <summary>
    /// Coordinate grids from 0-d or 1-d tensors (torch.meshgrid): output i holds tensors[i]'s values
    /// along its own dim, expanded over the others (views). "ij" gives the dims in the order of the
    /// tensors; "xy" swaps the first two, as NumPy's Cartesian indexing.
    /// </summary>
    public static Tensor[] Meshgrid(Tensor[] tensors, string indexing = "ij")
    {
        if (tensors.Length == 0) throw new ArgumentException("Meshgrid: expects a non-empty list of tensors");
        if (indexing is not ("ij" or "xy"))
            throw new ArgumentException($"Meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}");
        foreach (var t in tensors)
        {
            if (t.NDim > 1) throw new ArgumentException($"Meshgrid: expected 0-d or 1-d tensors but got one of shape {ShapeMath.Format(t.Layout.Shape)}");
            if (t.DType != tensors[0].DType) throw new ArgumentException($"Meshgrid: expects all tensors to have the same dtype, got {tensors[0].DType} and {t.DType}");
        }
        bool swap = indexing == "xy" && tensors.Length >= 2;
        // The dim that tensor i varies along in the grid.
        int At(int i) => swap && i < 2 ? 1 - i : i;
        var shape = new int[tensors.Length];
        for (int i = 0; i < tensors.Length; i++) shape[At(i)] = tensors[i].Numel;
        return [.. tensors.Select((t, i) =>
        {
            var along = Enumerable.Repeat(1, tensors.Length).ToArray();
            along[At(i)] = t.Numel;
            return t.Reshape(along).Expand(shape);
        })];
    }

    /// <summary>
    /// Each element (or slice along dim) repeated <paramref name="repeats"/> times in place
    /// (torch.repeat_interleave); with no dim the tensor is flattened first.
    /// </summary>
    public Tensor RepeatInterleave(int repeats, int? dim = null)
    {
        if (repeats < 0) throw new ArgumentException($"RepeatInterleave: repeats can not be negative, got {repeats}");
        if (dim is null) return Reshape(-1).RepeatInterleave(repeats, 0);
        if (NDim == 0) throw new ArgumentException($"RepeatInterleave: a 0-d tensor has no dim {dim}; leave dim out to flatten it");
        int d = ShapeMath.Dim(dim.Value, NDim, "RepeatInterleave");
        // A new dim after d, expanded to the count and merged into d: a broadcast, whose gradient sums.
        var shape = Layout.Shape.ToArray();
        var expanded = new List<int>(shape);
        expanded.Insert(d + 1, repeats);
        shape[d] = (int)Math.Min((long)shape[d] * repeats, int.MaxValue);
        return Unsqueeze(d + 1).Expand([.. expanded]).Reshape(shape);
    }

    /// <summary>
    /// Element (or slice along dim) i repeated repeats[i] times (torch.repeat_interleave); a
    /// 1-element repeats applies to all. With no dim the tensor is flattened first.
    /// </summary>
    public Tensor RepeatInterleave(Tensor repeats, int? dim = null)
    {
        if (dim is null) return Reshape(-1).RepeatInterleave(repeats, 0);
        if (NDim == 0) throw new ArgumentException($"RepeatInterleave: a 0-d tensor has no dim {dim}; leave dim out to flatten it");
        int d = ShapeMath.Dim(dim.Value, NDim, "RepeatInterleave");
        if (repeats.NDim > 1) throw new ArgumentException($"RepeatInterleave: repeats must be 0-d or 1-d, got shape {ShapeMath.Format(repeats.Layout.Shape)}");
        int size = Layout.Shape[d];
        if (repeats.Numel != 1 && repeats.Numel != size)
            throw new ArgumentException($"RepeatInterleave: repeats must have the same size as input along dim {d} ({size}) or 1 element, but got {repeats.Numel}");
        // The slices picked in order, each as often as it repeats (IndexSelect's gradient adds them back up).
        return IndexSelect(d, RepeatInterleave(repeats.Numel == 1 ? repeats.Reshape(1).Expand(size) : repeats));
    }

    /// <summary>0 repeated repeats[0] times, then 1 repeated repeats[1] times, and so on (torch.repeat_interleave(repeats)).</summary>
    public static Tensor RepeatInterleave(Tensor repeats)
    {
        if (repeats.NDim > 1) throw new ArgumentException($"RepeatInterleave: repeats must be 0-d or 1-d, got shape {ShapeMath.Format(repeats.Layout.Shape)}");
        if (repeats.DType is not (DType.Int64 or DType.Int32)) throw new ArgumentException($"RepeatInterleave: repeats must be an Int64 or Int32 tensor, got {repeats.DType}");
        var counts = repeats.ToArray<long>();
        if (counts.Any(c => c < 0)) throw new ArgumentException($"RepeatInterleave: repeats can not be negative, got [{string.Join(", ", counts)}]");
        var index = new long[checked((int)counts.Sum())];
        for (int i = 0, at = 0; i < counts.Length; i++)
            for (long r = 0; r < counts[i]; r++) index[at++] = i;
        return From(index, [index.Length]).To(repeats.DType);
    }
}
