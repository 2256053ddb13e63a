using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MetaGrad.Backends.Cpu;

// Choosing between values elementwise: Where picks by a condition, Clamp between bounds.
internal sealed unsafe partial class CpuBackend
{
    public RawTensor Where(RawTensor cond, RawTensor a, RawTensor b)
    {
        RequireSameDType("Where", a, b);
        cond = cond.DType == DType.Bool ? cond : Cast(cond, DType.Bool);
        return a.DType switch
        {
            DType.Float32 => WhereTyped<float>(cond, a, b),
            DType.Float64 => WhereTyped<double>(cond, a, b),
            DType.Int64 => WhereTyped<long>(cond, a, b),
            DType.Int32 => WhereTyped<int>(cond, a, b),
            DType.Bool => WhereTyped<bool>(cond, a, b),
            DType.Float16 => WhereTyped<Half>(cond, a, b),
            DType.BFloat16 => WhereTyped<BFloat16>(cond, a, b),
            DType.UInt8 => WhereTyped<byte>(cond, a, b),
            DType.Int8 => WhereTyped<sbyte>(cond, a, b),
            DType.Int16 => WhereTyped<short>(cond, a, b),
            DType.UInt16 => WhereTyped<ushort>(cond, a, b),
            _ => throw UnknownDType("Where", a.DType),
        };
    }

    static RawTensor WhereTyped<T>(RawTensor cond, RawTensor a, RawTensor b) where T : unmanaged
    {
        var shape = ShapeMath.Broadcast("Where", ShapeMath.Broadcast("Where", cond.Layout.Shape, a.Layout.Shape), b.Layout.Shape);
        var y = New<T>(shape);
        var Y = Data<T>(y);
        var C = Data<bool>(cond);
        var A = Data<T>(a);
        var B = Data<T>(b);
        int length = y.Numel;
        if (length > 0 && (sizeof(T) == 4 || sizeof(T) == 8) && Avx2.IsSupported && cond.Layout.IsContiguous && cond.Numel == length
            && Dense(a, length) && Dense(b, length))
        {
            // The loop below branches on every condition (10 ns a value on random masks); this
            // selects by vectors, the mask's bytes widened to the values' lanes.
            int oc = cond.Layout.Offset, oa = a.Layout.Offset, ob = b.Layout.Offset;
            // A single value may be expanded to the whole shape (zero strides, Numel the length).
            bool singleA = !(a.Layout.IsContiguous && a.Numel == length), singleB = !(b.Layout.IsContiguous && b.Numel == length);
            int parts = length >= ParallelElements ? Threading.NumThreads : 1;
            void Part(int part)
            {
                int start = (int)((long)part * length / parts) & ~7, end = part == parts - 1 ? length : (int)((long)(part + 1) * length / parts) & ~7;
                fixed (bool* c = C) fixed (T* pa = A, pb = B, py = Y)
                    Select(end - start, (byte*)(c + oc + start), singleA ? pa + oa : pa + oa + start, singleA, singleB ? pb + ob : pb + ob + start, singleB, py + start);
            }
            if (parts == 1) Part(0);
            else Threading.For(parts, Part);
            return y;
        }
        var w = new StridedWalk(shape, StridedWalk.Broadcast(cond, shape), StridedWalk.Broadcast(a, shape), StridedWalk.Broadcast(b, shape));
        int n = w.InnerSize, sc = w.InnerStride(0), sa = w.InnerStride(1), sb = w.InnerStride(2), i = 0;
        for (int o = 0; o < w.OuterCount; o++, w.Advance())
        {
            int pc = w.Offsets[0], pa = w.Offsets[1], pb = w.Offsets[2];
            for (int j = 0; j < n; j++) Y[i++] = C[pc + j * sc] ? A[pa + j * sa] : B[pb + j * sb];
        }
        return y;
    }

