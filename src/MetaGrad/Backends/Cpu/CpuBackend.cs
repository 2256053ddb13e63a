using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// The reference CPU backend: plain strided loops over managed arrays, generic over the element
/// type. These loops are the oracle that later vectorised fast paths are tested against.
/// </summary>
internal sealed partial class CpuBackend : IBackend, IFusedKernels
{
    public static readonly CpuBackend Instance = new();

    static T[] Data<T>(RawTensor t) where T : unmanaged => ((CpuStorage<T>)t.Storage).Data;

    [ThreadStatic] static object? t_runScratch;

    // A thread's small working buffer, reused across calls (a batch-norm channel's centred run, a
    // convolution's block of window rows): kernels that need one per call would allocate it each time.
    static Span<T> RunScratch<T>(int length) where T : unmanaged
    {
        if (t_runScratch is not T[] buffer || buffer.Length < length) t_runScratch = buffer = new T[Math.Max(length, 1024)];
        return buffer.AsSpan(0, length);
    }

    static RawTensor New<T>(int[] shape) where T : unmanaged =>
        new(CpuStorage<T>.Rent(ShapeMath.Numel(shape), clear: true), Layout.Contiguous(shape));

    // For outputs that the kernel overwrites completely: skipping the zeroing saves a pass over memory.
    static RawTensor NewUninitialized<T>(int[] shape) where T : unmanaged =>
        new(CpuStorage<T>.Rent(ShapeMath.Numel(shape), clear: false), Layout.Contiguous(shape));

    // A kernel's scratch (zeroed unless asked not to): from the pool when large (a 64-channel 3×3
    // layer's dWᵀ is 147 KB, a recurrent step's product 128 KB: on the large-object heap once per
    // thread and call otherwise), given back with ReleaseScratch once the kernel is done with it.
    static T[] ScratchOf<T>(int length, bool clear = true) where T : unmanaged =>
        length >= BufferPool<T>.MinLength ? BufferPool<T>.Rent(length, clear) : clear ? new T[length] : GC.AllocateUninitializedArray<T>(length);

    static void ReleaseScratch<T>(T[] scratch) where T : unmanaged
    {
        if (scratch.Length >= BufferPool<T>.MinLength) BufferPool<T>.Return(scratch);
    }

    public RawTensor Empty(int[] shape, DType dtype) => Allocate(shape, dtype, clear: true);

    // A tensor of any dtype for an output the kernel writes completely (Cat's, IndexSelect's): no zeroing pass.
    static RawTensor Overwritten(int[] shape, DType dtype) => Allocate(shape, dtype, clear: false);

    static RawTensor Allocate(int[] shape, DType dtype, bool clear) => dtype switch
    {
        DType.Float32 => Allocate<float>(shape, clear),
        DType.Float64 => Allocate<double>(shape, clear),
        DType.Int64 => Allocate<long>(shape, clear),
        DType.Int32 => Allocate<int>(shape, clear),
        DType.Bool => Allocate<bool>(shape, clear),
        DType.Float16 => Allocate<Half>(shape, clear),
        DType.BFloat16 => Allocate<BFloat16>(shape, clear),
        DType.UInt8 => Allocate<byte>(shape, clear),
        DType.Int8 => Allocate<sbyte>(shape, clear),
        DType.Int16 => Allocate<short>(shape, clear),
        DType.UInt16 => Allocate<ushort>(shape, clear),
        _ => throw UnknownDType("Empty", dtype),
    };

    static RawTensor Allocate<T>(int[] shape, bool clear) where T : unmanaged => clear ? New<T>(shape) : NewUninitialized<T>(shape);

    static ArgumentOutOfRangeException UnknownDType(string op, DType dtype) => new(nameof(dtype), $"{op}: unknown dtype {dtype}");

    public RawTensor FromArray<T>(T[] data, int[] shape) where T : unmanaged
    {
        if (data.Length != ShapeMath.Numel(shape))
            throw new ArgumentException($"Tensor.From: {data.Length} elements cannot fill shape {ShapeMath.Format(shape)}");
        return new(new CpuStorage<T>(data), Layout.Contiguous(shape));
    }

    public T[] ToArray<T>(RawTensor x) where T : unmanaged
    {
        // A fresh array the caller owns: the kernel's buffer may be a rented one.
        var c = Cast(x, DTypeOf<T>.Value);
        return Data<T>(c).AsSpan(0, c.Numel).ToArray();
    }

