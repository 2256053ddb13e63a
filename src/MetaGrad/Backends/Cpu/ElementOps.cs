using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Numerics.Tensors;

namespace MetaGrad.Backends.Cpu;

// Each operation is a struct with a static method, so the generic loops are specialised and
// inlined by the JIT per (dtype, op) pair: one source, no delegate call per element.

/// <summary>
/// An elementwise function of one operand. ApplySpan is the vectorised form over contiguous
/// runs; an operation without one returns false and the kernel loops over Apply.
/// </summary>
internal interface IMap1<TIn, TOut>
{
    static abstract TOut Apply(TIn x);
    static virtual bool ApplySpan(ReadOnlySpan<TIn> x, Span<TOut> y) => false;
}

/// <summary>An elementwise function of two operands, with optional vectorised forms for span·span and span·scalar runs.</summary>
internal interface IMap2<TA, TB, TOut>
{
    static abstract TOut Apply(TA a, TB b);
    static virtual bool ApplySpan(ReadOnlySpan<TA> a, ReadOnlySpan<TB> b, Span<TOut> y) => false;
    static virtual bool ApplySpan(ReadOnlySpan<TA> a, TB b, Span<TOut> y) => false;
    static virtual bool ApplySpan(TA a, ReadOnlySpan<TB> b, Span<TOut> y) => false;
}

internal struct NegOp<T> : IMap1<T, T> where T : INumber<T>
{
    public static T Apply(T x) => -x;
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { TensorPrimitives.Negate(x, y); return true; }
}
internal struct AbsOp<T> : IMap1<T, T> where T : INumber<T>
{
    public static T Apply(T x) => T.Abs(x);
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { TensorPrimitives.Abs(x, y); return true; }
}
internal struct SignOp<T> : IMap1<T, T> where T : INumber<T>
{
    public static T Apply(T x) => T.IsNaN(x) ? x : x > T.Zero ? T.One : x < T.Zero ? -T.One : T.Zero;

    // (x > 0) - (x < 0) from the comparisons' masks, NaN kept where x != x: the element loop's
    // branches on random signs took 18 times libtorch's time.
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y)
    {
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported) return false;
        ref T from = ref MemoryMarshal.GetReference(x), to = ref MemoryMarshal.GetReference(y);
        nuint i = 0, length = (nuint)y.Length, width = (nuint)Vector256<T>.Count;
        var one = Vector256<T>.One;
        for (; i + width <= length; i += width)
        {
            var v = Vector256.LoadUnsafe(ref from, i);
            var sign = (Vector256.GreaterThan(v, Vector256<T>.Zero) & one) - (Vector256.LessThan(v, Vector256<T>.Zero) & one);
            Vector256.ConditionalSelect(Vector256.Equals(v, v), sign, v).StoreUnsafe(ref to, i);
        }
        for (; i < length; i++) Unsafe.Add(ref to, i) = Apply(Unsafe.Add(ref from, i));
        return true;
    }
}
internal struct SquareOp<T> : IMap1<T, T> where T : INumber<T> { public static T Apply(T x) => x * x; }
internal struct ReluOp<T> : IMap1<T, T> where T : INumber<T>
{
    public static T Apply(T x) => x > T.Zero || T.IsNaN(x) ? x : T.Zero;
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { TensorPrimitives.Max(x, T.Zero, y); return true; }
}
internal struct IdentityOp<T> : IMap1<T, T>
{
    public static T Apply(T x) => x;
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { x.CopyTo(y); return true; }
}

