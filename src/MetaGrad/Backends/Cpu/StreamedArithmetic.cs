using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// Large float sums, differences, products and quotients on AMD processors, stored around the
/// caches with 256-bit vectors. TensorPrimitives stores a large output around the caches too, but on
/// the Zen 5 kind its 512-bit path streamed 1M sums at 211 µs into one buffer and 348 µs into
/// buffers taken in turn (a tensor's result is a new pooled buffer each time), where 256-bit
/// non-temporal stores took 129 and 154 µs; with AVX-512 off, its 256-bit path took 155 and 202 µs
/// (bench/results/TUNING.md). Each element is the same one operation, so the bits are the same.
/// </summary>
internal static unsafe class StreamedArithmetic
{
    /// <summary>Outputs from this size on are stored around the caches (TensorPrimitives' own threshold; ReLU's backward uses it too).</summary>
    internal const int NonTemporalBytes = 256 * 1024;

    /// <summary>Where this path is taken: AMD processors with 256-bit vectors (measured on Zen 5 only).</summary>
    internal static readonly bool Enabled = Processor.IsAmd && Vector256.IsHardwareAccelerated && Sse.IsSupported;

    /// <summary>One arithmetic operation, on a vector and on one value alike, and TensorPrimitives' form of it for every other case.</summary>
    internal interface IOperation
    {
        static abstract Vector256<float> Apply(Vector256<float> a, Vector256<float> b);
        static abstract float Apply(float a, float b);
        static abstract void Primitive<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T>;
        static abstract void Primitive<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : INumber<T>;
        static abstract void Primitive<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T>;
    }

    internal struct Add : IOperation
    {
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a + b;
        public static float Apply(float a, float b) => a + b;
        public static void Primitive<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T> => TensorPrimitives.Add(a, b, y);
        public static void Primitive<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : INumber<T> => TensorPrimitives.Add(a, b, y);
        public static void Primitive<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T> => TensorPrimitives.Add(b, a, y);
    }

    internal struct Subtract : IOperation
    {
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a - b;
        public static float Apply(float a, float b) => a - b;
        public static void Primitive<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T> => TensorPrimitives.Subtract(a, b, y);
        public static void Primitive<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : INumber<T> => TensorPrimitives.Subtract(a, b, y);
        public static void Primitive<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T> => TensorPrimitives.Subtract(a, b, y);
    }

    internal struct Multiply : IOperation
    {
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a * b;
        public static float Apply(float a, float b) => a * b;
        public static void Primitive<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T> => TensorPrimitives.Multiply(a, b, y);
        public static void Primitive<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : INumber<T> => TensorPrimitives.Multiply(a, b, y);
        public static void Primitive<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T> => TensorPrimitives.Multiply(b, a, y);
    }

    internal struct Divide : IOperation
    {
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a / b;
        public static float Apply(float a, float b) => a / b;
        public static void Primitive<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T> => TensorPrimitives.Divide(a, b, y);
        public static void Primitive<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : INumber<T> => TensorPrimitives.Divide(a, b, y);
        public static void Primitive<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T> => TensorPrimitives.Divide(a, b, y);
    }

    /// <summary>y = a op b: streamed where this path is taken (float, large, AMD), else TensorPrimitives'.</summary>
    public static bool Apply<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T> where TOp : IOperation
    {
        if (!TryApply<T, TOp>(a, b, y)) TOp.Primitive(a, b, y);
        return true;
    }

    /// <inheritdoc cref="Apply{T, TOp}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>
    public static bool Apply<T, TOp>(ReadOnlySpan<T> a, T b, Span<T> y) where T : INumber<T> where TOp : IOperation
    {
        if (!TryApply<T, TOp>(a, b, y)) TOp.Primitive(a, b, y);
        return true;
    }

    /// <inheritdoc cref="Apply{T, TOp}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>
    public static bool Apply<T, TOp>(T a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T> where TOp : IOperation
    {
        if (!TryApply<T, TOp>(a, b, y)) TOp.Primitive(a, b, y);
        return true;
    }

    /// <summary>y = a op b for a large y that overlaps neither input but at its start (in place); false where this path is not taken.</summary>
    public static bool TryApply<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) where TOp : IOperation
    {
        if (!Taken(y) || !Separate(a, y) || !Separate(b, y)) return false;
        fixed (float* pa = a, pb = b, py = y)
            Run<TOp, BothSpans>(new Spans(pa, pb, 0f, 0f), py, y.Length);
        return true;
    }

    /// <summary>y = a op b with one value b.</summary>
    public static bool TryApply<TOp>(ReadOnlySpan<float> a, float b, Span<float> y) where TOp : IOperation
    {
        if (!Taken(y) || !Separate(a, y)) return false;
        fixed (float* pa = a, py = y)
            Run<TOp, ValueSecond>(new Spans(pa, null, 0f, b), py, y.Length);
        return true;
    }

