using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// exp, sigmoid and tanh of float spans, vectorised in float. TensorPrimitives computes these
/// through double here (1.1-1.4, 1.3-1.9 and 1.9-2.6 ns an element on the 2-core runner; these take
/// 0.7-0.8, 0.8-1.0 and 0.85-1.0), and they are most of a recurrent layer's pointwise work: an LSTM
/// step takes a sigmoid or tanh of every gate value.
/// Tests hold them to double precision: within 1 ulp for exp over its whole range (subnormal
/// results included), 2 ulp for sigmoid and tanh (tanh keeps its relative accuracy near zero).
/// The generic overloads use TensorPrimitives elsewhere (no AVX2 and FMA, or double).
/// </summary>
internal static class FloatMath
{
    /// <summary>Whether the vectorised paths run on this machine.</summary>
    public static bool IsAccelerated => Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    const float Log2E = 1.44269504088896341f;
    // ln 2 split so that n·Ln2High is exact for |n| < 2^9 (it has 15 significant bits; |n| ≤ 150
    // here): r = x - n·ln2 keeps its low bits.
    const float Ln2High = 0.693145751953125f;
    const float Ln2Low = 1.42860682030941723212e-6f;

    /// <summary>y = exp(x); x and y may be the same span.</summary>
    public static void Exp(ReadOnlySpan<float> x, Span<float> y) => Map<ExpOp>(x, y);

    /// <summary>y = 1 / (1 + exp(-x)); x and y may be the same span.</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y) => Map<SigmoidOp>(x, y);

    /// <summary>y = tanh(x); x and y may be the same span.</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y) => Map<TanhOp>(x, y);

    /// <summary>exp of any floating type: the float path where it runs, TensorPrimitives otherwise.</summary>
    public static void Exp<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && IsAccelerated) Exp(AsFloat(x), AsFloat(y));
        else TensorPrimitives.Exp(x, y);
    }

    /// <summary>sigmoid of any floating type: the float path where it runs, TensorPrimitives otherwise.</summary>
    public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && IsAccelerated) Sigmoid(AsFloat(x), AsFloat(y));
        else TensorPrimitives.Sigmoid(x, y);
    }

    /// <summary>tanh of any floating type: the float path where it runs, TensorPrimitives otherwise.</summary>
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && IsAccelerated) Tanh(AsFloat(x), AsFloat(y));
        else TensorPrimitives.Tanh(x, y);
    }

    // Called only when T is float (the JIT drops the other branch for each T).
    /// <summary>sigmoid of eight floats, as <see cref="Sigmoid(ReadOnlySpan{float}, Span{float})"/> computes each (for fused kernels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Sigmoid(Vector256<float> x) => SigmoidOp.Apply(x);

    /// <summary>tanh of eight floats, as <see cref="Tanh(ReadOnlySpan{float}, Span{float})"/> computes each (for fused kernels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Tanh(Vector256<float> x) => TanhOp.Apply(x);

    static ReadOnlySpan<float> AsFloat<T>(ReadOnlySpan<T> x) => MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(x)), x.Length);

    static Span<float> AsFloat<T>(Span<T> x) => MemoryMarshal.CreateSpan(ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(x)), x.Length);

    interface IOp
    {
        static abstract Vector256<float> Apply(Vector256<float> x);
    }

    struct ExpOp : IOp
    {
        public static Vector256<float> Apply(Vector256<float> x) => ExpVector(x);
    }

    struct SigmoidOp : IOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Apply(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + ExpVector(-x));
    }

    struct TanhOp : IOp
    {
        // tanh x = expm1(2x) / (expm1(2x) + 2): no cancellation near zero, unlike 1 - 2/(e^2x + 1).
        // Past |x| = 9 tanh rounds to ±1 in float; clamping there keeps expm1 finite.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Apply(Vector256<float> x)
        {
            var clamped = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(-9f)), Vector256.Create(9f));
            var e = Expm1Small(clamped + clamped);
            var y = e / (e + Vector256.Create(2f));
            y = Vector256.ConditionalSelect(Vector256.Create(-0f), x, y);       // tanh is odd: x's sign (tanh -0 = -0)
            return Vector256.ConditionalSelect(Vector256.Equals(x, x), y, x);   // NaN stays NaN
        }
    }

    static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IOp
    {
        if (x.Length != y.Length) throw new ArgumentException($"FloatMath: input length {x.Length} and output length {y.Length} differ");
        int n = x.Length, i = 0, w = Vector256<float>.Count;
        ref float src = ref MemoryMarshal.GetReference(x);
        ref float dst = ref MemoryMarshal.GetReference(y);
        for (; i <= n - w; i += w)
            TOp.Apply(Vector256.LoadUnsafe(ref src, (nuint)i)).StoreUnsafe(ref dst, (nuint)i);
        if (i == n) return;
        // The tail through a full vector on the stack, so that it gets the same rounding as the body.
        Span<float> tail = stackalloc float[8];
        x[i..].CopyTo(tail);
        TOp.Apply(Vector256.Create<float>(tail)).CopyTo(tail);
        tail[..(n - i)].CopyTo(y[i..]);
    }

    // exp x = 2^n · e^r with n = round(x·log2 e) and |r| ≤ ln2/2, e^r by its Taylor polynomial
    // (degree 7: the first term left out is below 1e-8 of the result). 2^n is applied as two
    // halves so that results in the subnormal range and up to the overflow to infinity come out
    // right: the clamp only keeps n within what two halves can represent.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> ExpVector(Vector256<float> x)
    {
        var clamped = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(-104f)), Vector256.Create(89f));
        var n = Vector256.Round(clamped * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2High), clamped);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Low), r);
        var q = ExpMinusOne(r);
        var k = Vector256.ConvertToInt32Native(n);
        var half = Vector256.ShiftRightArithmetic(k, 1);
        var result = Vector256.FusedMultiplyAdd(q, PowerOfTwo(half), PowerOfTwo(half)) * PowerOfTwo(k - half);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    // expm1 for |y| ≤ 18 (tanh's range): 2^n·(1 + q) - 1 = 2^n·q + (2^n - 1), exact in the
    // rounding that matters: for n = 0 it is q itself, so small arguments keep their relative accuracy.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Expm1Small(Vector256<float> y)
    {
        var n = Vector256.Round(y * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2High), y);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Low), r);
        var scale = PowerOfTwo(Vector256.ConvertToInt32Native(n));
        return Vector256.FusedMultiplyAdd(scale, ExpMinusOne(r), scale - Vector256<float>.One);
    }

    // e^r - 1 for |r| ≤ ln2/2: r·(1 + r/2 + r²/6 + ... + r⁶/7!), Horner's rule in fused multiply-adds
    // (Estrin's shorter chain measured no faster here and lost an ulp in tanh).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> ExpMinusOne(Vector256<float> r)
    {
        var p = Vector256.Create(1f / 5040);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 720));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 120));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 24));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 6));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(0.5f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        return p * r;
    }

    // 2^k for -126 ≤ k ≤ 127, built in the exponent field.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> PowerOfTwo(Vector256<int> k) =>
        Vector256.ShiftLeft(k + Vector256.Create(127), 23).AsSingle();
}