internal struct ExpOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.Exp(x);
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { FloatMath.Exp(x, y); return true; }
}
internal struct LogOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.Log(x);
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { TensorPrimitives.Log(x, y); return true; }
}
// .NET's LogP1 and ExpM1 are Log(1 + x) and Exp(x) - 1, which lose the digits of a small x (PyTorch
// uses C's log1p and expm1). Kahan's corrections: the rounding of u = 1 + x (or u = eˣ) is undone
// by the ratio x / (u − 1) (or (u − 1) / log u), exact to a few ulps.
internal struct Log1pOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    // log(u)·x/(u - 1) with u = 1 + x: the factor x/(u - 1) corrects the rounding of u, so that a
    // small x keeps its relative accuracy (Goldberg's log1p).
    public static T Apply(T x)
    {
        T u = T.One + x;
        return u == T.One ? x : T.IsPositiveInfinity(u) ? u : T.Log(u) * (x / (u - T.One));
    }

    // For float, the same formula a block at a time: u, then TensorPrimitives' vectorised log of it
    // in place, then the correction in vectors (the element loop's scalar log was most of its time).
    // Not for double: its vectorised log is up to 4 units in the last place off Math.Log.
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y)
    {
        if (typeof(T) != typeof(float) || !Vector256.IsHardwareAccelerated || x.Overlaps(y)) return false;
        const int Block = 1024;
        var one = Vector256.Create(T.One);
        var infinity = Vector256.Create(T.PositiveInfinity);
        int w = Vector256<T>.Count;
        for (int start = 0; start < x.Length; start += Block)
        {
            var xs = x.Slice(start, Math.Min(Block, x.Length - start));
            var ys = y.Slice(start, xs.Length);
            TensorPrimitives.Add(xs, T.One, ys);
            TensorPrimitives.Log(ys, ys);
            int i = 0;
            for (; i + w <= xs.Length; i += w)
            {
                var v = Vector256.Create(xs.Slice(i, w));
                var u = one + v;
                var corrected = Vector256.Create(ys.Slice(i, w)) * (v / (u - one));
                corrected = Vector256.ConditionalSelect(Vector256.Equals(u, one), v, corrected);
                Vector256.ConditionalSelect(Vector256.Equals(u, infinity), u, corrected).CopyTo(ys.Slice(i, w));
            }
            for (; i < xs.Length; i++) ys[i] = Apply(xs[i]);
        }
        return true;
    }
}
internal struct Expm1Op<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x)
    {
        T u = T.Exp(x);
        if (u == T.One) return x;
        T um1 = u - T.One;
        return um1 == -T.One ? -T.One : T.IsPositiveInfinity(u) ? u : um1 * (x / T.Log(u));
    }
}
internal struct SqrtOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.Sqrt(x);
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { TensorPrimitives.Sqrt(x, y); return true; }
}
internal struct RsqrtOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.One / T.Sqrt(x);
    // The same two roundings as Apply (a root, then a division), one vector pass: the element loop
    // took twice libtorch's time.
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y)
    {
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported) return false;
        ref T from = ref MemoryMarshal.GetReference(x), to = ref MemoryMarshal.GetReference(y);
        nuint i = 0, length = (nuint)y.Length, width = (nuint)Vector256<T>.Count;
        for (; i + width <= length; i += width)
            (Vector256<T>.One / Vector256.Sqrt(Vector256.LoadUnsafe(ref from, i))).StoreUnsafe(ref to, i);
        for (; i < length; i++) Unsafe.Add(ref to, i) = Apply(Unsafe.Add(ref from, i));
        return true;
    }
}
internal struct SinOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.Sin(x);
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y)
    {
        if (typeof(T) == typeof(float) && FloatMath.IsAccelerated) FloatMath.Sin(FloatMath.AsFloat(x), FloatMath.AsFloat(y));
        else TensorPrimitives.Sin(x, y);
        return true;
    }
}
internal struct CosOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.Cos(x);
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y)
    {
        if (typeof(T) == typeof(float) && FloatMath.IsAccelerated) FloatMath.Cos(FloatMath.AsFloat(x), FloatMath.AsFloat(y));
        else TensorPrimitives.Cos(x, y);
        return true;
    }
}
internal struct TanhOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.Tanh(x);
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { FloatMath.Tanh(x, y); return true; }
}
internal struct ReciprocalOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.One / x;
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { TensorPrimitives.Divide(T.One, x, y); return true; }
}
// Rounding by TensorPrimitives' vectors (the element loop took 8 times libtorch's time).
internal struct FloorOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.Floor(x);
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { TensorPrimitives.Floor(x, y); return true; }
}
internal struct CeilOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.Ceiling(x);
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { TensorPrimitives.Ceiling(x, y); return true; }
}
// torch.round rounds half to even, as .NET's default (and TensorPrimitives.Round's) does.
internal struct RoundOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.Round(x);
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { TensorPrimitives.Round(x, y); return true; }
}
internal struct TruncOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.Truncate(x);
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { TensorPrimitives.Truncate(x, y); return true; }
}
internal struct ErfOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x) => T.CreateTruncating(SpecialFunctions.Erf(double.CreateTruncating(x)));

    // float: FloatMath's vectorised rational approximation (3.3e-7; element by element the series
    // took 150 times libtorch's time in a GELU); double keeps the series.
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y)
    {
        if (typeof(T) != typeof(float) || !FloatMath.IsAccelerated) return false;
        FloatMath.Erf(FloatMath.AsFloat(x), FloatMath.AsFloat(y));
        return true;
    }
}