    /// <summary>y = a op b with one value a.</summary>
    public static bool TryApply<TOp>(float a, ReadOnlySpan<float> b, Span<float> y) where TOp : IOperation
    {
        if (!Taken(y) || !Separate(b, y)) return false;
        fixed (float* pb = b, py = y)
            Run<TOp, ValueFirst>(new Spans(null, pb, a, 0f), py, y.Length);
        return true;
    }

    /// <summary>The same for spans of any T: taken only when T is float (a test the JIT folds away in each instantiation).</summary>
    public static bool TryApply<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where TOp : IOperation =>
        typeof(T) == typeof(float) && TryApply<TOp>(FloatMath.AsFloat(a), FloatMath.AsFloat(b), FloatMath.AsFloat(y));

    /// <inheritdoc cref="TryApply{T, TOp}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>
    public static bool TryApply<T, TOp>(ReadOnlySpan<T> a, T b, Span<T> y) where TOp : IOperation =>
        typeof(T) == typeof(float) && TryApply<TOp>(FloatMath.AsFloat(a), Unsafe.As<T, float>(ref b), FloatMath.AsFloat(y));

    /// <inheritdoc cref="TryApply{T, TOp}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>
    public static bool TryApply<T, TOp>(T a, ReadOnlySpan<T> b, Span<T> y) where TOp : IOperation =>
        typeof(T) == typeof(float) && TryApply<TOp>(Unsafe.As<T, float>(ref a), FloatMath.AsFloat(b), FloatMath.AsFloat(y));

    static bool Taken(Span<float> y) => Enabled && (long)y.Length * sizeof(float) >= NonTemporalBytes;

    /// <summary>Elements before y's first 32-byte boundary (aligned stores from there), at most length.</summary>
    internal static int Head<T>(T* y, int length) where T : unmanaged => (int)Math.Min(length, ((32 - ((nint)y & 31)) & 31) / sizeof(T));

    /// <summary>Non-temporal stores are weakly ordered: fenced before another thread may read them.</summary>
    internal static void Fence()
    {
        if (Sse.IsSupported) Sse.StoreFence();
    }

    // Reading x[i] after writing y[i - k] is safe only when the two start together (or never meet).
    static bool Separate(ReadOnlySpan<float> x, Span<float> y) => !x.Overlaps(y, out int offset) || offset == 0;

    // The operands: two spans, or a span and one value on either side.
    readonly struct Spans(float* a, float* b, float valueA, float valueB)
    {
        public readonly float* A = a, B = b;
        public readonly float ValueA = valueA, ValueB = valueB;
    }

    interface IOperands
    {
        static abstract Vector256<float> A(in Spans s, nint i);
        static abstract Vector256<float> B(in Spans s, nint i);
        static abstract float AOne(in Spans s, nint i);
        static abstract float BOne(in Spans s, nint i);
    }

    struct BothSpans : IOperands
    {
        public static Vector256<float> A(in Spans s, nint i) => Vector256.Load(s.A + i);
        public static Vector256<float> B(in Spans s, nint i) => Vector256.Load(s.B + i);
        public static float AOne(in Spans s, nint i) => s.A[i];
        public static float BOne(in Spans s, nint i) => s.B[i];
    }

    struct ValueSecond : IOperands
    {
        public static Vector256<float> A(in Spans s, nint i) => Vector256.Load(s.A + i);
        public static Vector256<float> B(in Spans s, nint i) => Vector256.Create(s.ValueB);
        public static float AOne(in Spans s, nint i) => s.A[i];
        public static float BOne(in Spans s, nint i) => s.ValueB;
    }

    struct ValueFirst : IOperands
    {
        public static Vector256<float> A(in Spans s, nint i) => Vector256.Create(s.ValueA);
        public static Vector256<float> B(in Spans s, nint i) => Vector256.Load(s.B + i);
        public static float AOne(in Spans s, nint i) => s.ValueA;
        public static float BOne(in Spans s, nint i) => s.B[i];
    }

    // Values one by one up to y's first 32-byte boundary, then aligned vectors stored around the
    // caches, then the rest one by one, then the fence.
    static void Run<TOp, TOperands>(in Spans s, float* y, int length) where TOp : IOperation where TOperands : IOperands
    {
        nint n = length, i = 0, head = Head(y, length);
        for (; i < head; i++) y[i] = TOp.Apply(TOperands.AOne(s, i), TOperands.BOne(s, i));
        for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
            TOp.Apply(TOperands.A(s, i), TOperands.B(s, i)).StoreAlignedNonTemporal(y + i);
        for (; i < n; i++) y[i] = TOp.Apply(TOperands.AOne(s, i), TOperands.BOne(s, i));
        Fence();
    }
}
