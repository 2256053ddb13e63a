using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;
using System.Numerics;

namespace MetaGrad.Backends.Cpu;

internal sealed partial class CpuBackend
{
    public RawTensor Reduce(ReduceOp op, RawTensor x, int[] dims)
    {
        var outShape = (int[])x.Layout.Shape.Clone();
        foreach (var d in dims) outShape[d] = 1;
        if (op is ReduceOp.Max or ReduceOp.Min && dims.Any(d => x.Layout.Shape[d] == 0))
            throw new ArgumentException($"{op}: cannot reduce over a dimension of size 0 of a tensor of shape {ShapeMath.Format(x.Layout.Shape)}: the result would have no identity");
        return x.DType switch
        {
            DType.Float32 => op switch
            {
                ReduceOp.Sum => SumFloating<float>(x, outShape),
                ReduceOp.Prod => Cast(Accumulate<float, double>(x, outShape, product: true), DType.Float32),
                _ => Extreme<float>(x, outShape, op == ReduceOp.Max),
            },
            DType.Float64 => op switch
            {
                ReduceOp.Sum => SumFloating<double>(x, outShape),
                ReduceOp.Prod => Accumulate<double, double>(x, outShape, product: true),
                _ => Extreme<double>(x, outShape, op == ReduceOp.Max),
            },
            // Integer and boolean sums and products give int64, as in PyTorch.
            DType.Int64 => op switch
            {
                ReduceOp.Sum or ReduceOp.Prod => Accumulate<long, long>(x, outShape, op == ReduceOp.Prod),
                _ => Extreme<long>(x, outShape, op == ReduceOp.Max),
            },
            DType.Int32 => op switch
            {
                ReduceOp.Sum or ReduceOp.Prod => Accumulate<int, long>(x, outShape, op == ReduceOp.Prod),
                _ => Extreme<int>(x, outShape, op == ReduceOp.Max),
            },
            DType.Bool => op switch
            {
                ReduceOp.Sum or ReduceOp.Prod => Accumulate<int, long>(Cast(x, DType.Int32), outShape, op == ReduceOp.Prod),
                _ => Cast(Extreme<int>(Cast(x, DType.Int32), outShape, op == ReduceOp.Max), DType.Bool),
            },
            _ => throw NotComputed(op.ToString(), x.DType),
        };
    }

    // Output strides in the input's index space: reduced dims have stride 0, so every input
    // element of a reduced run lands on the same output element.
    static (int[] Strides, int Offset) ReducedStrides(int[] outShape, int[] inShape)
    {
        var strides = Layout.ContiguousStrides(outShape);
        for (int d = 0; d < strides.Length; d++) if (outShape[d] != inShape[d]) strides[d] = 0;
        return (strides, 0);
    }

    // Float sums accumulate in double: a float32 running sum over a million elements would lose digits.
    static RawTensor Accumulate<T, TAcc>(RawTensor x, int[] outShape, bool product)
        where T : unmanaged, INumber<T> where TAcc : unmanaged, INumber<TAcc>
    {
        var y = New<TAcc>(outShape);
        var Y = Data<TAcc>(y);
        if (product) Array.Fill(Y, TAcc.One);
        var X = Data<T>(x);
        var shape = x.Layout.Shape;
        var w = new StridedWalk(shape, StridedWalk.Of(x), ReducedStrides(outShape, shape));
        int n = w.InnerSize, sx = w.InnerStride(0), sy = w.InnerStride(1);
        for (int o = 0; o < w.OuterCount; o++, w.Advance())
        {
            int px = w.Offsets[0], py = w.Offsets[1];
            if (product)
                for (int j = 0; j < n; j++) Y[py + j * sy] *= TAcc.CreateTruncating(X[px + j * sx]);
            else
                for (int j = 0; j < n; j++) Y[py + j * sy] += TAcc.CreateTruncating(X[px + j * sx]);
        }
        return y;
    }