// GELU, exact (x·Φ(x)) or PyTorch's tanh approximation (TForm), and its backward grad·GELU'(x),
// each one pass: float vectorised in FloatMath, double element by element in double.
internal interface IGeluForm { static abstract bool Tanh { get; } }
internal struct ExactGelu : IGeluForm { public static bool Tanh => false; }
internal struct TanhGelu : IGeluForm { public static bool Tanh => true; }

internal struct GeluOp<T, TForm> : IMap1<T, T> where T : IFloatingPointIeee754<T> where TForm : IGeluForm
{
    public static T Apply(T x) => T.CreateTruncating(Gelu.Value(double.CreateTruncating(x), TForm.Tanh));

    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y)
    {
        if (typeof(T) != typeof(float) || !FloatMath.IsAccelerated) return false;
        FloatMath.Gelu(FloatMath.AsFloat(x), FloatMath.AsFloat(y), TForm.Tanh);
        return true;
    }
}
internal struct GeluBackwardOp<T, TForm> : IMap2<T, T, T> where T : IFloatingPointIeee754<T> where TForm : IGeluForm
{
    public static T Apply(T grad, T x) => grad * T.CreateTruncating(Gelu.Slope(double.CreateTruncating(x), TForm.Tanh));

    public static bool ApplySpan(ReadOnlySpan<T> grad, ReadOnlySpan<T> x, Span<T> y)
    {
        if (typeof(T) != typeof(float) || !FloatMath.IsAccelerated) return false;
        FloatMath.GeluBackward(FloatMath.AsFloat(grad), FloatMath.AsFloat(x), FloatMath.AsFloat(y), TForm.Tanh);
        return true;
    }
}

// GELU and its slope in double (the element loops' and float64's path).
internal static class Gelu
{
    const double SqrtTwoOverPi = 0.79788456080286535588, TanhCubic = 0.044715;

    public static double Value(double x, bool tanh) =>
        tanh ? 0.5 * x * (1 + Math.Tanh(SqrtTwoOverPi * (x + TanhCubic * x * x * x)))
             : 0.5 * x * (1 + SpecialFunctions.Erf(x / Math.Sqrt(2)));

    public static double Slope(double x, bool tanh)
    {
        if (!tanh) return 0.5 * (1 + SpecialFunctions.Erf(x / Math.Sqrt(2))) + x * Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);
        double t = Math.Tanh(SqrtTwoOverPi * (x + TanhCubic * x * x * x));
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SqrtTwoOverPi * (1 + 3 * TanhCubic * x * x);
    }
}
internal struct SigmoidOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T>
{
    // Never exponentiate a large positive number: exp(-|x|) is always in (0, 1].
    public static bool ApplySpan(ReadOnlySpan<T> x, Span<T> y) { FloatMath.Sigmoid(x, y); return true; }

    public static T Apply(T x)
    {
        if (x >= T.Zero) return T.One / (T.One + T.Exp(-x));
        T e = T.Exp(x);
        return e / (T.One + e);
    }
}

