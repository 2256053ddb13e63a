using System.Numerics;
using System.Runtime.CompilerServices;

namespace MetaGrad.Backends.Cpu;

// Running reductions along one dim: cumsum, cumprod, logcumsumexp.
internal sealed partial class CpuBackend
{
    public RawTensor Scan(ScanOp op, RawTensor x, int dim)
    {
        if (op == ScanOp.LogSumExp && x.DType is not (DType.Float32 or DType.Float64))
            throw new ArgumentException($"Logcumsumexp: expected a floating point input, got {x.DType}");
        if (op != ScanOp.LogSumExp && x.Numel > 0 && x.Layout.Shape.Length > 0)
        {
            return x.DType switch
            {
                // Float32 runs accumulate in double, as PyTorch's CPU scans do, then round once per element.
                DType.Float32 => Runs<float, double>(op, x, dim),
                DType.Float64 => Runs<double, double>(op, x, dim),
                // Integer and Bool running sums and products give Int64, as in PyTorch.
                DType.Int64 => Runs<long, long>(op, x, dim),
                DType.Int32 or DType.Bool => Runs<long, long>(op, Cast(x, DType.Int64), dim),
                _ => throw NotComputed(op.ToString(), x.DType),
            };
        }
        // Logcumsumexp, and empty or 0-d tensors: the element walk, in the same accumulation types.
        return x.DType switch
        {
            DType.Float32 => Cast(ScanTyped<double>(op, Cast(x, DType.Float64), dim), DType.Float32),
            DType.Float64 => ScanTyped<double>(op, x, dim),
            DType.Int64 or DType.Int32 or DType.Bool => ScanTyped<long>(op, x.DType == DType.Int64 ? x : Cast(x, DType.Int64), dim),
            _ => throw NotComputed(op.ToString(), x.DType),
        };
    }

    // A running sum or product over a dense copy seen as [outer, size, inner]: along the last dim
    // line by line, otherwise a row of inner accumulators at a time (each step adds a contiguous
    // row), in blocks of columns; the lines or blocks split between the threads. Each element is
    // accumulated in TAcc and rounded to T once, as the element walk through a TAcc copy did (an
    // operation switch per element, one thread: bench/results/TUNING.md).
    static RawTensor Runs<T, TAcc>(ScanOp op, RawTensor x, int dim) where T : unmanaged, INumber<T> where TAcc : unmanaged, INumber<TAcc>
    {
        var shape = x.Layout.Shape;
        using var input = Dense<T>(x);
        var (X, xAt) = input;
        var y = NewUninitialized<T>(shape);
        var Y = Data<T>(y);
        int size = shape[dim], inner = 1, outer = 1;
        for (int d = dim + 1; d < shape.Length; d++) inner *= shape[d];
        for (int d = 0; d < dim; d++) outer *= shape[d];
        bool sum = op == ScanOp.Sum;
        const int Columns = 512;
        int blocks = (inner + Columns - 1) / Columns, units = outer * blocks;
        int parts = x.Numel >= ParallelElements ? Math.Min(Threading.NumThreads, units) : 1;
        void Part(int part)
        {
            int first = (int)((long)part * units / parts), end = (int)((long)(part + 1) * units / parts);
            Span<TAcc> acc = stackalloc TAcc[Math.Min(Columns, inner)];
            for (int unit = first; unit < end; unit++)
            {
                int o = unit / blocks, c0 = unit % blocks * Columns, width = Math.Min(Columns, inner - c0);
                int at = o * size * inner + c0;
                var row = acc[..width];
                for (int c = 0; c < width; c++) row[c] = Widen<T, TAcc>(X[xAt + at + c]);
                for (int k = 0; ; k++)
                {
                    var to = Y.AsSpan(at + k * inner, width);
                    for (int c = 0; c < width; c++) to[c] = Narrow<T, TAcc>(row[c]);
                    if (k + 1 == size) break;
                    var from = X.AsSpan(xAt + at + (k + 1) * inner, width);
                    if (sum) for (int c = 0; c < width; c++) row[c] += Widen<T, TAcc>(from[c]);
                    else for (int c = 0; c < width; c++) row[c] *= Widen<T, TAcc>(from[c]);
                }
            }
        }
        void Lines(int part)
        {
            int first = (int)((long)part * outer / parts), end = (int)((long)(part + 1) * outer / parts);
            int line = first;
            // Four lines side by side: four independent chains of additions, where one line's chain
            // of dependent additions (and conversions) kept the core waiting.
            for (; line + 4 <= end; line += 4)
            {
                var from = X.AsSpan(xAt + line * size, 4 * size);
                var to = Y.AsSpan(line * size, 4 * size);
                TAcc t0 = Widen<T, TAcc>(from[0]), t1 = Widen<T, TAcc>(from[size]), t2 = Widen<T, TAcc>(from[2 * size]), t3 = Widen<T, TAcc>(from[3 * size]);
                for (int k = 0; ; k++)
                {
                    to[k] = Narrow<T, TAcc>(t0);
                    to[size + k] = Narrow<T, TAcc>(t1);
                    to[2 * size + k] = Narrow<T, TAcc>(t2);
                    to[3 * size + k] = Narrow<T, TAcc>(t3);
                    if (k + 1 == size) break;
                    T v0 = from[k + 1], v1 = from[size + k + 1], v2 = from[2 * size + k + 1], v3 = from[3 * size + k + 1];
                    if (sum)
                    {
                        t0 += Widen<T, TAcc>(v0); t1 += Widen<T, TAcc>(v1); t2 += Widen<T, TAcc>(v2); t3 += Widen<T, TAcc>(v3);
                    }
                    else
                    {
                        t0 *= Widen<T, TAcc>(v0); t1 *= Widen<T, TAcc>(v1); t2 *= Widen<T, TAcc>(v2); t3 *= Widen<T, TAcc>(v3);
                    }
                }
            }
            for (; line < end; line++)
            {
                var from = X.AsSpan(xAt + line * size, size);
                var to = Y.AsSpan(line * size, size);
                TAcc total = Widen<T, TAcc>(from[0]);
                to[0] = Narrow<T, TAcc>(total);
                for (int k = 1; k < size; k++)
                {
                    total = sum ? total + Widen<T, TAcc>(from[k]) : total * Widen<T, TAcc>(from[k]);
                    to[k] = Narrow<T, TAcc>(total);
                }
            }
        }
        if (inner == 1)
        {
            parts = Math.Min(parts, outer);
            if (parts == 1) Lines(0);
            else Threading.For(parts, Lines);
        }
        else if (parts == 1) Part(0);
        else Threading.For(parts, Part);
        return y;
    }