    /// <summary>
    /// Float sums with vectorised runs: a run along the reduced innermost dim is summed in chunks
    /// (each chunk in SIMD lanes, the chunks in double) so long float32 sums keep their digits; a
    /// run along a kept dim adds a whole row of inputs to a row of outputs at once.
    /// </summary>
    static RawTensor SumFloating<T>(RawTensor x, int[] outShape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = New<T>(outShape);
        // Nothing to add: zeros. (An empty view's offset may lie past its storage, which a span refuses.)
        if (x.Numel == 0) return y;
        var Y = Data<T>(y);
        var X = Data<T>(x);
        if (y.Numel == 1 && x.Layout.IsContiguous)
        {
            // A whole contiguous tensor (a loss, x.Sum()): one run, no walk to set up.
            Y[0] = T.CreateTruncating(ChunkedSum(X, x.Layout.Offset, x.Numel));
            return y;
        }
        if (x.Layout.IsContiguous && KeptBlock(x.Layout.Shape, outShape) is var (outer, kept, inner) && inner > 1)
        {
            // The kept dims one block between reduced ones, with a run of reduced values after each
            // kept index (x.Sum(-1), a row mean, a per-channel sum over (0, 2, 3)): each output adds
            // its runs in the walk's order (same bits), the outputs shared between threads
            // ([65536, 32] rows took 6 times libtorch's time on one thread's walk).
            int at = x.Layout.Offset;
            EachRows(kept, outer * inner, (first, end) => SumBlocks(X, at, outer, kept, inner, first, end, Y));
            return y;
        }
        int last = outShape.Length - 1;
        if (x.Layout.IsContiguous && x.Numel >= ParallelElements && Threading.NumThreads > 1 && last >= 0
            && outShape[last] == x.Layout.Shape[last] && y.Numel == outShape[last])
        {
            SumRowsInParts(X, x.Layout.Offset, x.Numel / y.Numel, Y);
            return y;
        }
        var shape = x.Layout.Shape;
        var w = new StridedWalk(shape, StridedWalk.Of(x), ReducedStrides(outShape, shape));
        int n = w.InnerSize, sx = w.InnerStride(0), sy = w.InnerStride(1);
        for (int o = 0; o < w.OuterCount; o++, w.Advance())
        {
            int px = w.Offsets[0], py = w.Offsets[1];
            if (sx == 1 && sy == 0) Y[py] += T.CreateTruncating(ChunkedSum<T>(X.AsSpan(px, n)));
            else if (sx == 1 && sy == 1) System.Numerics.Tensors.TensorPrimitives.Add(Y.AsSpan(py, n), X.AsSpan(px, n), Y.AsSpan(py, n));
            else for (int j = 0; j < n; j++) Y[py + j * sy] += X[px + j * sx];
        }
        return y;
    }

    // The rows of a contiguous [rows, C] summed into Y [C] (a bias's gradient, Sum(0) of a batch):
    // each thread sums its share of the rows into its own row, then those rows are added.
    static void SumRowsInParts<T>(T[] X, int offset, int rows, T[] Y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = Y.Length, parts = Math.Min(Threading.NumThreads, rows);
        var partial = new T[parts][];
        Threading.For(parts, part =>
        {
            var sum = partial[part] = new T[width];
            for (int r = part * rows / parts, end = (part + 1) * rows / parts; r < end; r++)
                System.Numerics.Tensors.TensorPrimitives.Add(sum, X.AsSpan(offset + r * width, width), sum);
        });
        foreach (var sum in partial) System.Numerics.Tensors.TensorPrimitives.Add(Y, sum, Y);
    }