internal struct AddOp<T> : IMap2<T, T, T> where T : INumber<T>
{
    public static T Apply(T a, T b) => a + b;
    public static bool ApplySpan(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => StreamedArithmetic.Apply<T, StreamedArithmetic.Add>(a, b, y);
    public static bool ApplySpan(ReadOnlySpan<T> a, T b, Span<T> y) => StreamedArithmetic.Apply<T, StreamedArithmetic.Add>(a, b, y);
    public static bool ApplySpan(T a, ReadOnlySpan<T> b, Span<T> y) => StreamedArithmetic.Apply<T, StreamedArithmetic.Add>(a, b, y);
}
internal struct SubOp<T> : IMap2<T, T, T> where T : INumber<T>
{
    public static T Apply(T a, T b) => a - b;
    public static bool ApplySpan(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => StreamedArithmetic.Apply<T, StreamedArithmetic.Subtract>(a, b, y);
    public static bool ApplySpan(ReadOnlySpan<T> a, T b, Span<T> y) => StreamedArithmetic.Apply<T, StreamedArithmetic.Subtract>(a, b, y);
    public static bool ApplySpan(T a, ReadOnlySpan<T> b, Span<T> y) => StreamedArithmetic.Apply<T, StreamedArithmetic.Subtract>(a, b, y);
}
internal struct MulOp<T> : IMap2<T, T, T> where T : INumber<T>
{
    public static T Apply(T a, T b) => a * b;
    public static bool ApplySpan(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => StreamedArithmetic.Apply<T, StreamedArithmetic.Multiply>(a, b, y);
    public static bool ApplySpan(ReadOnlySpan<T> a, T b, Span<T> y) => StreamedArithmetic.Apply<T, StreamedArithmetic.Multiply>(a, b, y);
    public static bool ApplySpan(T a, ReadOnlySpan<T> b, Span<T> y) => StreamedArithmetic.Apply<T, StreamedArithmetic.Multiply>(a, b, y);
}
internal struct DivOp<T> : IMap2<T, T, T> where T : INumber<T>
{
    public static T Apply(T a, T b) => a / b;
    public static bool ApplySpan(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => StreamedArithmetic.Apply<T, StreamedArithmetic.Divide>(a, b, y);
    public static bool ApplySpan(ReadOnlySpan<T> a, T b, Span<T> y) => StreamedArithmetic.Apply<T, StreamedArithmetic.Divide>(a, b, y);
    public static bool ApplySpan(T a, ReadOnlySpan<T> b, Span<T> y) => StreamedArithmetic.Apply<T, StreamedArithmetic.Divide>(a, b, y);
}
// torch.maximum and torch.minimum propagate NaN: a is taken where it wins or is NaN (a != a), else
// b (NaN too where b is). Vectorised by the same rule; the element loop ran at 7 ns an element.
internal struct MaximumOp<T> : IMap2<T, T, T> where T : unmanaged, INumber<T>
{
    public static T Apply(T a, T b) => T.IsNaN(a) || a > b ? a : b;
    public static bool ApplySpan(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => Extremum<T>.Spans(a, b, y, max: true);
    public static bool ApplySpan(ReadOnlySpan<T> a, T b, Span<T> y) => Extremum<T>.WithValue(a, b, y, max: true, valueFirst: false);
    public static bool ApplySpan(T a, ReadOnlySpan<T> b, Span<T> y) => Extremum<T>.WithValue(b, a, y, max: true, valueFirst: true);
}
internal struct MinimumOp<T> : IMap2<T, T, T> where T : unmanaged, INumber<T>
{
    public static T Apply(T a, T b) => T.IsNaN(a) || a < b ? a : b;
    public static bool ApplySpan(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => Extremum<T>.Spans(a, b, y, max: false);
    public static bool ApplySpan(ReadOnlySpan<T> a, T b, Span<T> y) => Extremum<T>.WithValue(a, b, y, max: false, valueFirst: false);
    public static bool ApplySpan(T a, ReadOnlySpan<T> b, Span<T> y) => Extremum<T>.WithValue(b, a, y, max: false, valueFirst: true);
}

static class Extremum<T> where T : unmanaged, INumber<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<T> Pick(Vector256<T> a, Vector256<T> b, bool max)
    {
        var wins = max ? Vector256.GreaterThan(a, b) : Vector256.LessThan(a, b);
        return Vector256.ConditionalSelect(wins | ~Vector256.Equals(a, a), a, b);
    }

    static T Scalar(T a, T b, bool max) => max ? MaximumOp<T>.Apply(a, b) : MinimumOp<T>.Apply(a, b);

    public static bool Spans(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y, bool max)
    {
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported) return false;
        ref T pa = ref MemoryMarshal.GetReference(a), pb = ref MemoryMarshal.GetReference(b), to = ref MemoryMarshal.GetReference(y);
        nuint i = 0, length = (nuint)y.Length, width = (nuint)Vector256<T>.Count;
        for (; i + width <= length; i += width)
            Pick(Vector256.LoadUnsafe(ref pa, i), Vector256.LoadUnsafe(ref pb, i), max).StoreUnsafe(ref to, i);
        for (; i < length; i++) Unsafe.Add(ref to, i) = Scalar(Unsafe.Add(ref pa, i), Unsafe.Add(ref pb, i), max);
        return true;
    }

