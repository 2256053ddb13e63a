using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// A vector of T (float or double) at one width, for kernels written once for both widths and
/// both types; <see cref="IFloatVector{TV}"/> adds FloatMath's operations for float. Each
/// operation is the hardware's lane by lane, rounding as the scalar one does.
/// </summary>
internal interface IVectorLanes<TV, T> where TV : struct, IVectorLanes<TV, T> where T : unmanaged
{
    static abstract int Count { get; }
    static abstract TV Create(T value);
    static abstract TV Load(ref T source, nuint index);
    void Store(ref T destination, nuint index);
    static abstract TV operator +(TV x, TV y);
    static abstract TV operator -(TV x, TV y);
    static abstract TV operator -(TV x);
    static abstract TV operator *(TV x, TV y);
    static abstract TV operator /(TV x, TV y);
    static abstract TV Sqrt(TV x);
    /// <summary>x where x is NaN or greater than y, else y (AMSGrad's running maximum, NaN kept).</summary>
    static abstract TV NaNOrLarger(TV x, TV y);
}

/// <summary>T in a <see cref="Vector256{T}"/>.</summary>
internal readonly struct Lanes256<T>(Vector256<T> value) : IVectorLanes<Lanes256<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly Vector256<T> _value = value;
    public static int Count => Vector256<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> Create(T value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> Load(ref T source, nuint index) => new(Vector256.LoadUnsafe(ref source, index));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(ref T destination, nuint index) => _value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> operator +(Lanes256<T> x, Lanes256<T> y) => new(x._value + y._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> operator -(Lanes256<T> x, Lanes256<T> y) => new(x._value - y._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> operator -(Lanes256<T> x) => new(-x._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> operator *(Lanes256<T> x, Lanes256<T> y) => new(x._value * y._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> operator /(Lanes256<T> x, Lanes256<T> y) => new(x._value / y._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> Sqrt(Lanes256<T> x) => new(Vector256.Sqrt(x._value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> NaNOrLarger(Lanes256<T> x, Lanes256<T> y) =>
        new(Vector256.ConditionalSelect(~Vector256.Equals(x._value, x._value) | Vector256.GreaterThan(x._value, y._value), x._value, y._value));
}

/// <summary>T in a <see cref="Vector512{T}"/> (AVX-512): twice the lanes per division and root, which set Adam's pace.</summary>
internal readonly struct Lanes512<T>(Vector512<T> value) : IVectorLanes<Lanes512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    readonly Vector512<T> _value = value;
    public static int Count => Vector512<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> Create(T value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> Load(ref T source, nuint index) => new(Vector512.LoadUnsafe(ref source, index));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(ref T destination, nuint index) => _value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> operator +(Lanes512<T> x, Lanes512<T> y) => new(x._value + y._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> operator -(Lanes512<T> x, Lanes512<T> y) => new(x._value - y._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> operator -(Lanes512<T> x) => new(-x._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> operator *(Lanes512<T> x, Lanes512<T> y) => new(x._value * y._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> operator /(Lanes512<T> x, Lanes512<T> y) => new(x._value / y._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> Sqrt(Lanes512<T> x) => new(Vector512.Sqrt(x._value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> NaNOrLarger(Lanes512<T> x, Lanes512<T> y) =>
        new(Vector512.ConditionalSelect(~Vector512.Equals(x._value, x._value) | Vector512.GreaterThan(x._value, y._value), x._value, y._value));
}
