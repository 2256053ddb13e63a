namespace MetaGrad.Backends;

/// <summary>Elementwise floating functions of one tensor beyond <see cref="UnaryOp"/>: trigonometric, hyperbolic, and other bases' exp and log.</summary>
internal enum MathOp { Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh, Log2, Log10, Exp2 }

/// <summary>Elementwise functions of two tensors beyond <see cref="BinaryOp"/>, broadcast.</summary>
internal enum MathBinaryOp
{
    /// <summary>atan2(a, b), the angle of the point (b, a).</summary>
    Atan2,
    /// <summary>√(a² + b²) without overflow.</summary>
    Hypot,
    /// <summary>|a| with the sign of b.</summary>
    Copysign,
    /// <summary>a·log b, 0 where a = 0 (unless b is NaN).</summary>
    Xlogy,
    /// <summary>The remainder of a / b truncated (C's fmod): the sign of a.</summary>
    Fmod,
    /// <summary>The remainder of a / b floored (Python's %): the sign of b.</summary>
    Remainder,
}

/// <summary>Classes of floating values, tested elementwise.</summary>
internal enum FloatClass { NaN, Inf, PosInf, NegInf, Finite }

internal partial interface IBackend
{
    /// <summary>f(x) elementwise for a floating x.</summary>
    RawTensor UnaryMath(MathOp op, RawTensor x);
    /// <summary>f(a, b) elementwise with broadcasting; a and b share a dtype, floating (Fmod and Remainder also take integers).</summary>
    RawTensor BinaryMath(MathBinaryOp op, RawTensor a, RawTensor b);
    /// <summary>Whether each element of a floating x is of the class, giving Bool.</summary>
    RawTensor Classify(FloatClass c, RawTensor x);
    /// <summary>Each element of a floating x rounded half to even at <paramref name="decimals"/> decimal places (left of the point when negative).</summary>
    RawTensor RoundDecimals(RawTensor x, int decimals);
}
