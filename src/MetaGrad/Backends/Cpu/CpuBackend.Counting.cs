using System.Numerics;

namespace MetaGrad.Backends.Cpu;

// Kernels that count values: mode, unique, bincount and histc.
internal sealed partial class CpuBackend
{
    public RawTensor ModeIndices(RawTensor x, int dim)
    {
        var keys = x.DType is DType.Float32 or DType.Float64 ? Cast(x, DType.Float64) : Cast(x, DType.Int64);
        return keys.DType == DType.Float64 ? ModeIndicesTyped<double>(keys, dim) : ModeIndicesTyped<long>(keys, dim);
    }

    // Each line in the stable sort's order: runs of equal values, each ending at its value's last
    // occurrence. The longest run wins, the first (smallest value) of equally long runs, and a run
    // answers with its last index, as PyTorch's CPU kernel does when its sort keeps ties in order.
    static RawTensor ModeIndicesTyped<T>(RawTensor x, int dim) where T : unmanaged, INumber<T>
    {
        var order = OrderIndices<T>(x, dim, descending: false, x.Layout.Shape[dim]);
        var shape = x.Layout.Shape;
        var outShape = (int[])shape.Clone();
        outShape[dim] = 1;
        var y = New<long>(outShape);
        var Y = Data<long>(y);
        var X = Data<T>(x);
        var O = Data<long>(order);
        int size = shape[dim], stride = x.Layout.Strides[dim], orderStride = order.Layout.Strides[dim];
        ForEachLine(shape, dim, [StridedWalk.Of(x), StridedWalk.Of(order), StridedWalk.Of(y)], off =>
        {
            long IndexAt(int k) => O[off[1] + k * orderStride];
            T ValueAt(int k) => X[off[0] + (int)IndexAt(k) * stride];
            long best = -1;
            int bestCount = 0, run = 0;
            for (int k = 0; k < size; k++)
            {
                run++;
                if (k == size - 1 || CompareWithNaNLast(ValueAt(k), ValueAt(k + 1)) != 0)
                {
                    if (run > bestCount) { bestCount = run; best = IndexAt(k); }
                    run = 0;
                }
            }
            Y[off[2]] = best;
        });
        return y;
    }

    public (RawTensor Values, RawTensor Inverse, RawTensor Counts) Unique(RawTensor x) => x.DType switch
    {
        DType.Float32 => UniqueTyped<float>(x),
        DType.Float64 => UniqueTyped<double>(x),
        DType.Int64 => UniqueTyped<long>(x),
        DType.Int32 => UniqueTyped<int>(x),
        DType.Bool => UniqueOfBool(x),
        _ => throw NotComputed("Unique", x.DType),
    };

    (RawTensor, RawTensor, RawTensor) UniqueOfBool(RawTensor x)
    {
        var (values, inverse, counts) = UniqueTyped<int>(Cast(x, DType.Int32));
        return (Cast(values, DType.Bool), inverse, counts);
    }

    // Sort the positions by value once; runs of equal values are the distinct values. Every NaN is
    // distinct (NaN != NaN), as in PyTorch's sorted unique.
    static (RawTensor, RawTensor, RawTensor) UniqueTyped<T>(RawTensor x) where T : unmanaged, INumber<T>
    {
        using var run = Dense<T>(Contiguous(x));   // a fresh copy: from element 0
        var flat = run.Array!;
        int n = x.Numel;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Array.Sort(order, (i, j) =>
        {
            int c = CompareWithNaNLast(flat[i], flat[j]);
            return c != 0 ? c : i.CompareTo(j);
        });
        var values = new List<T>();
        var counts = new List<long>();
        var inverse = new long[n];
        for (int k = 0; k < n; k++)
        {
            T v = flat[order[k]];
            if (k == 0 || !(v == flat[order[k - 1]])) { values.Add(v); counts.Add(0); }
            counts[^1]++;
            inverse[order[k]] = values.Count - 1;
        }
        return (new RawTensor(new CpuStorage<T>([.. values]), Layout.Contiguous([values.Count])),
            new RawTensor(new CpuStorage<long>(inverse), Layout.Contiguous((int[])x.Layout.Shape.Clone())),
            new RawTensor(new CpuStorage<long>([.. counts]), Layout.Contiguous([counts.Count])));
    }