    // min(max(x, lo), hi) in one pass (two through Maximum and Minimum took twice libtorch's time),
    // NaN kept as PyTorch's clamp keeps it; a missing bound is ±inf. lo above hi gives hi throughout, as there.
    static RawTensor ClampDense<T>(RawTensor x, double? lo, double? hi) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = NewUninitialized<T>(x.Layout.Shape);
        var X = Data<T>(x);
        var Y = Data<T>(y);
        int n = x.Numel, at = x.Layout.Offset;
        T low = T.CreateTruncating(lo ?? double.NegativeInfinity), high = T.CreateTruncating(hi ?? double.PositiveInfinity);
        int parts = n >= ParallelElements ? Threading.NumThreads : 1;
        void Part(int part)
        {
            int start = (int)((long)part * n / parts), end = (int)((long)(part + 1) * n / parts);
            var from = X.AsSpan(at + start, end - start);
            var to = Y.AsSpan(start, end - start);
            var vl = Vector256.Create(low);
            var vh = Vector256.Create(high);
            int i = 0;
            for (; i + Vector256<T>.Count <= to.Length; i += Vector256<T>.Count)
            {
                var v = Vector256.Create(from.Slice(i, Vector256<T>.Count));
                var clamped = Vector256.ConditionalSelect(Vector256.LessThan(v, vl), vl, v);
                clamped = Vector256.ConditionalSelect(Vector256.GreaterThan(clamped, vh), vh, clamped);
                clamped.CopyTo(to.Slice(i, Vector256<T>.Count));
            }
            for (; i < to.Length; i++)
            {
                T v = from[i];
                to[i] = T.IsNaN(v) ? v : v < low ? (low > high ? high : low) : v > high ? high : v;
            }
        }
        if (parts == 1) Part(0);
        else Threading.For(parts, Part);
        return y;
    }

    // Contiguous with the output's length, or a single value (one element or zero strides).
    static bool Dense(RawTensor t, int length) => t.Layout.IsContiguous && t.Numel == length || SingleValue(t);

    // y[i] = c[i] ? a[i] : b[i] for n values of 4 or 8 bytes (a or b one value when single).
    static void Select<T>(int n, byte* c, T* a, bool singleA, T* b, bool singleB, T* y) where T : unmanaged
    {
        int i = 0;
        if (sizeof(T) == 4)
        {
            var va = singleA ? Vector256.Create(*(int*)a) : default;
            var vb = singleB ? Vector256.Create(*(int*)b) : default;
            for (; i + 8 <= n; i += 8)
            {
                var keep = ~Vector256.Equals(Avx2.ConvertToVector256Int32(c + i), Vector256<int>.Zero);
                var x = singleA ? va : Vector256.Load((int*)a + i);
                var z = singleB ? vb : Vector256.Load((int*)b + i);
                Vector256.ConditionalSelect(keep, x, z).Store((int*)y + i);
            }
        }
        else
        {
            var va = singleA ? Vector256.Create(*(long*)a) : default;
            var vb = singleB ? Vector256.Create(*(long*)b) : default;
            for (; i + 4 <= n; i += 4)
            {
                var keep = ~Vector256.Equals(Avx2.ConvertToVector256Int64(c + i), Vector256<long>.Zero);
                var x = singleA ? va : Vector256.Load((long*)a + i);
                var z = singleB ? vb : Vector256.Load((long*)b + i);
                Vector256.ConditionalSelect(keep, x, z).Store((long*)y + i);
            }
        }
        for (; i < n; i++) y[i] = c[i] != 0 ? a[singleA ? 0 : i] : b[singleB ? 0 : i];
    }

    public RawTensor Clamp(RawTensor x, double? lo, double? hi)
    {
        // Always a new tensor, even with no bound: the result must not alias the input.
        if (lo is null && hi is null) return Contiguous(x);
        if (x.Layout.IsContiguous && x.DType is DType.Float32 or DType.Float64 && Vector256.IsHardwareAccelerated)
            return x.DType == DType.Float32 ? ClampDense<float>(x, lo, hi) : ClampDense<double>(x, lo, hi);
        var y = x;
        if (lo is double l) y = Binary(BinaryOp.Maximum, y, Cast(FromArray(new[] { l }, []), x.DType));
        if (hi is double h) y = Binary(BinaryOp.Minimum, y, Cast(FromArray(new[] { h }, []), x.DType));
        return y;
    }
}