    /// <summary>A fresh contiguous copy (always a copy, even of a contiguous input).</summary>
    static RawTensor Contiguous(RawTensor x) => TransposedFloatMatrices(x) ? ContiguousTransposed(x) : x.DType switch
    {
        DType.Float32 => Map1<float, float, IdentityOp<float>>(x),
        DType.Float64 => Map1<double, double, IdentityOp<double>>(x),
        DType.Int64 => Map1<long, long, IdentityOp<long>>(x),
        DType.Int32 => Map1<int, int, IdentityOp<int>>(x),
        DType.Bool => Map1<bool, bool, IdentityOp<bool>>(x),
        DType.Float16 => Map1<Half, Half, IdentityOp<Half>>(x),
        DType.BFloat16 => Map1<BFloat16, BFloat16, IdentityOp<BFloat16>>(x),
        DType.UInt8 => Map1<byte, byte, IdentityOp<byte>>(x),
        DType.Int8 => Map1<sbyte, sbyte, IdentityOp<sbyte>>(x),
        DType.Int16 => Map1<short, short, IdentityOp<short>>(x),
        DType.UInt16 => Map1<ushort, ushort, IdentityOp<ushort>>(x),
        _ => throw UnknownDType("Contiguous", x.DType),
    };

    public RawTensor Cast(RawTensor x, DType dtype) => dtype switch
    {
        DType.Float32 => CastTo<float>(x),
        DType.Float64 => CastTo<double>(x),
        DType.Int64 => CastTo<long>(x),
        DType.Int32 => CastTo<int>(x),
        DType.Bool => CastTo<bool>(x),
        DType.Float16 => CastTo<Half>(x),
        DType.BFloat16 => CastTo<BFloat16>(x),
        DType.UInt8 => CastTo<byte>(x),
        DType.Int8 => CastTo<sbyte>(x),
        DType.Int16 => CastTo<short>(x),
        DType.UInt16 => CastTo<ushort>(x),
        _ => throw UnknownDType("Cast", dtype),
    };

    static RawTensor CastTo<TOut>(RawTensor x) where TOut : unmanaged => x.DType switch
    {
        DType.Float32 => Map1<float, TOut, CastOp<float, TOut>>(x),
        DType.Float64 => Map1<double, TOut, CastOp<double, TOut>>(x),
        DType.Int64 => Map1<long, TOut, CastOp<long, TOut>>(x),
        DType.Int32 => Map1<int, TOut, CastOp<int, TOut>>(x),
        DType.Bool => Map1<bool, TOut, CastOp<bool, TOut>>(x),
        DType.Float16 => Map1<Half, TOut, CastOp<Half, TOut>>(x),
        DType.BFloat16 => Map1<BFloat16, TOut, CastOp<BFloat16, TOut>>(x),
        DType.UInt8 => Map1<byte, TOut, CastOp<byte, TOut>>(x),
        DType.Int8 => Map1<sbyte, TOut, CastOp<sbyte, TOut>>(x),
        DType.Int16 => Map1<short, TOut, CastOp<short, TOut>>(x),
        DType.UInt16 => Map1<ushort, TOut, CastOp<ushort, TOut>>(x),
        _ => throw UnknownDType("Cast", x.DType),
    };

    public void Copy(RawTensor dst, RawTensor src)
    {
        if (src.DType != dst.DType) src = Cast(src, dst.DType);
        ShapeMath.Broadcast("copy", dst.Layout.Shape, src.Layout.Shape);
        switch (dst.DType)
        {
            case DType.Float32: CopyStrided<float>(dst, src); break;
            case DType.Float64: CopyStrided<double>(dst, src); break;
            case DType.Int64: CopyStrided<long>(dst, src); break;
            case DType.Int32: CopyStrided<int>(dst, src); break;
            case DType.Bool: CopyStrided<bool>(dst, src); break;
            case DType.Float16: CopyStrided<Half>(dst, src); break;
            case DType.BFloat16: CopyStrided<BFloat16>(dst, src); break;
            case DType.UInt8: CopyStrided<byte>(dst, src); break;
            case DType.Int8: CopyStrided<sbyte>(dst, src); break;
            case DType.Int16: CopyStrided<short>(dst, src); break;
            case DType.UInt16: CopyStrided<ushort>(dst, src); break;
            default: throw UnknownDType("Copy", dst.DType);
        }
    }

