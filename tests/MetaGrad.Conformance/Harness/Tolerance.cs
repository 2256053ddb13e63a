namespace MetaGrad.Conformance.Harness;

/// <summary>
/// How close MetaGrad must come to libtorch, the one place where this is stated. Element by element,
/// with b libtorch's value and B = max(1, max |b| over the tensor):
/// <code>|a - b| ≤ Rel·|b| + Abs·B</code>
/// The Abs·B term makes float32 "relative to the tensor's magnitude": a sum that cancels to nearly
/// zero is judged against the size of the numbers it came from, not against its own tiny value.
/// NaN must meet NaN and an infinity the same infinity; integer and Bool results must be equal.
/// </summary>
public readonly record struct Tolerance(double Rel, double Abs)
{
    /// <summary>float64: both engines should agree to a few ulps of the result, up to summation order.</summary>
    public static readonly Tolerance Float64 = new(Rel: 1e-10, Abs: 1e-12);

    /// <summary>float32 (24-bit mantissa, ε ≈ 1.2e-7): room for different summation orders and fused kernels.</summary>
    public static readonly Tolerance Float32 = new(Rel: 1e-4, Abs: 1e-5);

    /// <summary>float16 (11-bit mantissa): one rounding apart, ε = 2⁻¹⁰.</summary>
    public static readonly Tolerance Float16 = new(Rel: 1e-3, Abs: 1e-4);

    /// <summary>bfloat16 (8-bit mantissa): one rounding apart, ε = 2⁻⁷.</summary>
    public static readonly Tolerance BFloat16 = new(Rel: 8e-3, Abs: 1e-3);

    /// <summary>The tolerance for a tensor of this dtype (exact for integers and Bool).</summary>
    public static Tolerance For(DType dtype) => dtype switch
    {
        DType.Float64 => Float64,
        DType.Float32 => Float32,
        DType.Float16 => Float16,
        DType.BFloat16 => BFloat16,
        _ when dtype.IsInteger() || dtype == DType.Bool => new(0, 0),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), $"no tolerance for {dtype}"),
    };

    /// <summary>Whether a (MetaGrad) is close enough to b (libtorch), given B = max(1, max |b|).</summary>
    public bool Accepts(double a, double b, double magnitude)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return double.IsNaN(a) && double.IsNaN(b);
        if (double.IsInfinity(a) || double.IsInfinity(b)) return a == b;
        return Math.Abs(a - b) <= Rel * Math.Abs(b) + Abs * magnitude;
    }
}