    // The span's values against one value, which is the first operand when valueFirst (order
    // matters for NaN: the first operand's NaN is the one kept).
    public static bool WithValue(ReadOnlySpan<T> span, T value, Span<T> y, bool max, bool valueFirst)
    {
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported) return false;
        ref T ps = ref MemoryMarshal.GetReference(span), to = ref MemoryMarshal.GetReference(y);
        nuint i = 0, length = (nuint)y.Length, width = (nuint)Vector256<T>.Count;
        var v = Vector256.Create(value);
        for (; i + width <= length; i += width)
        {
            var s = Vector256.LoadUnsafe(ref ps, i);
            (valueFirst ? Pick(v, s, max) : Pick(s, v, max)).StoreUnsafe(ref to, i);
        }
        for (; i < length; i++)
        {
            T s = Unsafe.Add(ref ps, i);
            Unsafe.Add(ref to, i) = valueFirst ? Scalar(value, s, max) : Scalar(s, value, max);
        }
        return true;
    }
}
// ReLU's backward as one pass: the comparison's all-ones lanes select the gradient by a bitwise and.
// Past StreamedArithmetic.NonTemporalBytes the output is stored around the caches, as additions
// are (an 8 MB gradient's lines were otherwise read in before being overwritten: 1.10 against an
// addition's 0.93 ms on one Intel Xeon core).
internal unsafe struct ThresholdBackwardOp<T> : IMap2<T, T, T> where T : unmanaged, INumber<T>
{
    public static T Apply(T grad, T output) => output > T.Zero ? grad : T.Zero;

    public static bool ApplySpan(ReadOnlySpan<T> grad, ReadOnlySpan<T> output, Span<T> y)
    {
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported) return false;
        fixed (T* g = grad, o = output, to = y)
        {
            int i = StreamedArithmetic.Head(to, y.Length), length = y.Length, width = Vector256<T>.Count;
            for (int j = 0; j < i; j++) to[j] = Apply(g[j], o[j]);
            bool bypass = (long)length * sizeof(T) >= StreamedArithmetic.NonTemporalBytes;
            for (; i + width <= length; i += width)
            {
                var v = Vector256.GreaterThan(Vector256.Load(o + i), Vector256<T>.Zero) & Vector256.Load(g + i);
                if (bypass) v.StoreAlignedNonTemporal(to + i);
                else v.StoreAligned(to + i);
            }
            for (; i < length; i++) to[i] = Apply(g[i], o[i]);
            if (bypass) StreamedArithmetic.Fence();
        }
        return true;
    }

    // One gradient for every element (a mean's or sum's, expanded): the comparison selects it.
    public static bool ApplySpan(T grad, ReadOnlySpan<T> output, Span<T> y)
    {
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported) return false;
        fixed (T* o = output, to = y)
        {
            int i = StreamedArithmetic.Head(to, y.Length), length = y.Length, width = Vector256<T>.Count;
            for (int j = 0; j < i; j++) to[j] = Apply(grad, o[j]);
            bool bypass = (long)length * sizeof(T) >= StreamedArithmetic.NonTemporalBytes;
            var value = Vector256.Create(grad);
            for (; i + width <= length; i += width)
            {
                var v = Vector256.GreaterThan(Vector256.Load(o + i), Vector256<T>.Zero) & value;
                if (bypass) v.StoreAlignedNonTemporal(to + i);
                else v.StoreAligned(to + i);
            }
            for (; i < length; i++) to[i] = Apply(grad, o[i]);
            if (bypass) StreamedArithmetic.Fence();
        }
        return true;
    }
}
internal struct PowFloatOp<T> : IMap2<T, T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T a, T b) => T.Pow(a, b);

    // A constant exponent: the ones PyTorch computes without pow (2, 3, 0.5, -0.5, -1, -2) as
    // products, roots and reciprocals, vectorised (x.Pow(2) element by element took 45 times
    // libtorch's time); any other by pow, element by element. Each pass reads only what it writes
    // or what the pass before wrote, so y may be a itself (an in-place power).
    public static bool ApplySpan(ReadOnlySpan<T> a, T b, Span<T> y)
    {
        if (b == T.CreateTruncating(2)) TensorPrimitives.Multiply(a, a, y);
        else if (b == T.CreateTruncating(3)) Cube(a, y);
        else if (b == T.CreateTruncating(0.5)) TensorPrimitives.Sqrt(a, y);
        else if (b == T.CreateTruncating(-0.5)) { TensorPrimitives.Sqrt(a, y); TensorPrimitives.Divide(T.One, y, y); }
        else if (b == -T.One) TensorPrimitives.Divide(T.One, a, y);
        else if (b == T.CreateTruncating(-2)) { TensorPrimitives.Multiply(a, a, y); TensorPrimitives.Divide(T.One, y, y); }
        else return false;
        return true;
    }

    static void Cube(ReadOnlySpan<T> a, Span<T> y)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (; i <= y.Length - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var x = Vector256.Create(a.Slice(i, Vector256<T>.Count));
                (x * x * x).CopyTo(y.Slice(i, Vector256<T>.Count));
            }
        for (; i < y.Length; i++) y[i] = a[i] * a[i] * a[i];
    }
}
internal struct PowIntOp<T> : IMap2<T, T, T> where T : IBinaryInteger<T>
{
    public static T Apply(T a, T b)
    {
        // A negative exponent truncates 1/a^|b| toward zero, as PyTorch's integer pow does: only
        // 1 and -1 keep a non-zero result.
        if (b < T.Zero) return a == T.One ? T.One : a == -T.One ? (T.IsOddInteger(b) ? -T.One : T.One) : T.Zero;
        T result = T.One;
        while (b > T.Zero)
        {
            if (T.IsOddInteger(b)) result *= a;
            a *= a;
            b >>= 1;
        }
        return result;
    }
}

