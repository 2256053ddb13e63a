namespace MetaGrad;

/// <summary>
/// The element types a tensor can hold (PyTorch's torch.float32, torch.float64, torch.int64, torch.int32, torch.bool,
/// torch.float16, torch.bfloat16, torch.uint8, torch.int8, torch.int16, torch.uint16). The values are stable: new dtypes are appended.
/// </summary>
public enum DType
{
    /// <summary>32-bit IEEE float: the default for floating data, as in PyTorch.</summary>
    Float32,
    /// <summary>64-bit IEEE float: used by gradient checks.</summary>
    Float64,
    /// <summary>64-bit signed integer: the default for integer data and for indices.</summary>
    Int64,
    /// <summary>32-bit signed integer.</summary>
    Int32,
    /// <summary>Boolean: the result of comparisons, and masks.</summary>
    Bool,
    /// <summary>16-bit IEEE half (<see cref="System.Half"/>): stored narrow, computed in Float32 and rounded back, as PyTorch does on the CPU.</summary>
    Float16,
    /// <summary>Brain float (<see cref="MetaGrad.BFloat16"/>: Float32's exponent, 8 bits of mantissa): stored narrow, computed in Float32.</summary>
    BFloat16,
    /// <summary>8-bit unsigned integer (byte): arithmetic wraps modulo 256, as in PyTorch.</summary>
    UInt8,
    /// <summary>8-bit signed integer (sbyte).</summary>
    Int8,
    /// <summary>16-bit signed integer (short).</summary>
    Int16,
    /// <summary>
    /// 16-bit unsigned integer (ushort), PyTorch's "barebones" torch.uint16: it promotes only with itself and with
    /// floating dtypes (mixing it with another integer or Bool is refused, as in PyTorch). PyTorch's CPU kernels cover
    /// only part of the API for it (multiplication, true division, equality, sums, sorting, joins, casts); MetaGrad
    /// computes the rest as well, in Int64 wrapped back modulo 65536, as it does uint8 and as numpy's uint16 does.
    /// </summary>
    UInt16,
}

/// <summary>Facts about dtypes and PyTorch's type-promotion rules.</summary>
public static class DTypes
{
    /// <summary>True for Float32, Float64, Float16 and BFloat16: the dtypes that can require gradients.</summary>
    public static bool IsFloatingPoint(this DType d) => d is DType.Float32 or DType.Float64 or DType.Float16 or DType.BFloat16;

    /// <summary>True for the integer dtypes (Bool excluded).</summary>
    public static bool IsInteger(this DType d) => d is DType.Int64 or DType.Int32 or DType.UInt8 or DType.Int8 or DType.Int16 or DType.UInt16;

    /// <summary>
    /// True for the dtypes that the CPU kernels only store: their arithmetic runs in a wider dtype
    /// (<see cref="ComputeDType"/>) and the result is rounded or wrapped back.
    /// </summary>
    internal static bool IsNarrow(this DType d) => d is DType.Float16 or DType.BFloat16 or DType.UInt8 or DType.Int8 or DType.Int16 or DType.UInt16;

