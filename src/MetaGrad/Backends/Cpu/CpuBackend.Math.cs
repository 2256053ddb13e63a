using System.Numerics;

namespace MetaGrad.Backends.Cpu;

// The kernels of IBackend.Math.cs: one generic struct per function, so one source serves float and
// double (and the integers, for the remainders), as in ElementOps.cs.

internal struct TanOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T x) => T.Tan(x); }
internal struct AsinOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T x) => T.Asin(x); }
internal struct AcosOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T x) => T.Acos(x); }
internal struct AtanOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T x) => T.Atan(x); }
internal struct SinhOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T x) => T.Sinh(x); }
internal struct CoshOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T x) => T.Cosh(x); }
internal struct AsinhOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T x) => T.Asinh(x); }
internal struct AcoshOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T x) => T.Acosh(x); }
internal struct AtanhOp<T> : IMap1<T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T x) => T.Atanh(x); }
internal struct Log2Op<T> : IMap1<T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T x) => T.Log2(x); }
internal struct Log10Op<T> : IMap1<T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T x) => T.Log10(x); }
internal struct Exp2Op<T> : IMap1<T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T x) => T.Exp2(x); }

internal struct IsNaNOp<T> : IMap1<T, bool> where T : IFloatingPointIeee754<T> { public static bool Apply(T x) => T.IsNaN(x); }
internal struct IsInfOp<T> : IMap1<T, bool> where T : IFloatingPointIeee754<T> { public static bool Apply(T x) => T.IsInfinity(x); }
internal struct IsPosInfOp<T> : IMap1<T, bool> where T : IFloatingPointIeee754<T> { public static bool Apply(T x) => T.IsPositiveInfinity(x); }
internal struct IsNegInfOp<T> : IMap1<T, bool> where T : IFloatingPointIeee754<T> { public static bool Apply(T x) => T.IsNegativeInfinity(x); }
internal struct IsFiniteOp<T> : IMap1<T, bool> where T : IFloatingPointIeee754<T> { public static bool Apply(T x) => T.IsFinite(x); }

internal struct Atan2Op<T> : IMap2<T, T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T a, T b) => T.Atan2(a, b);

    // Float runs in FloatMath's vectors, where the scalar function took some 15 ns a value.
    public static bool ApplySpan(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
    {
        if (typeof(T) != typeof(float) || !FloatMath.IsAccelerated) return false;
        FloatMath.Atan2(FloatMath.AsFloat(a), FloatMath.AsFloat(b), FloatMath.AsFloat(y));
        return true;
    }
}
internal struct HypotOp<T> : IMap2<T, T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T a, T b) => T.Hypot(a, b); }
internal struct CopysignOp<T> : IMap2<T, T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T a, T b) => T.CopySign(a, b); }
// torch.xlogy: a NaN y gives NaN even where x = 0; otherwise x = 0 gives 0 (so 0·log 0 is 0).
internal struct XlogyOp<T> : IMap2<T, T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T x, T y) => T.IsNaN(y) ? y : x == T.Zero ? T.Zero : x * T.Log(y);
}
// C's fmod (the IEEE remainder of the truncated quotient) is .NET's % on floats.
internal struct FmodFloatOp<T> : IMap2<T, T, T> where T : IFloatingPointIeee754<T> { public static T Apply(T a, T b) => a % b; }
// Python's %: the truncated remainder moved by one divisor when its sign differs from the
// divisor's (PyTorch's remainder kernel, so that NaN and infinities come out as there).
internal struct RemainderFloatOp<T> : IMap2<T, T, T> where T : IFloatingPointIeee754<T>
{
    public static T Apply(T a, T b)
    {
        T mod = a % b;
        return mod != T.Zero && (b < T.Zero) != (mod < T.Zero) ? mod + b : mod;
    }
}
// Integer divisors are never zero here (the Tensor layer refuses them, as PyTorch raises
// ZeroDivisionError); -1 is taken apart because MinValue % -1 overflows in .NET.
internal struct FmodIntOp<T> : IMap2<T, T, T> where T : IBinaryInteger<T> { public static T Apply(T a, T b) => b == -T.One ? T.Zero : a % b; }
internal struct RemainderIntOp<T> : IMap2<T, T, T> where T : IBinaryInteger<T>
{
    public static T Apply(T a, T b)
    {
        T mod = FmodIntOp<T>.Apply(a, b);
        return mod != T.Zero && (b < T.Zero) != (mod < T.Zero) ? mod + b : mod;
    }
}

internal sealed partial class CpuBackend
{
    public RawTensor UnaryMath(MathOp op, RawTensor x) => x.DType switch
    {
        DType.Float32 => UnaryMath<float>(op, x),
        DType.Float64 => UnaryMath<double>(op, x),
        _ => throw new ArgumentException($"{op}: expected a floating tensor, got {x.DType}"),
    };

