using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// A vector of floats of either width (<see cref="Floats8"/>: 256 bits, <see cref="Floats16"/>: 512),
/// so that a float kernel written once against it runs at the width the processor has. The
/// operations are those of the kernels here, each the same instruction per lane at both widths:
/// a kernel gives the same bits at either width.
/// </summary>
internal interface IFloatVector<TV> : IVectorLanes<TV, float> where TV : struct, IFloatVector<TV>
{
    /// <summary>x·y + addend, rounded once.</summary>
    static abstract TV Fma(TV x, TV y, TV addend);
    /// <summary>x limited to [min, max] (the hardware's min and max: a NaN comes out as max).</summary>
    static abstract TV Clamp(TV x, float min, float max);
    /// <summary>Rounded to the nearest integer, ties to even.</summary>
    static abstract TV Round(TV x);
    /// <summary>
    /// x·2^n for integral n in [-150, 128] and x in [0.5, 2], rounded once (into the subnormal range
    /// too): AVX-512's scalef in one instruction, else through two normal factors 2^⌊n/2⌋ and
    /// 2^(n − ⌊n/2⌋), the first product exact. The same bits either way.
    /// </summary>
    static abstract TV ScaleByPowerOfTwo(TV x, TV n);
    /// <summary>magnitude with the sign bit of sign.</summary>
    static abstract TV CopySign(TV magnitude, TV sign);
    /// <summary>y where x is a number, x (its NaN) where it is not.</summary>
    static abstract TV KeepNaN(TV x, TV y);
    /// <summary>Lane by lane, ifTrue where a &gt; b, else ifFalse (a NaN on either side compares false).</summary>
    static abstract TV WhereGreater(TV a, TV b, TV ifTrue, TV ifFalse);
    /// <summary>The hardware's lane-by-lane max: where either lane is NaN, which comes out is unspecified.</summary>
    static abstract TV Max(TV x, TV y);
    /// <summary>The sum of the lanes.</summary>
    float HorizontalSum();
    /// <summary>The largest lane, by the hardware's max (a NaN lane may or may not come out).</summary>
    float HorizontalMax();
}