// The operators, not Equals: .NET's double.NaN.Equals(double.NaN) is true, IEEE's NaN == NaN false (as in PyTorch).
internal struct EqOp<T> : IMap2<T, T, bool> where T : INumber<T> { public static bool Apply(T a, T b) => a == b; }
internal struct NeOp<T> : IMap2<T, T, bool> where T : INumber<T> { public static bool Apply(T a, T b) => a != b; }
internal struct LtOp<T> : IMap2<T, T, bool> where T : INumber<T> { public static bool Apply(T a, T b) => a < b; }
internal struct LeOp<T> : IMap2<T, T, bool> where T : INumber<T> { public static bool Apply(T a, T b) => a <= b; }
internal struct GtOp<T> : IMap2<T, T, bool> where T : INumber<T> { public static bool Apply(T a, T b) => a > b; }
internal struct GeOp<T> : IMap2<T, T, bool> where T : INumber<T> { public static bool Apply(T a, T b) => a >= b; }
internal struct AndOp : IMap2<bool, bool, bool> { public static bool Apply(bool a, bool b) => a & b; }
internal struct OrOp : IMap2<bool, bool, bool> { public static bool Apply(bool a, bool b) => a | b; }
internal struct XorOp : IMap2<bool, bool, bool> { public static bool Apply(bool a, bool b) => a ^ b; }
internal struct NotOp : IMap1<bool, bool> { public static bool Apply(bool x) => !x; }

/// <summary>
/// Element conversion with PyTorch's rules: floats to integers truncate toward zero, anything
/// non-zero is true. Integers travel through long and floats through double, so int64 stays exact.
/// </summary>
internal struct CastOp<TIn, TOut> : IMap1<TIn, TOut> where TIn : unmanaged where TOut : unmanaged
{
    public static TOut Apply(TIn x)
    {
        if (typeof(TIn) == typeof(TOut)) return Unsafe.As<TIn, TOut>(ref x);
        if (typeof(TIn) == typeof(float)) return FromDouble(Unsafe.As<TIn, float>(ref x));
        if (typeof(TIn) == typeof(double)) return FromDouble(Unsafe.As<TIn, double>(ref x));
        if (typeof(TIn) == typeof(long)) return FromLong(Unsafe.As<TIn, long>(ref x));
        if (typeof(TIn) == typeof(int)) return FromLong(Unsafe.As<TIn, int>(ref x));
        if (typeof(TIn) == typeof(Half)) return FromDouble((double)Unsafe.As<TIn, Half>(ref x));
        if (typeof(TIn) == typeof(BFloat16) && typeof(TOut) == typeof(float))
        {
            // The exact bit shift, which through double would quiet a signalling NaN.
            float f = (float)Unsafe.As<TIn, BFloat16>(ref x);
            return Unsafe.As<float, TOut>(ref f);
        }
        if (typeof(TIn) == typeof(BFloat16)) return FromDouble((double)Unsafe.As<TIn, BFloat16>(ref x));
        if (typeof(TIn) == typeof(byte)) return FromLong(Unsafe.As<TIn, byte>(ref x));
        if (typeof(TIn) == typeof(sbyte)) return FromLong(Unsafe.As<TIn, sbyte>(ref x));
        if (typeof(TIn) == typeof(short)) return FromLong(Unsafe.As<TIn, short>(ref x));
        if (typeof(TIn) == typeof(ushort)) return FromLong(Unsafe.As<TIn, ushort>(ref x));
        if (typeof(TIn) == typeof(bool)) return FromLong(Unsafe.As<TIn, bool>(ref x) ? 1 : 0);
        throw new NotSupportedException($"Cast: no conversion from {typeof(TIn).Name}");
    }