    static RawTensor ScanTyped<T>(ScanOp op, RawTensor x, int dim) where T : unmanaged, INumber<T>
    {
        var shape = x.Layout.Shape;
        var y = New<T>(shape);
        if (x.Numel == 0) return y;
        if (shape.Length == 0)
        {
            Data<T>(y)[0] = Data<T>(x)[x.Layout.Offset];   // a 0-d tensor is its own running reduction
            return y;
        }
        var X = Data<T>(x);
        var Y = Data<T>(y);
        int size = shape[dim], sx = x.Layout.Strides[dim], sy = y.Layout.Strides[dim];
        ForEachLine(shape, dim, [StridedWalk.Of(x), StridedWalk.Of(y)], off =>
        {
            T acc = X[off[0]];
            Y[off[1]] = acc;
            for (int k = 1; k < size; k++)
            {
                T v = X[off[0] + k * sx];
                acc = op switch
                {
                    ScanOp.Sum => acc + v,
                    ScanOp.Prod => acc * v,
                    _ => LogAddExp(acc, v),
                };
                Y[off[1] + k * sy] = acc;
            }
        });
        return y;
    }

    // float → double and back without generic math's conversion calls (not inlined, they cost more
    // than the running sum itself); T and TAcc are the same type otherwise.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TAcc Widen<T, TAcc>(T value) where T : unmanaged where TAcc : unmanaged =>
        typeof(T) == typeof(float) && typeof(TAcc) == typeof(double) ? (TAcc)(object)(double)(float)(object)value : Unsafe.As<T, TAcc>(ref value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Narrow<T, TAcc>(TAcc value) where T : unmanaged where TAcc : unmanaged =>
        typeof(T) == typeof(float) && typeof(TAcc) == typeof(double) ? (T)(object)(float)(double)(object)value : Unsafe.As<TAcc, T>(ref value);

    // log(e^a + e^b) without overflow: the larger exponent factored out. Two -inf give -inf (not
    // NaN from -inf - -inf); +inf wins; NaN propagates.
    static T LogAddExp<T>(T a, T b) where T : INumber<T>
    {
        double da = double.CreateTruncating(a), db = double.CreateTruncating(b);
        if (double.IsNaN(da) || double.IsNaN(db)) return T.CreateTruncating(double.NaN);
        double m = Math.Max(da, db);
        if (double.IsInfinity(m)) return T.CreateTruncating(m);
        return T.CreateTruncating(m + double.LogP1(Math.Exp(-Math.Abs(da - db))));
    }
}