    static void CopyStrided<T>(RawTensor dst, RawTensor src) where T : unmanaged
    {
        var D = Data<T>(dst);
        var S = Data<T>(src);
        var shape = dst.Layout.Shape;
        // Reading through a copy keeps an overlapping source (x[1:] = x[:-1]) correct.
        if (ReferenceEquals(dst.Storage, src.Storage)) S = (T[])S.Clone();
        var w = new StridedWalk(shape, StridedWalk.Of(dst), StridedWalk.Broadcast(src, shape));
        int runs = w.OuterCount;
        // Large copies (Cat's pieces, a slice written back) in ranges of runs per thread, each with its own walk.
        int parts = (long)runs * w.InnerSize >= ParallelElements && Threading.NumThreads > 1 && runs > 1 ? Math.Min(Threading.NumThreads, runs) : 1;
        if (parts == 1)
        {
            CopyRuns(D, S, w, 0, runs);
            return;
        }
        Threading.For(parts, part =>
        {
            var own = new StridedWalk(shape, StridedWalk.Of(dst), StridedWalk.Broadcast(src, shape));
            CopyRuns(D, S, own, (int)((long)part * runs / parts), (int)((long)(part + 1) * runs / parts));
        });
    }

    // Runs [first, end) of a walk over (destination, source).
    static void CopyRuns<T>(T[] D, T[] S, StridedWalk w, int first, int end) where T : unmanaged
    {
        int n = w.InnerSize, sd = w.InnerStride(0), ss = w.InnerStride(1);
        w.Seek(first);
        for (int o = first; o < end; o++, w.Advance())
        {
            int pd = w.Offsets[0], ps = w.Offsets[1];
            // Contiguous runs (a whole contiguous tensor is one, its dims merged) as block copies:
            // element by element, cloning the leaf gradients was a twentieth of an MLP step.
            if (sd == 1 && ss == 1) S.AsSpan(ps, n).CopyTo(D.AsSpan(pd, n));
            else if (sd == 1 && ss == 0) D.AsSpan(pd, n).Fill(S[ps]);
            else for (int j = 0; j < n; j++) D[pd + j * sd] = S[ps + j * ss];
        }
    }

    public RawTensor Clone(RawTensor x) => Contiguous(x);

    // A float matrix stored column by column (x.T of a row-major matrix), or a batch of them along
    // one leading dim: copied in 8×8 register transposes (Transpose) rather than element by
    // element through the strided walk, each element of which read a new cache line.
    static bool TransposedFloatMatrices(RawTensor x)
    {
        var (shape, strides) = (x.Layout.Shape, x.Layout.Strides);
        int rank = shape.Length;
        return x.DType == DType.Float32 && Transpose.IsAccelerated && rank is 2 or 3
            && strides[rank - 2] == 1 && strides[rank - 1] >= shape[rank - 2] && shape[rank - 2] >= 8 && shape[rank - 1] >= 8
            && (rank == 2 || strides[0] >= 0);
    }

    static unsafe RawTensor ContiguousTransposed(RawTensor x)
    {
        var (shape, strides) = (x.Layout.Shape, x.Layout.Strides);
        int rank = shape.Length, rows = shape[rank - 2], cols = shape[rank - 1];
        int batches = rank == 3 ? shape[0] : 1;
        nint batchStride = rank == 3 ? strides[0] : 0;
        var y = NewUninitialized<float>(shape);
        fixed (float* src = Data<float>(x), dst = Data<float>(y))
            for (int i = 0; i < batches; i++)
                Transpose.ColumnsToRows(src + x.Layout.Offset + i * batchStride, strides[rank - 1], dst + (nint)i * rows * cols, rows, cols);
        return y;
    }