    static RawTensor UnaryMath<T>(MathOp op, RawTensor x) where T : unmanaged, IFloatingPointIeee754<T> => op switch
    {
        MathOp.Tan => Map1<T, T, TanOp<T>>(x),
        MathOp.Asin => Map1<T, T, AsinOp<T>>(x),
        MathOp.Acos => Map1<T, T, AcosOp<T>>(x),
        MathOp.Atan => Map1<T, T, AtanOp<T>>(x),
        MathOp.Sinh => Map1<T, T, SinhOp<T>>(x),
        MathOp.Cosh => Map1<T, T, CoshOp<T>>(x),
        MathOp.Asinh => Map1<T, T, AsinhOp<T>>(x),
        MathOp.Acosh => Map1<T, T, AcoshOp<T>>(x),
        MathOp.Atanh => Map1<T, T, AtanhOp<T>>(x),
        MathOp.Log2 => Map1<T, T, Log2Op<T>>(x),
        MathOp.Log10 => Map1<T, T, Log10Op<T>>(x),
        MathOp.Exp2 => Map1<T, T, Exp2Op<T>>(x),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    public RawTensor BinaryMath(MathBinaryOp op, RawTensor a, RawTensor b)
    {
        if (a.DType != b.DType) RequireSameDType(op.ToString(), a, b);
        return a.DType switch
        {
            DType.Float32 => BinaryMathFloat<float>(op, a, b),
            DType.Float64 => BinaryMathFloat<double>(op, a, b),
            DType.Int64 => BinaryMathInteger<long>(op, a, b),
            DType.Int32 => BinaryMathInteger<int>(op, a, b),
            DType.Bool => throw new ArgumentException($"{op}: not supported for Bool tensors"),
            _ => throw NotComputed(op.ToString(), a.DType),
        };
    }

    static RawTensor BinaryMathFloat<T>(MathBinaryOp op, RawTensor a, RawTensor b) where T : unmanaged, IFloatingPointIeee754<T> => op switch
    {
        MathBinaryOp.Atan2 => Map2<T, T, T, Atan2Op<T>>("Atan2", a, b),
        MathBinaryOp.Hypot => Map2<T, T, T, HypotOp<T>>("Hypot", a, b),
        MathBinaryOp.Copysign => Map2<T, T, T, CopysignOp<T>>("Copysign", a, b),
        MathBinaryOp.Xlogy => Map2<T, T, T, XlogyOp<T>>("Xlogy", a, b),
        MathBinaryOp.Fmod => Map2<T, T, T, FmodFloatOp<T>>("Fmod", a, b),
        MathBinaryOp.Remainder => Map2<T, T, T, RemainderFloatOp<T>>("Remainder", a, b),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    static RawTensor BinaryMathInteger<T>(MathBinaryOp op, RawTensor a, RawTensor b) where T : unmanaged, IBinaryInteger<T> => op switch
    {
        MathBinaryOp.Fmod => Map2<T, T, T, FmodIntOp<T>>("Fmod", a, b),
        MathBinaryOp.Remainder => Map2<T, T, T, RemainderIntOp<T>>("Remainder", a, b),
        _ => throw new ArgumentException($"{op}: expected floating tensors, got {a.DType}"),
    };

    public RawTensor Classify(FloatClass c, RawTensor x) => x.DType switch
    {
        DType.Float32 => Classify<float>(c, x),
        DType.Float64 => Classify<double>(c, x),
        _ => throw new ArgumentException($"Is{c}: expected a floating tensor, got {x.DType}"),
    };

    static RawTensor Classify<T>(FloatClass c, RawTensor x) where T : unmanaged, IFloatingPointIeee754<T> => c switch
    {
        FloatClass.NaN => Map1<T, bool, IsNaNOp<T>>(x),
        FloatClass.Inf => Map1<T, bool, IsInfOp<T>>(x),
        FloatClass.PosInf => Map1<T, bool, IsPosInfOp<T>>(x),
        FloatClass.NegInf => Map1<T, bool, IsNegInfOp<T>>(x),
        _ => Map1<T, bool, IsFiniteOp<T>>(x),
    };

    public RawTensor RoundDecimals(RawTensor x, int decimals) => x.DType switch
    {
        DType.Float32 => RoundDecimals<float>(x, decimals),
        DType.Float64 => RoundDecimals<double>(x, decimals),
        _ => throw new ArgumentException($"Round: decimals are only supported for floating tensors, got {x.DType}"),
    };

    // As PyTorch: the power of ten is taken in the tensor's own dtype, and a negative count divides
    // by it first (so 1234.5 at -2 is round(12.345)·100), a positive one multiplies.
    static RawTensor RoundDecimals<T>(RawTensor x, int decimals) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = Contiguous(x);
        var values = Data<T>(y).AsSpan(y.Layout.Offset, y.Numel);
        T scale = T.CreateTruncating(Math.Pow(10, Math.Abs((double)decimals)));
        if (decimals < 0)
            for (int i = 0; i < values.Length; i++) values[i] = T.Round(values[i] / scale) * scale;
        else
            for (int i = 0; i < values.Length; i++) values[i] = T.Round(values[i] * scale) / scale;
        return y;
    }
}