    public (RawTensor First, RawTensor Inverse, RawTensor Counts) UniqueRows(RawTensor rows) =>
        rows.DType is DType.Float32 or DType.Float64 ? UniqueRowsTyped<double>(Cast(rows, DType.Float64)) : UniqueRowsTyped<long>(Cast(rows, DType.Int64));

    // The rows sorted lexicographically (stable, so each run starts with its first occurrence).
    static (RawTensor, RawTensor, RawTensor) UniqueRowsTyped<T>(RawTensor rows) where T : unmanaged, INumber<T>
    {
        using var run = Dense<T>(Contiguous(rows));
        var flat = run.Array!;
        int n = rows.Layout.Shape[0], m = rows.Layout.Shape[1];
        int CompareRows(int i, int j)
        {
            for (int k = 0; k < m; k++)
            {
                int c = CompareWithNaNLast(flat[i * m + k], flat[j * m + k]);
                if (c != 0) return c;
            }
            return 0;
        }
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Array.Sort(order, (i, j) => CompareRows(i, j) is var c && c != 0 ? c : i.CompareTo(j));
        var first = new List<long>();
        var counts = new List<long>();
        var inverse = new long[n];
        for (int k = 0; k < n; k++)
        {
            if (k == 0 || CompareRows(order[k], order[k - 1]) != 0) { first.Add(order[k]); counts.Add(0); }
            counts[^1]++;
            inverse[order[k]] = first.Count - 1;
        }
        return (new RawTensor(new CpuStorage<long>([.. first]), Layout.Contiguous([first.Count])),
            new RawTensor(new CpuStorage<long>(inverse), Layout.Contiguous([n])),
            new RawTensor(new CpuStorage<long>([.. counts]), Layout.Contiguous([counts.Count])));
    }

    public RawTensor Bincount(RawTensor x, RawTensor? weights, int length)
    {
        using var run = Dense<long>(Cast(Contiguous(x), DType.Int64));
        var bins = run.Array!;
        if (weights is not { } w)
        {
            var counts = new long[length];
            for (int i = 0; i < x.Numel; i++) counts[bins[i]]++;
            return new RawTensor(new CpuStorage<long>(counts), Layout.Contiguous([length]));
        }
        // Float weights sum in their own dtype; Float64 for any other, as PyTorch's CPU bincount.
        if (w.DType == DType.Float32) return WeightedBincount<float>(bins, x.Numel, Contiguous(w), length);
        return WeightedBincount<double>(bins, x.Numel, Cast(w, DType.Float64), length);
    }

    static RawTensor WeightedBincount<T>(long[] bins, int n, RawTensor weights, int length) where T : unmanaged, INumber<T>
    {
        var W = Data<T>(weights);
        int offset = weights.Layout.Offset;
        var sums = new T[length];
        for (int i = 0; i < n; i++) sums[bins[i]] += W[offset + i];
        GC.KeepAlive(weights.Storage);   // a temporary's pooled array is read above (see DenseRun)
        return new RawTensor(new CpuStorage<T>(sums), Layout.Contiguous([length]));
    }

    public RawTensor Histc(RawTensor x, int bins, double min, double max) => x.DType == DType.Float32
        ? HistcTyped<float>(x, bins, float.CreateTruncating(min), float.CreateTruncating(max))
        : HistcTyped<double>(Cast(x, DType.Float64), bins, min, max);

    // PyTorch's histc computes the bin by linear interpolation in the input's own dtype,
    // (x - min)·bins / (max - min), truncated; x == max is moved into the last bin.
    static RawTensor HistcTyped<T>(RawTensor x, int bins, T min, T max) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var run = Dense<T>(Contiguous(x));   // a fresh copy: from element 0
        var flat = run.Array!;
        var hist = new T[bins];
        T width = max - min, count = T.CreateTruncating(bins);
        for (int i = 0; i < x.Numel; i++)
        {
            T v = flat[i];
            if (!(v >= min && v <= max)) continue;   // outside the range, or NaN
            long pos = long.CreateTruncating((v - min) * count / width);
            if (pos >= bins) pos = bins - 1;
            hist[pos] += T.One;
        }
        return new RawTensor(new CpuStorage<T>(hist), Layout.Contiguous([bins]));
    }
}