    // Float32 ↔ Float16 and BFloat16 runs, the conversions around every half operation, vectorised
    // (TensorPrimitives' F16C forms; BFloat16Conversion): the element loop's managed Half
    // conversion ran at about 1 GB/s. CastFastPathTests holds them equal to Apply.
    public static bool ApplySpan(ReadOnlySpan<TIn> x, Span<TOut> y)
    {
        if (typeof(TIn) == typeof(float) && typeof(TOut) == typeof(Half))
        {
            TensorPrimitives.ConvertToHalf(MemoryMarshal.Cast<TIn, float>(x), MemoryMarshal.Cast<TOut, Half>(y));
            return true;
        }
        if (typeof(TIn) == typeof(Half) && typeof(TOut) == typeof(float))
        {
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<TIn, Half>(x), MemoryMarshal.Cast<TOut, float>(y));
            return true;
        }
        if (typeof(TIn) == typeof(float) && typeof(TOut) == typeof(BFloat16))
        {
            BFloat16Conversion.FromSingle(MemoryMarshal.Cast<TIn, float>(x), MemoryMarshal.Cast<TOut, BFloat16>(y));
            return true;
        }
        if (typeof(TIn) == typeof(BFloat16) && typeof(TOut) == typeof(float))
        {
            BFloat16Conversion.ToSingle(MemoryMarshal.Cast<TIn, BFloat16>(x), MemoryMarshal.Cast<TOut, float>(y));
            return true;
        }
        if (typeof(TIn) == typeof(bool) && typeof(TOut) == typeof(float) && Avx2.IsSupported)
        {
            MaskToSingle(MemoryMarshal.Cast<TIn, byte>(x), MemoryMarshal.Cast<TOut, float>(y));
            return true;
        }
        if (typeof(TIn) == typeof(float) && typeof(TOut) == typeof(double) && Vector256.IsHardwareAccelerated)
        {
            Widen(MemoryMarshal.Cast<TIn, float>(x), MemoryMarshal.Cast<TOut, double>(y));
            return true;
        }
        if (typeof(TIn) == typeof(double) && typeof(TOut) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            Narrow(MemoryMarshal.Cast<TIn, double>(x), MemoryMarshal.Cast<TOut, float>(y));
            return true;
        }
        return false;
    }

    // Float ↔ double eight values at a time, the conversions the scalar loop makes one at a time
    // through generic conversions: exact one way, rounded to nearest the other.
    static void Widen(ReadOnlySpan<float> x, Span<double> y)
    {
        int i = 0;
        for (; i + 8 <= x.Length; i += 8)
        {
            var (lower, upper) = Vector256.Widen(Vector256.Create(x.Slice(i, 8)));
            lower.CopyTo(y.Slice(i, 4));
            upper.CopyTo(y.Slice(i + 4, 4));
        }
        for (; i < x.Length; i++) y[i] = x[i];
    }

    static void Narrow(ReadOnlySpan<double> x, Span<float> y)
    {
        int i = 0;
        for (; i + 8 <= x.Length; i += 8)
            Vector256.Narrow(Vector256.Create(x.Slice(i, 4)), Vector256.Create(x.Slice(i + 4, 4))).CopyTo(y.Slice(i, 8));
        for (; i < x.Length; i++) y[i] = (float)x[i];
    }

    // A mask made float (dropout's, an accuracy's): eight bytes widened to lanes and converted at a
    // time, where the element loop took 1.8 times libtorch's time. A bool's byte is 0 or 1.
    static unsafe void MaskToSingle(ReadOnlySpan<byte> mask, Span<float> y)
    {
        fixed (byte* m = mask) fixed (float* to = y)
        {
            int i = 0;
            for (; i + 8 <= y.Length; i += 8)
                Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(m + i)).Store(to + i);
            for (; i < y.Length; i++) to[i] = m[i] != 0 ? 1f : 0f;
        }
    }

    static TOut FromDouble(double v)
    {
        if (typeof(TOut) == typeof(float)) { float f = (float)v; return Unsafe.As<float, TOut>(ref f); }
        if (typeof(TOut) == typeof(double)) return Unsafe.As<double, TOut>(ref v);
        if (typeof(TOut) == typeof(bool)) { bool b = v != 0; return Unsafe.As<bool, TOut>(ref b); }
        // Through float, as c10::Half and c10::BFloat16 are built from a float (a double rounds twice, as there).
        if (typeof(TOut) == typeof(Half)) { Half h = (Half)(float)v; return Unsafe.As<Half, TOut>(ref h); }
        if (typeof(TOut) == typeof(BFloat16)) { BFloat16 h = (BFloat16)(float)v; return Unsafe.As<BFloat16, TOut>(ref h); }
        // Integers truncate toward zero through int64, then wrap: in range this is C's cast, as in
        // PyTorch; out of range C leaves it undefined and x86 PyTorch builds wrap likewise.
        return FromLong(double.IsNaN(v) ? long.MinValue : (long)v);
    }

    static TOut FromLong(long v)
    {
        if (typeof(TOut) == typeof(long)) return Unsafe.As<long, TOut>(ref v);
        if (typeof(TOut) == typeof(int)) { int i = unchecked((int)v); return Unsafe.As<int, TOut>(ref i); }
        if (typeof(TOut) == typeof(bool)) { bool b = v != 0; return Unsafe.As<bool, TOut>(ref b); }
        if (typeof(TOut) == typeof(float)) { float f = v; return Unsafe.As<float, TOut>(ref f); }
        if (typeof(TOut) == typeof(double)) { double d = v; return Unsafe.As<double, TOut>(ref d); }
        // Integers wrap (uint8 arithmetic is modulo 256, as in PyTorch).
        if (typeof(TOut) == typeof(byte)) { byte b = unchecked((byte)v); return Unsafe.As<byte, TOut>(ref b); }
        if (typeof(TOut) == typeof(sbyte)) { sbyte b = unchecked((sbyte)v); return Unsafe.As<sbyte, TOut>(ref b); }
        if (typeof(TOut) == typeof(short)) { short s = unchecked((short)v); return Unsafe.As<short, TOut>(ref s); }
        if (typeof(TOut) == typeof(ushort)) { ushort s = unchecked((ushort)v); return Unsafe.As<ushort, TOut>(ref s); }
        if (typeof(TOut) == typeof(Half)) { Half h = (Half)(float)v; return Unsafe.As<Half, TOut>(ref h); }
        if (typeof(TOut) == typeof(BFloat16)) { BFloat16 h = (BFloat16)(float)v; return Unsafe.As<BFloat16, TOut>(ref h); }
        throw new NotSupportedException($"Cast: no conversion to {typeof(TOut).Name}");
    }
}

/// <summary>Special functions .NET's math library lacks.</summary>
internal static class SpecialFunctions
{

    /// <summary>
    /// The error function to about 1e-15: a series of positive terms below |x| = 3 (no cancellation),
    /// a continued fraction for erfc above it, and ±1 beyond 6 where erfc underflows double's epsilon.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        if (ax > 6) return Math.Sign(x);
        double result;
        if (ax < 3)
        {
            // erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n (2x^2)^n x / (1*3*...*(2n+1))
            double term = ax, sum = ax, x2 = 2 * ax * ax;
            for (int n = 1; n < 200 && term > 1e-17 * sum; n++)
            {
                term *= x2 / (2 * n + 1);
                sum += term;
            }
            result = 2 / Math.Sqrt(Math.PI) * Math.Exp(-ax * ax) * sum;
        }
        else
        {
            // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated bottom-up.
            double f = ax;
            for (int n = 60; n >= 1; n--) f = ax + n / 2.0 / f;
            result = 1 - Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / f;
        }
        return x < 0 ? -result : result;
    }
}