    /// <summary>The dtype a narrow dtype computes in: Float32 for the half floats (PyTorch's acc_type on the CPU), Int64 for the small integers.</summary>
    internal static DType ComputeDType(this DType d) => d switch
    {
        DType.Float16 or DType.BFloat16 => DType.Float32,
        DType.UInt8 or DType.Int8 or DType.Int16 or DType.UInt16 => DType.Int64,
        _ => d,
    };

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this DType d) => d switch
    {
        DType.Float32 or DType.Int32 => 4,
        DType.Float64 or DType.Int64 => 8,
        DType.Float16 or DType.BFloat16 or DType.Int16 or DType.UInt16 => 2,
        DType.Bool or DType.UInt8 or DType.Int8 => 1,
        _ => throw Unknown(d),
    };

    /// <summary>PyTorch's printed name (<c>torch.float32</c>).</summary>
    public static string TorchName(this DType d) => d switch
    {
        DType.Float32 => "torch.float32",
        DType.Float64 => "torch.float64",
        DType.Int64 => "torch.int64",
        DType.Int32 => "torch.int32",
        DType.Bool => "torch.bool",
        DType.Float16 => "torch.float16",
        DType.BFloat16 => "torch.bfloat16",
        DType.UInt8 => "torch.uint8",
        DType.Int8 => "torch.int8",
        DType.Int16 => "torch.int16",
        DType.UInt16 => "torch.uint16",
        _ => throw Unknown(d),
    };

    /// <summary>The gap between 1 and the next representable value (torch.finfo(dtype).eps).</summary>
    internal static double Epsilon(this DType d) => d switch
    {
        DType.Float32 => 1.1920928955078125e-07,
        DType.Float64 => 2.220446049250313e-16,
        DType.Float16 => 0.0009765625,
        DType.BFloat16 => 0.0078125,
        _ => throw new ArgumentException($"finfo: {d} is not a floating dtype"),
    };

    /// <summary>The largest finite value (torch.finfo(dtype).max).</summary>
    internal static double MaxFinite(this DType d) => d switch
    {
        DType.Float32 => float.MaxValue,
        DType.Float64 => double.MaxValue,
        DType.Float16 => 65504,
        DType.BFloat16 => 3.3895313892515355e38,
        _ => throw new ArgumentException($"finfo: {d} is not a floating dtype"),
    };

    static ArgumentOutOfRangeException Unknown(DType d) => new(nameof(d), $"unknown dtype {(int)d}");

    /// <summary>
    /// Refuses a number that <paramref name="dtype"/> cannot hold, as c10's checked_convert does for
    /// fills (torch.full, fill_, masked_fill, index_fill): "value cannot be converted to type uint8_t
    /// without overflow", rather than a silent wrap. The test is on the value before truncation
    /// (127.9 does not fit int8). Infinities and NaN fit the floating types only; an unsigned type
    /// also takes negatives down to −max (c10 lets −1 become 255); Bool takes anything.
    /// </summary>
    internal static void CheckFits(string op, double value, DType dtype)
    {
        (double lowest, double highest) = dtype switch
        {
            DType.Float32 => (-float.MaxValue, float.MaxValue),
            DType.Float64 or DType.Bool => (double.NegativeInfinity, double.PositiveInfinity),
            DType.Float16 => (-(double)Half.MaxValue, (double)Half.MaxValue),
            DType.BFloat16 => (-3.3895313892515355e38, 3.3895313892515355e38),   // 0x7F7F
            DType.Int64 => (-9223372036854775808.0, 9223372036854775807.0),
            DType.Int32 => (int.MinValue, int.MaxValue),
            DType.Int16 => (short.MinValue, short.MaxValue),
            DType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
            DType.UInt8 => (-(double)byte.MaxValue, byte.MaxValue),
            DType.UInt16 => (-(double)ushort.MaxValue, ushort.MaxValue),
            _ => throw Unknown(dtype),
        };
        bool fits = dtype.IsFloatingPoint() || dtype == DType.Bool
            ? double.IsNaN(value) || double.IsInfinity(value) || (value >= lowest && value <= highest)
            // 2^63 is the double nearest Int64.MaxValue and does not fit: hence < for Int64's top.
            : double.IsFinite(value) && value >= lowest && (dtype == DType.Int64 ? value < highest : value <= highest);
        if (!fits) throw new ArgumentException($"{op}: value {value} cannot be converted to {dtype.TorchName()} without overflow");
    }

    // Bool < integers < floats (torch.promote_types' categories).
    static int Category(DType d) => d.IsFloatingPoint() ? 2 : d.IsInteger() ? 1 : d == DType.Bool ? 0 : throw Unknown(d);

    // Width within a category; equal widths of different dtypes (uint8 and int8, float16 and
    // bfloat16) promote to the next width up, as PyTorch's table says.
    static int Width(DType d) => d switch
    {
        DType.Bool => 0,
        DType.UInt8 or DType.Int8 => 1,
        DType.Int16 or DType.UInt16 or DType.Float16 or DType.BFloat16 => 2,
        DType.Int32 or DType.Float32 => 3,
        DType.Int64 or DType.Float64 => 4,
        _ => throw Unknown(d),
    };

    /// <summary>
    /// The smallest dtype both convert to (torch.promote_types): uint8 and int8 give int16, float16 and bfloat16 give float32,
    /// and any float beats any integer. UInt16 promotes only with itself and the floats; anything else throws, as in PyTorch.
    /// </summary>
    public static DType Promote(DType a, DType b)
    {
        if (a == b) return a;
        if (a == DType.UInt16 || b == DType.UInt16)
        {
            // c10's promoteTypes (c10/core/ScalarType.cpp, PyTorch >= 2.3): the "barebones" unsigned types
            // promote only to a floating dtype; with any other dtype (Bool included) PyTorch raises.
            if (a.IsFloatingPoint()) return a;
            if (b.IsFloatingPoint()) return b;
            throw new ArgumentException($"Promotion for uint16, uint32, uint64 types is not supported, attempted to promote {a} and {b}");
        }
        int ca = Category(a), cb = Category(b);
        if (ca != cb) return ca > cb ? a : b;
        int wa = Width(a), wb = Width(b);
        if (wa != wb) return wa > wb ? a : b;
        return ca == 2 ? DType.Float32 : DType.Int16;   // {float16, bfloat16} or {uint8, int8}
    }

    /// <summary>
    /// PyTorch's result_type for two operands: tensors with dimensions decide within a category;
    /// a 0-d tensor only matters when it belongs to a higher category (so float32 + float64 0-d stays float32).
    /// </summary>
    public static DType ResultType(Tensor a, Tensor b)
    {
        bool aDim = a.NDim > 0, bDim = b.NDim > 0;
        if (aDim == bDim) return Promote(a.DType, b.DType);
        var (dimmed, zeroD) = aDim ? (a.DType, b.DType) : (b.DType, a.DType);
        // A higher category decides through promote_types, as ATen's combine_categories does: the same
        // answer everywhere except Bool with a 0-d UInt16, which PyTorch refuses.
        return Category(zeroD) > Category(dimmed) ? Promote(dimmed, zeroD) : dimmed;
    }

    /// <summary>The dtype a Python scalar of this kind would give when combined with a tensor of dtype <paramref name="t"/>.</summary>
    public static DType WithScalar(DType t, bool scalarIsFloat, bool scalarIsBool = false)
    {
        if (scalarIsFloat) return t.IsFloatingPoint() ? t : Tensor.DefaultDType;
        if (scalarIsBool) return t;
        return t == DType.Bool ? DType.Int64 : t;
    }
}