/// <summary>Eight floats in a <see cref="Vector256{T}"/> (AVX2 with FMA).</summary>
internal readonly struct Floats8(Vector256<float> value) : IFloatVector<Floats8>
{
    public readonly Vector256<float> Value = value;
    public static int Count => Vector256<float>.Count;
    public static Floats8 Create(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats8 Load(ref float source, nuint index) => new(Vector256.LoadUnsafe(ref source, index));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ref float destination, nuint index) => Value.StoreUnsafe(ref destination, index);
    public static Floats8 operator +(Floats8 x, Floats8 y) => new(x.Value + y.Value);
    public static Floats8 operator -(Floats8 x, Floats8 y) => new(x.Value - y.Value);
    public static Floats8 operator -(Floats8 x) => new(-x.Value);
    public static Floats8 operator *(Floats8 x, Floats8 y) => new(x.Value * y.Value);
    public static Floats8 operator /(Floats8 x, Floats8 y) => new(x.Value / y.Value);
    public static Floats8 Sqrt(Floats8 x) => new(Vector256.Sqrt(x.Value));
    public static Floats8 NaNOrLarger(Floats8 x, Floats8 y) =>
        new(Vector256.ConditionalSelect(~Vector256.Equals(x.Value, x.Value) | Vector256.GreaterThan(x.Value, y.Value), x.Value, y.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats8 Fma(Floats8 x, Floats8 y, Floats8 addend) => new(Vector256.FusedMultiplyAdd(x.Value, y.Value, addend.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats8 Clamp(Floats8 x, float min, float max) =>
        new(Vector256.MinNative(Vector256.MaxNative(x.Value, Vector256.Create(min)), Vector256.Create(max)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats8 Round(Floats8 x) => new(Vector256.Round(x.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats8 ScaleByPowerOfTwo(Floats8 x, Floats8 n)
    {
        var k = Vector256.ConvertToInt32Native(n.Value);
        var half = Vector256.ShiftRightArithmetic(k, 1);
        return new(x.Value * Exponent(half) * Exponent(k - half));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats8 CopySign(Floats8 magnitude, Floats8 sign) => new(Vector256.ConditionalSelect(Vector256.Create(-0f), sign.Value, magnitude.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats8 KeepNaN(Floats8 x, Floats8 y) => new(Vector256.ConditionalSelect(Vector256.Equals(x.Value, x.Value), y.Value, x.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats8 WhereGreater(Floats8 a, Floats8 b, Floats8 ifTrue, Floats8 ifFalse) =>
        new(Vector256.ConditionalSelect(Vector256.GreaterThan(a.Value, b.Value), ifTrue.Value, ifFalse.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats8 Max(Floats8 x, Floats8 y) => new(Vector256.MaxNative(x.Value, y.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float HorizontalSum() => Vector256.Sum(Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float HorizontalMax()
    {
        var lanes = Vector128.MaxNative(Value.GetLower(), Value.GetUpper());
        float max = lanes[0];
        for (int i = 1; i < 4; i++) max = MathF.Max(max, lanes[i]);
        return max;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Exponent(Vector256<int> k) => Vector256.ShiftLeft(k + Vector256.Create(127), 23).AsSingle();
}

/// <summary>Sixteen floats in a <see cref="Vector512{T}"/> (AVX-512).</summary>
internal readonly struct Floats16(Vector512<float> value) : IFloatVector<Floats16>
{
    public readonly Vector512<float> Value = value;
    public static int Count => Vector512<float>.Count;
    public static Floats16 Create(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16 Load(ref float source, nuint index) => new(Vector512.LoadUnsafe(ref source, index));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ref float destination, nuint index) => Value.StoreUnsafe(ref destination, index);
    public static Floats16 operator +(Floats16 x, Floats16 y) => new(x.Value + y.Value);
    public static Floats16 operator -(Floats16 x, Floats16 y) => new(x.Value - y.Value);
    public static Floats16 operator -(Floats16 x) => new(-x.Value);
    public static Floats16 operator *(Floats16 x, Floats16 y) => new(x.Value * y.Value);
    public static Floats16 operator /(Floats16 x, Floats16 y) => new(x.Value / y.Value);
    public static Floats16 Sqrt(Floats16 x) => new(Vector512.Sqrt(x.Value));
    public static Floats16 NaNOrLarger(Floats16 x, Floats16 y) =>
        new(Vector512.ConditionalSelect(~Vector512.Equals(x.Value, x.Value) | Vector512.GreaterThan(x.Value, y.Value), x.Value, y.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16 Fma(Floats16 x, Floats16 y, Floats16 addend) => new(Vector512.FusedMultiplyAdd(x.Value, y.Value, addend.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16 Clamp(Floats16 x, float min, float max) =>
        new(Vector512.MinNative(Vector512.MaxNative(x.Value, Vector512.Create(min)), Vector512.Create(max)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16 Round(Floats16 x) => new(Vector512.Round(x.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16 ScaleByPowerOfTwo(Floats16 x, Floats16 n) => new(Avx512F.Scale(x.Value, n.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16 CopySign(Floats16 magnitude, Floats16 sign) => new(Vector512.ConditionalSelect(Vector512.Create(-0f), sign.Value, magnitude.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16 KeepNaN(Floats16 x, Floats16 y) => new(Vector512.ConditionalSelect(Vector512.Equals(x.Value, x.Value), y.Value, x.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16 WhereGreater(Floats16 a, Floats16 b, Floats16 ifTrue, Floats16 ifFalse) =>
        new(Vector512.ConditionalSelect(Vector512.GreaterThan(a.Value, b.Value), ifTrue.Value, ifFalse.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Floats16 Max(Floats16 x, Floats16 y) => new(Vector512.MaxNative(x.Value, y.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float HorizontalSum() => Vector512.Sum(Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float HorizontalMax()
    {
        var lanes = Vector256.MaxNative(Value.GetLower(), Value.GetUpper());
        float max = lanes[0];
        for (int i = 1; i < 8; i++) max = MathF.Max(max, lanes[i]);
        return max;
    }
}