    static double ChunkedSum<T>(ReadOnlySpan<T> run) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // One chunk (a short row): its sum as the loop below would add it to 0.
        if (run.Length <= SumChunk) return 0.0 + double.CreateTruncating(System.Numerics.Tensors.TensorPrimitives.Sum(run));
        double total = 0;
        for (int c = 0; c * SumChunk < run.Length; c++) total += ChunkSum(run, c);
        return total;
    }

    // The same sum of a whole array's run, its chunks shared between threads when it is long: the
    // chunks' sums are added in the same order afterwards, so the result has the same bits for any
    // thread count (a training loss of a 2M-element output summed on one thread held back the other).
    static double ChunkedSum<T>(T[] data, int offset, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (length < ParallelElements || Threading.NumThreads == 1) return ChunkedSum<T>(data.AsSpan(offset, length));
        var sums = new double[(length + SumChunk - 1) / SumChunk];
        int parts = Math.Min(Threading.NumThreads, sums.Length);
        Threading.For(parts, part =>
        {
            for (int c = part * sums.Length / parts, end = (part + 1) * sums.Length / parts; c < end; c++)
                sums[c] = ChunkSum<T>(data.AsSpan(offset, length), c);
        });
        double total = 0;
        foreach (var sum in sums) total += sum;
        return total;
    }

    const int SumChunk = 1024;

    // Y[k] for k in [first, end) of X seen as [outer, kept, inner] from at: the inner runs added in
    // order of the outer index.
    static void SumBlocks<T>(T[] X, int at, int outer, int kept, int inner, int first, int end, T[] Y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int k = first; k < end; k++)
        {
            T sum = T.Zero;
            for (int a = 0; a < outer; a++) sum += T.CreateTruncating(ChunkedSum<T>(X.AsSpan(at + (a * kept + k) * inner, inner)));
            Y[k] = sum;
        }
    }

    // Fully optimised at once: called by each thread once per reduction, its loop otherwise ran as
    // tiered code (on-stack replacement) several times slower.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ExtremeRows<T>(T[] X, int at, int rowLength, int first, int end, T[] Y, bool max) where T : unmanaged, INumber<T>
    {
        for (int r = first; r < end; r++) Y[r] = Extreme<T>(X.AsSpan(at + r * rowLength, rowLength), max);
    }

    // Chunk c of a run, summed in SIMD lanes.
    static double ChunkSum<T>(ReadOnlySpan<T> run, int c) where T : unmanaged, IFloatingPointIeee754<T> =>
        double.CreateTruncating(System.Numerics.Tensors.TensorPrimitives.Sum(run.Slice(c * SumChunk, Math.Min(SumChunk, run.Length - c * SumChunk))));

    // A contiguous tensor reduced to outShape seen as [outer, kept, inner]: the reduced dims before
    // the kept ones, the kept ones (one block, nothing reduced between them), the reduced dims
    // after; null where kept dims are split by reduced ones. Dims of size 1 count as either.
    static (int Outer, int Kept, int Inner)? KeptBlock(int[] shape, int[] outShape)
    {
        int first = -1, last = -1;
        for (int d = 0; d < shape.Length; d++)
            if (shape[d] != 1 && outShape[d] == shape[d])
            {
                if (first < 0) first = d;
                last = d;
            }
        if (first < 0) return null;
        int outer = 1, kept = 1, inner = 1;
        for (int d = 0; d < shape.Length; d++)
        {
            if (d >= first && d <= last)
            {
                if (outShape[d] != shape[d]) return null;   // a reduced dim inside the block
                kept *= shape[d];
            }
            else if (d < first) outer *= shape[d];
            else inner *= shape[d];
        }
        return (outer, kept, inner);
    }

    // The rows of the extremes' fast path: every dim from some k on reduced, none before it.
    static int? TrailingRows(int[] shape, int[] outShape) =>
        KeptBlock(shape, outShape) is var (outer, _, inner) && outer == 1 ? inner
        : shape.All(size => size == 1) || outShape.All(size => size == 1) ? shape.Aggregate(1, (n, size) => n * size) : null;

    // body(first, end) over the items [first, end), ranges shared between threads from ParallelElements values in all.
    static void EachRows(int items, int valuesPerItem, Action<int, int> body)
    {
        int parts = (long)items * valuesPerItem >= ParallelElements ? Math.Min(Threading.NumThreads, items) : 1;
        if (parts == 1) body(0, items);
        else Threading.For(parts, part => body(part * items / parts, (part + 1) * items / parts));
    }

    // Max and min propagate NaN, as torch.amax does.
    static RawTensor Extreme<T>(RawTensor x, int[] outShape, bool max) where T : unmanaged, INumber<T>
    {
        var y = New<T>(outShape);
        var Y = Data<T>(y);
        if (x.Layout.IsContiguous && TrailingRows(x.Layout.Shape, outShape) is int rowLength)
        {
            // Whole rows (the whole tensor too) by TensorPrimitives, which returns NaN for a run with
            // one: the walk compared element by element, 15 times libtorch's time for x.Max().
            var X = Data<T>(x);
            int at = x.Layout.Offset;
            if (y.Numel == 1) Y[0] = LongExtreme(X, at, rowLength, max);
            else EachRows(y.Numel, rowLength, (first, end) => ExtremeRows(X, at, rowLength, first, end, Y, max));
            return y;
        }
        return ExtremeByWalk<T>(x, y, max);
    }

    // The largest or smallest value of a run, NaN if it holds one. Vectors of its own rather than
    // TensorPrimitives.Max, whose cost per call dominated short rows ([65536, 32] along -1 took
    // 0.5-3.7 ms by the JIT's mood against libtorch's 0.35).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Extreme<T>(ReadOnlySpan<T> run, bool max) where T : unmanaged, INumber<T>
    {
        int n = run.Length, w = Vector256<T>.Count;
        // Long runs: TensorPrimitives' wider, unrolled loop (x.Max() 0.46 -> 0.29 ms on two threads).
        if (n >= 1024) return max ? System.Numerics.Tensors.TensorPrimitives.Max(run) : System.Numerics.Tensors.TensorPrimitives.Min(run);
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported || n < w)
        {
            T best = run[0];
            for (int i = 1; i < n; i++)
            {
                T v = run[i];
                if (T.IsNaN(v)) return v;
                if (max ? v > best : v < best) best = v;
            }
            return best;
        }
        ref T at = ref MemoryMarshal.GetReference(run);
        var acc = Vector256.LoadUnsafe(ref at);
        var nan = ~Vector256.Equals(acc, acc);
        for (int i = w; i < n; i += w)
        {
            // The last vector ends at the run's end, overlapping the one before: harmless for an extreme.
            var v = Vector256.LoadUnsafe(ref at, (nuint)Math.Min(i, n - w));
            nan |= ~Vector256.Equals(v, v);
            acc = max ? Vector256.Max(acc, v) : Vector256.Min(acc, v);
        }
        if (nan != Vector256<T>.Zero)
            foreach (var v in run) if (T.IsNaN(v)) return v;
        // Halves folded onto each other down to one lane.
        var lanes = acc.GetLower();
        lanes = max ? Vector128.Max(lanes, acc.GetUpper()) : Vector128.Min(lanes, acc.GetUpper());
        T result = lanes.ToScalar();
        for (int lane = 1; lane < Vector128<T>.Count; lane++)
        {
            T v = lanes.GetElement(lane);
            if (max ? v > result : v < result) result = v;
        }
        return result;
    }

    // One long run in a range per thread, the ranges' extremes combined (NaN if any is).
    static T LongExtreme<T>(T[] data, int at, int length, bool max) where T : unmanaged, INumber<T>
    {
        int parts = length >= ParallelElements ? Threading.NumThreads : 1;
        if (parts == 1) return Extreme<T>(data.AsSpan(at, length), max);
        var found = new T[parts];
        Threading.For(parts, part =>
        {
            int first = (int)((long)part * length / parts), end = (int)((long)(part + 1) * length / parts);
            found[part] = Extreme<T>(data.AsSpan(at + first, end - first), max);
        });
        return Extreme<T>(found, max);
    }

    static RawTensor ExtremeByWalk<T>(RawTensor x, RawTensor y, bool max) where T : unmanaged, INumber<T>
    {
        var Y = Data<T>(y);
        var outShape = y.Layout.Shape;
        var seen = new bool[Y.Length];
        var X = Data<T>(x);
        var shape = x.Layout.Shape;
        var w = new StridedWalk(shape, StridedWalk.Of(x), ReducedStrides(outShape, shape));
        int n = w.InnerSize, sx = w.InnerStride(0), sy = w.InnerStride(1);
        for (int o = 0; o < w.OuterCount; o++, w.Advance())
        {
            int px = w.Offsets[0], py = w.Offsets[1];
            for (int j = 0; j < n; j++)
            {
                T v = X[px + j * sx];
                int k = py + j * sy;
                if (!seen[k]) { Y[k] = v; seen[k] = true; }
                else if (T.IsNaN(v) || (max ? v > Y[k] : v < Y[k])) Y[k] = T.IsNaN(Y[k]) ? Y[k] : v;
            }
        }
        return y;
    }

    /// <summary>
    /// Calls <paramref name="line"/> once per 1-D line of <paramref name="shape"/> along <paramref name="dim"/>,
    /// with each operand's offset of that line's first element.
    /// </summary>
    static void ForEachLine(int[] shape, int dim, (int[] Strides, int Offset)[] operands, Action<int[]> line)
    {
        var outer = shape.Where((_, d) => d != dim).ToArray();
        var ops = operands.Select(o => (o.Strides.Where((_, d) => d != dim).ToArray(), o.Offset)).ToArray();
        var w = new StridedWalk(outer, ops);
        var offsets = new int[operands.Length];
        for (int o = 0; o < w.OuterCount; o++, w.Advance())
            for (int j = 0; j < w.InnerSize; j++)
            {
                for (int k = 0; k < offsets.Length; k++) offsets[k] = w.Offsets[k] + j * w.InnerStride(k);
                line(offsets);
            }
    }

    public RawTensor ArgReduce(RawTensor x, int dim, bool max)
    {
        if (x.Layout.Shape[dim] == 0)
            throw new ArgumentException($"{(max ? "ArgMax" : "ArgMin")}: cannot take the index of an extreme over an empty dimension {dim} of shape {ShapeMath.Format(x.Layout.Shape)}");
        if (InnerOf(x.Layout.Shape, dim) == 1 && x.DType is DType.Float32 or DType.Float64)
            return x.DType == DType.Float32 ? ArgReduceRows<float>(x, dim, max) : ArgReduceRows<double>(x, dim, max);
        var values = x.DType is DType.Float32 or DType.Float64 ? Cast(x, DType.Float64) : Cast(x, DType.Int64);
        return values.DType == DType.Float64 ? ArgReduceTyped<double>(values, dim, max) : ArgReduceTyped<long>(values, dim, max);
    }

    // Along rows (dim last, or followed only by size-1 dims): the row's extreme by TensorPrimitives
    // (NaN if any), then the first position equal to it (the first NaN for NaN; -0 and +0 equal,
    // so the first of either, as PyTorch's comparison finds it), by vectors; rows shared between
    // threads, where a double copy and an element loop fell behind libtorch (bench/results/TUNING.md).
    static RawTensor ArgReduceRows<T>(RawTensor x, int dim, bool max) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var input = Dense<T>(x);
        var (X, xAt) = input;
        var shape = x.Layout.Shape;
        int size = shape[dim], rows = x.Numel / size;
        var outShape = (int[])shape.Clone();
        outShape[dim] = 1;
        var y = NewUninitialized<long>(outShape);
        var Y = Data<long>(y);
        int parts = RowParts(rows, x.Numel);
        Threading.For(parts, part =>
        {
            for (int r = part * rows / parts; r < (part + 1) * rows / parts; r++)
            {
                var row = X.AsSpan(xAt + r * size, size);
                T extreme = max ? TensorPrimitives.Max<T>(row) : TensorPrimitives.Min<T>(row);
                Y[r] = FirstEqual(row, extreme);
            }
        });
        return y;
    }

    // The first position of value in the row (of a NaN for NaN).
    static int FirstEqual<T>(ReadOnlySpan<T> row, T value) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool nan = T.IsNaN(value);
        int i = 0, w = Vector256<T>.Count;
        if (Vector256.IsHardwareAccelerated)
        {
            var target = Vector256.Create(value);
            for (; i + w <= row.Length; i += w)
            {
                var v = Vector256.Create(row.Slice(i, w));
                uint hits = Vector256.ExtractMostSignificantBits(nan ? ~Vector256.Equals(v, v) : Vector256.Equals(v, target));
                if (hits != 0) return i + BitOperations.TrailingZeroCount(hits);
            }
        }
        for (; i < row.Length; i++)
            if (nan ? T.IsNaN(row[i]) : row[i] == value) return i;
        return 0;
    }

    // The first index of the extreme wins; NaN counts as the extreme, as in PyTorch.
    static RawTensor ArgReduceTyped<T>(RawTensor x, int dim, bool max) where T : unmanaged, INumber<T>
    {
        var shape = x.Layout.Shape;
        var outShape = (int[])shape.Clone();
        outShape[dim] = 1;
        var y = New<long>(outShape);
        var Y = Data<long>(y);
        var X = Data<T>(x);
        int size = shape[dim], stride = x.Layout.Strides[dim];
        ForEachLine(shape, dim, [StridedWalk.Of(x), StridedWalk.Of(y)], off =>
        {
            int best = 0;
            T bestValue = X[off[0]];
            for (int k = 1; k < size && !T.IsNaN(bestValue); k++)
            {
                T v = X[off[0] + k * stride];
                if (T.IsNaN(v) || (max ? v > bestValue : v < bestValue)) { best = k; bestValue = v; }
            }
            Y[off[1]] = best;
        });
        return y;
    }

    public (RawTensor Values, RawTensor Indices) Sort(RawTensor x, int dim, bool descending)
    {
        var indices = OrderIndices(x, dim, descending, x.Layout.Shape[dim]);
        return (Gather(x, dim, indices), indices);
    }

    public RawTensor TopKIndices(RawTensor x, int dim, int k, bool largest) => OrderIndices(x, dim, largest, k);

    // The first `count` positions of each line's stable order along dim (ties keep their order; NaN
    // above every number, as torch.sort(stable=True)): each value becomes a long whose order is
    // the values' (floats by their bits, -0 as 0, NaN the largest; complemented for descending),
    // then the keys are sorted with their positions and each run of equal keys has its positions
    // put back in order; for a few of many (TopK), a heap of the best so far instead. Lines are
    // shared between threads, where a comparison delegate per pair (and TopK sorting everything)
    // fell far behind libtorch (bench/results/TUNING.md).
    RawTensor OrderIndices(RawTensor x, int dim, bool descending, int count) => x.DType switch
    {
        DType.Float32 => OrderIndices<float>(x, dim, descending, count),
        DType.Float64 => OrderIndices<double>(x, dim, descending, count),
        DType.Int64 => OrderIndices<long>(x, dim, descending, count),
        _ => OrderIndices<long>(Cast(x, DType.Int64), dim, descending, count),
    };

    static RawTensor OrderIndices<T>(RawTensor keys, int dim, bool descending, int count) where T : unmanaged
    {
        using var dense = Dense<T>(keys);
        var shape = keys.Layout.Shape;
        int size = shape[dim], inner = 1, outer = 1;
        for (int a = dim + 1; a < shape.Length; a++) inner *= shape[a];
        for (int a = 0; a < dim; a++) outer *= shape[a];
        int[] outShape = [.. shape];
        outShape[dim] = count;
        var y = NewUninitialized<long>(outShape);
        var Y = Data<long>(y);
        var (X, xAt) = dense;
        int lines = outer * inner;
        if (lines == 0 || count == 0) return y;
        int parts = (long)lines * size >= ParallelElements / 4 ? Math.Min(Threading.NumThreads, lines) : 1;
        bool select = count < size / 8;
        Threading.For(parts, part =>
        {
            var key = new long[size];
            var position = new int[size];
            for (int line = (int)((long)part * lines / parts); line < (int)((long)(part + 1) * lines / parts); line++)
            {
                int o = line / inner, c = line % inner, at = xAt + o * size * inner + c;
                int n = 0;
                if (select)
                {
                    // A max-heap of the `count` best (smallest keys; a later position never beats an equal key).
                    for (int k = 0; k < size; k++)
                    {
                        long v = SortKey(X[at + k * inner], descending);
                        if (n < count) { key[n] = v; position[n] = k; SiftUp(key, position, n++); }
                        else if (v < key[0]) { key[0] = v; position[0] = k; SiftDown(key, position, n); }
                    }
                }
                else
                {
                    for (int k = 0; k < size; k++) { key[k] = SortKey(X[at + k * inner], descending); position[k] = k; }
                    n = size;
                }
                Array.Sort(key, position, 0, n);
                for (int r = 0; r < n;)
                {
                    int e = r + 1;
                    while (e < n && key[e] == key[r]) e++;
                    if (e - r > 1) Array.Sort(position, r, e - r);
                    r = e;
                }
                int to = o * count * inner + c;
                for (int j = 0; j < count; j++) Y[to + j * inner] = position[j];
            }
        });
        return y;
    }

    // An order-preserving long for a value (a float by its bits, -0 as 0, NaN above all; an int64
    // itself), complemented for a descending order.
    static long SortKey<T>(T value, bool descending) where T : unmanaged
    {
        long key;
        if (typeof(T) == typeof(double))
        {
            double v = (double)(object)value;
            long bits = BitConverter.DoubleToInt64Bits(v);
            key = double.IsNaN(v) ? long.MaxValue : v == 0 ? 0 : bits >= 0 ? bits : bits ^ long.MaxValue;
        }
        else if (typeof(T) == typeof(float))
        {
            float v = (float)(object)value;
            int bits = BitConverter.SingleToInt32Bits(v);
            key = float.IsNaN(v) ? long.MaxValue : v == 0 ? 0 : bits >= 0 ? bits : bits ^ int.MaxValue;
        }
        else key = (long)(object)value;
        return descending ? ~key : key;
    }

    static void SiftUp(long[] key, int[] position, int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Worse(key, position, i, parent)) return;
            (key[i], key[parent]) = (key[parent], key[i]);
            (position[i], position[parent]) = (position[parent], position[i]);
            i = parent;
        }
    }

    static void SiftDown(long[] key, int[] position, int n)
    {
        for (int i = 0; ;)
        {
            int worst = i, l = 2 * i + 1, r = l + 1;
            if (l < n && Worse(key, position, l, worst)) worst = l;
            if (r < n && Worse(key, position, r, worst)) worst = r;
            if (worst == i) return;
            (key[i], key[worst]) = (key[worst], key[i]);
            (position[i], position[worst]) = (position[worst], position[i]);
            i = worst;
        }
    }

    // Whether entry a comes after entry b in the order (a larger key, or an equal key later on).
    static bool Worse(long[] key, int[] position, int a, int b) => key[a] > key[b] || key[a] == key[b] && position[a] > position[b];

    static int CompareWithNaNLast<T>(T a, T b) where T : INumber<T>
    {
        bool na = T.IsNaN(a), nb = T.IsNaN(b);
        if (na || nb) return na == nb ? 0 : na ? 1 : -1;
        return a < b ? -1 : a > b ? 1 : 0;
    }
}