    /// <summary>
    /// span.Fill(value), with whole vectors stored where the element type has them: Span.Fill took
    /// about twice as long over large spans (bench/results/TUNING.md).
    /// </summary>
    static void Splat<T>(Span<T> span, T value) where T : unmanaged
    {
        ref T start = ref MemoryMarshal.GetReference(span);
        nuint length = (nuint)span.Length, i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported && length >= (nuint)Vector512<T>.Count)
        {
            var v = Vector512.Create(value);
            for (nuint last = length - (nuint)Vector512<T>.Count; i <= last; i += (nuint)Vector512<T>.Count) v.StoreUnsafe(ref start, i);
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported && length >= (nuint)Vector256<T>.Count)
        {
            var v = Vector256.Create(value);
            for (nuint last = length - (nuint)Vector256<T>.Count; i <= last; i += (nuint)Vector256<T>.Count) v.StoreUnsafe(ref start, i);
        }
        span[(int)i..].Fill(value);
    }

    public void Fill(RawTensor dst, double value)
    {
        // A contiguous float tensor (ones_like for a backward's seed, zeros) filled in place; the
        // general path builds a scalar tensor, casts it and broadcasts it through a strided walk.
        if (dst.Layout.IsContiguous && dst.DType == DType.Float32)
        {
            Splat(Data<float>(dst).AsSpan(dst.Layout.Offset, dst.Numel), (float)value);
            return;
        }
        if (dst.Layout.IsContiguous && dst.DType == DType.Float64)
        {
            Splat(Data<double>(dst).AsSpan(dst.Layout.Offset, dst.Numel), value);
            return;
        }
        var scalar = Cast(FromArray(new[] { value }, []), dst.DType);
        Copy(dst, scalar);
    }

    public RawTensor Arange(double start, double end, double step, DType dtype)
    {
        if (step == 0) throw new ArgumentException("Arange: step must be nonzero");
        if ((end - start) / step < 0) throw new ArgumentException($"Arange: upper bound and larger bound inconsistent with step sign (start {start}, end {end}, step {step})");
        int n = (int)Math.Ceiling((end - start) / step);
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = start + i * step;
        return Cast(FromArray(values, [n]), dtype);
    }

    /// <summary>y = f(x) elementwise into a new contiguous tensor.</summary>
    internal static RawTensor Map1<TIn, TOut, TOp>(RawTensor x) where TIn : unmanaged where TOut : unmanaged where TOp : IMap1<TIn, TOut>
    {
        var shape = x.Layout.Shape;
        var y = NewUninitialized<TOut>(shape);
        var Y = Data<TOut>(y);
        var X = Data<TIn>(x);
        if (Y.Length == 0) return y;   // vectorised span operations reject empty spans
        if (x.Layout.IsContiguous && Y.Length >= ParallelElements && Threading.NumThreads > 1)
        {
            Map1Chunks<TIn, TOut, TOp>(X, x.Layout.Offset, Y);
            return y;
        }
        if (x.Layout.IsContiguous)
        {
            // Fast path: one flat run, vectorised when the operation has a span form.
            var src = X.AsSpan(x.Layout.Offset, Y.Length);
            if (!TOp.ApplySpan(src, Y))
                for (int j = 0; j < Y.Length; j++) Y[j] = TOp.Apply(src[j]);
            return y;
        }
        if (x.Layout.Strides.AsSpan().IndexOfAnyExcept(0) < 0)
        {
            // One value broadcast everywhere (the gradient of a sum, expanded, made dense for a
            // convolution's backward): filled, by the threads when large.
            var value = TOp.Apply(X[x.Layout.Offset]);
            int parts = Y.Length >= ParallelElements ? Threading.NumThreads : 1;
            Threading.For(parts, part => Splat(Y.AsSpan(part * Y.Length / parts, (part + 1) * Y.Length / parts - part * Y.Length / parts), value));
            return y;
        }
        var walk = new StridedWalk(shape, StridedWalk.Of(x));
        // Large strided inputs (a permuted copy, a channel slice made dense) in ranges of runs per
        // thread, each thread its own walk.
        int runs = walk.OuterCount, pieces = Y.Length >= ParallelElements && Threading.NumThreads > 1 && runs > 1 ? Math.Min(Threading.NumThreads, runs) : 1;
        if (pieces == 1) MapRuns<TIn, TOut, TOp>(X, Y, walk, 0, runs);
        else
            Threading.For(pieces, piece =>
            {
                var own = new StridedWalk(shape, StridedWalk.Of(x));
                MapRuns<TIn, TOut, TOp>(X, Y, own, piece * runs / pieces, (piece + 1) * runs / pieces);
            });
        return y;
    }

    // Runs [first, end) of a strided walk over X mapped into the dense Y.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MapRuns<TIn, TOut, TOp>(TIn[] X, TOut[] Y, StridedWalk w, int first, int end)
        where TIn : unmanaged where TOut : unmanaged where TOp : IMap1<TIn, TOut>
    {
        int n = w.InnerSize, s = w.InnerStride(0), i = first * n;
        w.Seek(first);
        for (int o = first; o < end; o++, w.Advance())
        {
            int p = w.Offsets[0];
            if (s == 1 && TOp.ApplySpan(X.AsSpan(p, n), Y.AsSpan(i, n))) { i += n; continue; }
            if (s == 0)
            {
                // A broadcast run (the gradient of a sum, expanded, made dense): one value n times,
                // where element by element it took 1.4% of a convolution layer's training step.
                Splat(Y.AsSpan(i, n), TOp.Apply(X[p]));
                i += n;
                continue;
            }
            for (int j = 0; j < n; j++) Y[i++] = TOp.Apply(X[p + j * s]);
        }
    }

    /// <summary>y = f(a, b) elementwise with broadcasting into a new contiguous tensor.</summary>
    /// <remarks>With <paramref name="into"/> (contiguous, of the broadcast shape) the result is written there:
    /// an in-place update when it is <paramref name="a"/> itself.</remarks>
    internal static RawTensor Map2<TA, TB, TOut, TOp>(string op, RawTensor a, RawTensor b, RawTensor? into = null)
        where TA : unmanaged where TB : unmanaged where TOut : unmanaged where TOp : IMap2<TA, TB, TOut>
    {
        var shape = SameShape(a.Layout.Shape, b.Layout.Shape) ? a.Layout.Shape : ShapeMath.Broadcast(op, a.Layout.Shape, b.Layout.Shape);
        var y = into ?? NewUninitialized<TOut>(shape);
        var Y = Data<TOut>(y).AsSpan(y.Layout.Offset, y.Numel);
        var A = Data<TA>(a);
        var B = Data<TB>(b);
        if (Y.Length == 0) return y;   // vectorised span operations reject empty spans
        if (a.Layout.IsContiguous && b.Layout.IsContiguous)
        {
            // Fast paths without a walk: equal shapes, one side a single element, or b a row added to
            // every row of a (a bias). Large ones are cut into chunks for the threads.
            if (Y.Length >= ParallelElements && Threading.NumThreads > 1 && a.Numel == Y.Length
                && (b.Numel == Y.Length || b.Numel == shape[^1] && b.Layout.Shape.Length > 0 && b.Layout.Shape[^1] == shape[^1]))
            {
                Map2Chunks<TA, TB, TOut, TOp>(A, a.Layout.Offset, B, b.Layout.Offset, b.Numel, Data<TOut>(y), y.Layout.Offset, Y.Length);
                return y;
            }
            if (a.Numel == Y.Length && b.Numel == Y.Length)
            {
                var sa = A.AsSpan(a.Layout.Offset, Y.Length);
                var sb = B.AsSpan(b.Layout.Offset, Y.Length);
                if (!TOp.ApplySpan(sa, sb, Y))
                    for (int j = 0; j < Y.Length; j++) Y[j] = TOp.Apply(sa[j], sb[j]);
                return y;
            }
        }
        // One side a single value (one element, or one expanded to the shape with zero strides: a
        // sum's gradient on its way back), the other contiguous in the output's shape.
        bool valueB = a.Layout.IsContiguous && a.Numel == Y.Length && SingleValue(b);
        if (valueB || b.Layout.IsContiguous && b.Numel == Y.Length && SingleValue(a))
        {
            Map2WithValue<TA, TB, TOut, TOp>(A, a.Layout.Offset, B, b.Layout.Offset, valueB, Data<TOut>(y), y.Layout.Offset, Y.Length);
            return y;
        }
        var w = new StridedWalk(shape, StridedWalk.Broadcast(a, shape), StridedWalk.Broadcast(b, shape));
        int n = w.InnerSize, strideA = w.InnerStride(0), strideB = w.InnerStride(1), i = 0;
        for (int o = 0; o < w.OuterCount; o++, w.Advance())
        {
            int pa = w.Offsets[0], pb = w.Offsets[1];
            // Vectorised inner runs: both contiguous (same-shape blocks) or one broadcast along the run (a bias row).
            if (strideA == 1 && strideB == 1 && TOp.ApplySpan(A.AsSpan(pa, n), B.AsSpan(pb, n), Y.Slice(i, n))) { i += n; continue; }
            if (strideA == 1 && strideB == 0 && TOp.ApplySpan(A.AsSpan(pa, n), B[pb], Y.Slice(i, n))) { i += n; continue; }
            if (strideA == 0 && strideB == 1 && TOp.ApplySpan(A[pa], B.AsSpan(pb, n), Y.Slice(i, n))) { i += n; continue; }
            for (int j = 0; j < n; j++) Y[i++] = TOp.Apply(A[pa + j * strideA], B[pb + j * strideB]);
        }
        return y;
    }

    static bool SameShape(int[] a, int[] b) => a.AsSpan().SequenceEqual(b);

    static bool SingleValue(RawTensor t)
    {
        if (t.Numel == 1) return true;
        foreach (int stride in t.Layout.Strides)
            if (stride != 0) return false;
        return true;
    }

    /// <summary>
    /// From this many elements (1 MB of float) an elementwise pass is cut into one chunk per thread:
    /// below it, handing work to another core (tens of µs on the 2-core runner) costs more than it saves.
    /// </summary>
    const int ParallelElements = 1 << 18;

    /// <summary>
    /// Into how many parts a row-wise kernel cuts its rows (or channels): one per thread for a
    /// tensor of <see cref="ParallelElements"/> or more, else one. Part p takes rows
    /// [p·rows/parts, (p + 1)·rows/parts).
    /// </summary>
    static int RowParts(int rows, long elements) =>
        elements >= ParallelElements && Threading.NumThreads > 1 ? Math.Min(rows, Threading.NumThreads) : 1;

    // y = f(x) over a contiguous run, in one chunk per thread (whole 64-byte lines each).
    static void Map1Chunks<TIn, TOut, TOp>(TIn[] X, int ox, TOut[] Y) where TIn : unmanaged where TOut : unmanaged where TOp : IMap1<TIn, TOut>
    {
        int units = (Y.Length + 15) / 16, parts = Math.Min(Threading.NumThreads, units);
        Threading.For(parts, part =>
        {
            int start = part * units / parts * 16, end = Math.Min(Y.Length, (part + 1) * units / parts * 16);
            var src = X.AsSpan(ox + start, end - start);
            var dst = Y.AsSpan(start, end - start);
            if (!TOp.ApplySpan(src, dst))
                for (int j = 0; j < dst.Length; j++) dst[j] = TOp.Apply(src[j]);
        });
    }

    // y = f(a, b) over contiguous runs, in one chunk per thread: b is either as long as a, or one
    // row of length bLength repeated for every row of a. Chunks start on whole rows (and 64-byte
    // lines) so that threads never write one cache line together. In its own method so that the
    // small path allocates no closure.
    static void Map2Chunks<TA, TB, TOut, TOp>(TA[] A, int oa, TB[] B, int ob, int bLength, TOut[] Y, int oy, int length)
        where TA : unmanaged where TB : unmanaged where TOut : unmanaged where TOp : IMap2<TA, TB, TOut>
    {
        bool rows = bLength != length;
        int unit = rows ? bLength : 16, units = (length + unit - 1) / unit, parts = Math.Min(Threading.NumThreads, units);
        Threading.For(parts, part =>
        {
            int start = part * units / parts * unit, end = Math.Min(length, (part + 1) * units / parts * unit);
            for (int at = start; at < end; at += rows ? unit : end - start)
            {
                int n = rows ? unit : end - start;
                var sa = A.AsSpan(oa + at, n);
                var sb = B.AsSpan(rows ? ob : ob + at, n);
                var sy = Y.AsSpan(oy + at, n);
                if (!TOp.ApplySpan(sa, sb, sy))
                    for (int j = 0; j < n; j++) sy[j] = TOp.Apply(sa[j], sb[j]);
            }
        });
    }

    // One operand a single value (A[oa] or B[ob]; valueB says which), the other contiguous over the
    // output's length: one chunk per thread from ParallelElements on (a ReLU's backward of a mean's
    // gradient, 8 MB, ran on one thread).
    static void Map2WithValue<TA, TB, TOut, TOp>(TA[] A, int oa, TB[] B, int ob, bool valueB, TOut[] Y, int oy, int length)
        where TA : unmanaged where TB : unmanaged where TOut : unmanaged where TOp : IMap2<TA, TB, TOut>
    {
        int parts = length >= ParallelElements ? Math.Min(Threading.NumThreads, length / 16) : 1;
        void Chunk(int part)
        {
            // Chunks start on multiples of 16 elements, so that only the last has a tail.
            int start = (int)((long)part * length / parts) & ~15, end = part == parts - 1 ? length : (int)((long)(part + 1) * length / parts) & ~15;
            var sy = Y.AsSpan(oy + start, end - start);
            if (valueB)
            {
                var sa = A.AsSpan(oa + start, end - start);
                TB value = B[ob];
                if (!TOp.ApplySpan(sa, value, sy))
                    for (int j = 0; j < sy.Length; j++) sy[j] = TOp.Apply(sa[j], value);
            }
            else
            {
                var sb = B.AsSpan(ob + start, end - start);
                TA value = A[oa];
                if (!TOp.ApplySpan(value, sb, sy))
                    for (int j = 0; j < sy.Length; j++) sy[j] = TOp.Apply(value, sb[j]);
            }
        }
        if (parts == 1) Chunk(0);
        else Threading.For(parts, Chunk);
    }

    public RawTensor Unary(UnaryOp op, RawTensor x) => x.DType switch
    {
        DType.Float32 => UnaryFloat<float>(op, x),
        DType.Float64 => UnaryFloat<double>(op, x),
        DType.Int64 => UnaryInteger<long>(op, x),
        DType.Int32 => UnaryInteger<int>(op, x),
        DType.Bool => throw new ArgumentException($"{op}: not supported for Bool tensors"),
        _ => throw NotComputed(op.ToString(), x.DType),
    };

    static RawTensor UnaryInteger<T>(UnaryOp op, RawTensor x) where T : unmanaged, IBinaryInteger<T> => op switch
    {
        UnaryOp.Neg => Map1<T, T, NegOp<T>>(x),
        UnaryOp.Abs => Map1<T, T, AbsOp<T>>(x),
        UnaryOp.Sign => Map1<T, T, SignOp<T>>(x),
        UnaryOp.Square => Map1<T, T, SquareOp<T>>(x),
        UnaryOp.Relu => Map1<T, T, ReluOp<T>>(x),
        UnaryOp.Floor or UnaryOp.Ceil or UnaryOp.Round or UnaryOp.Trunc => Map1<T, T, IdentityOp<T>>(x),
        _ => throw new ArgumentException($"{op}: not supported for integer tensors ({x.DType}); convert with To(DType.Float32) first"),
    };

    static RawTensor UnaryFloat<T>(UnaryOp op, RawTensor x) where T : unmanaged, IFloatingPointIeee754<T> => op switch
    {
        UnaryOp.Neg => Map1<T, T, NegOp<T>>(x),
        UnaryOp.Abs => Map1<T, T, AbsOp<T>>(x),
        UnaryOp.Sign => Map1<T, T, SignOp<T>>(x),
        UnaryOp.Square => Map1<T, T, SquareOp<T>>(x),
        UnaryOp.Relu => Map1<T, T, ReluOp<T>>(x),
        UnaryOp.Exp => Map1<T, T, ExpOp<T>>(x),
        UnaryOp.Log => Map1<T, T, LogOp<T>>(x),
        UnaryOp.Log1p => Map1<T, T, Log1pOp<T>>(x),
        UnaryOp.Expm1 => Map1<T, T, Expm1Op<T>>(x),
        UnaryOp.Sqrt => Map1<T, T, SqrtOp<T>>(x),
        UnaryOp.Rsqrt => Map1<T, T, RsqrtOp<T>>(x),
        UnaryOp.Sin => Map1<T, T, SinOp<T>>(x),
        UnaryOp.Cos => Map1<T, T, CosOp<T>>(x),
        UnaryOp.Tanh => Map1<T, T, TanhOp<T>>(x),
        UnaryOp.Sigmoid => Map1<T, T, SigmoidOp<T>>(x),
        UnaryOp.Erf => Map1<T, T, ErfOp<T>>(x),
        UnaryOp.Reciprocal => Map1<T, T, ReciprocalOp<T>>(x),
        UnaryOp.Floor => Map1<T, T, FloorOp<T>>(x),
        UnaryOp.Ceil => Map1<T, T, CeilOp<T>>(x),
        UnaryOp.Round => Map1<T, T, RoundOp<T>>(x),
        UnaryOp.Trunc => Map1<T, T, TruncOp<T>>(x),
        UnaryOp.Gelu => Map1<T, T, GeluOp<T, ExactGelu>>(x),
        UnaryOp.GeluTanh => Map1<T, T, GeluOp<T, TanhGelu>>(x),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    public RawTensor Binary(BinaryOp op, RawTensor a, RawTensor b) => BinaryTo(op, a, b, null);

    public void BinaryInPlace(BinaryOp op, RawTensor dst, RawTensor other)
    {
        if (!dst.Layout.IsContiguous) throw new ArgumentException($"{op}: an in-place kernel needs a contiguous destination");
        ShapeMath.Broadcast(op.ToString(), dst.Layout.Shape, other.Layout.Shape);
        BinaryTo(op, dst, other, dst);
    }

    static RawTensor BinaryTo(BinaryOp op, RawTensor a, RawTensor b, RawTensor? into)
    {
        if (a.DType != b.DType) RequireSameDType(op.ToString(), a, b);   // the name only on the error path: ToString boxes
        return a.DType switch
        {
            DType.Float32 => BinaryNumeric<float>(op, a, b, into) ?? BinaryFloat<float>(op, a, b, into),
            DType.Float64 => BinaryNumeric<double>(op, a, b, into) ?? BinaryFloat<double>(op, a, b, into),
            DType.Int64 => BinaryNumeric<long>(op, a, b, into) ?? BinaryInteger<long>(op, a, b, into),
            DType.Int32 => BinaryNumeric<int>(op, a, b, into) ?? BinaryInteger<int>(op, a, b, into),
            DType.Bool => throw new ArgumentException($"{op}: arithmetic is not supported on Bool tensors; convert with To() first"),
            _ => throw NotComputed(op.ToString(), a.DType),
        };
    }

    // The operations whose float and integer forms differ (Pow) or that are for floats only.
    static RawTensor BinaryFloat<T>(BinaryOp op, RawTensor a, RawTensor b, RawTensor? into) where T : unmanaged, IFloatingPointIeee754<T> => op switch
    {
        BinaryOp.Pow => Map2<T, T, T, PowFloatOp<T>>("Pow", a, b, into),
        BinaryOp.GeluBackward => Map2<T, T, T, GeluBackwardOp<T, ExactGelu>>("GeluBackward", a, b, into),
        BinaryOp.GeluTanhBackward => Map2<T, T, T, GeluBackwardOp<T, TanhGelu>>("GeluTanhBackward", a, b, into),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    static RawTensor BinaryInteger<T>(BinaryOp op, RawTensor a, RawTensor b, RawTensor? into) where T : unmanaged, IBinaryInteger<T> => op switch
    {
        BinaryOp.Pow => Map2<T, T, T, PowIntOp<T>>("Pow", a, b, into),
        _ => throw new ArgumentException($"{op}: not supported for integer tensors ({a.DType})"),
    };

    // Null for the operations of BinaryFloat and BinaryInteger.
    static RawTensor? BinaryNumeric<T>(BinaryOp op, RawTensor a, RawTensor b, RawTensor? into) where T : unmanaged, INumber<T> => op switch
    {
        BinaryOp.Add => Map2<T, T, T, AddOp<T>>("Add", a, b, into),
        BinaryOp.Sub => Map2<T, T, T, SubOp<T>>("Sub", a, b, into),
        BinaryOp.Mul => Map2<T, T, T, MulOp<T>>("Mul", a, b, into),
        BinaryOp.Div => Map2<T, T, T, DivOp<T>>("Div", a, b, into),
        BinaryOp.Maximum => Map2<T, T, T, MaximumOp<T>>("Maximum", a, b, into),
        BinaryOp.Minimum => Map2<T, T, T, MinimumOp<T>>("Minimum", a, b, into),
        BinaryOp.ThresholdBackward => Map2<T, T, T, ThresholdBackwardOp<T>>("ThresholdBackward", a, b, into),
        _ => default(RawTensor?),
    };

    public RawTensor Compare(CompareOp op, RawTensor a, RawTensor b)
    {
        if (a.DType != b.DType) RequireSameDType(op.ToString(), a, b);
        return a.DType switch
        {
            DType.Float32 => CompareTyped<float>(op, a, b),
            DType.Float64 => CompareTyped<double>(op, a, b),
            DType.Int64 => CompareTyped<long>(op, a, b),
            DType.Int32 => CompareTyped<int>(op, a, b),
            DType.Bool => CompareTyped<int>(op, Cast(a, DType.Int32), Cast(b, DType.Int32)),
            _ => throw NotComputed(op.ToString(), a.DType),
        };
    }

    static RawTensor CompareTyped<T>(CompareOp op, RawTensor a, RawTensor b) where T : unmanaged, INumber<T> => op switch
    {
        CompareOp.Eq => Map2<T, T, bool, EqOp<T>>("Eq", a, b),
        CompareOp.Ne => Map2<T, T, bool, NeOp<T>>("Ne", a, b),
        CompareOp.Lt => Map2<T, T, bool, LtOp<T>>("Lt", a, b),
        CompareOp.Le => Map2<T, T, bool, LeOp<T>>("Le", a, b),
        CompareOp.Gt => Map2<T, T, bool, GtOp<T>>("Gt", a, b),
        _ => Map2<T, T, bool, GeOp<T>>("Ge", a, b),
    };

    public RawTensor Logical(LogicalOp op, RawTensor a, RawTensor b)
    {
        a = Cast(a, DType.Bool);
        b = Cast(b, DType.Bool);
        return op switch
        {
            LogicalOp.And => Map2<bool, bool, bool, AndOp>("LogicalAnd", a, b),
            LogicalOp.Or => Map2<bool, bool, bool, OrOp>("LogicalOr", a, b),
            _ => Map2<bool, bool, bool, XorOp>("LogicalXor", a, b),
        };
    }

    public RawTensor LogicalNot(RawTensor x) => Map1<bool, bool, NotOp>(Cast(x, DType.Bool));

    // The narrow dtypes reach these kernels only widened (WideningBackend); one arriving here is a bug, not a user error.
    static InvalidOperationException NotComputed(string op, DType dtype) =>
        new($"{op}: the CPU kernels do not compute in {dtype}; it should have been widened to {dtype.ComputeDType()} first");

    static void RequireSameDType(string op, RawTensor a, RawTensor b)
    {
        if (a.DType != b.DType) throw new ArgumentException($"{op}: kernel operands must share a dtype, got {a.DType} and {b.DType}");
    }
}
