namespace MetaGrad;

/// <summary>The element types a tensor can hold (PyTorch's torch.float32, torch.float64, torch.int64, torch.int32, torch.bool).</summary>
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
}

/// <summary>Facts about dtypes and PyTorch's type-promotion rules.</summary>
public static class DTypes
{
    /// <summary>True for Float32 and Float64: the only dtypes that can require gradients.</summary>
    public static bool IsFloatingPoint(this DType d) => d is DType.Float32 or DType.Float64;

    /// <summary>True for the integer dtypes (Bool excluded).</summary>
    public static bool IsInteger(this DType d) => d is DType.Int64 or DType.Int32;

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this DType d) => d switch
    {
        DType.Float32 or DType.Int32 => 4,
        DType.Float64 or DType.Int64 => 8,
        _ => 1,
    };

    /// <summary>PyTorch's printed name (<c>torch.float32</c>).</summary>
    public static string TorchName(this DType d) => d switch
    {
        DType.Float32 => "torch.float32",
        DType.Float64 => "torch.float64",
        DType.Int64 => "torch.int64",
        DType.Int32 => "torch.int32",
        _ => "torch.bool",
    };

    // Bool < integers < floats; within a category the wider type wins.
    static int Category(DType d) => d switch { DType.Bool => 0, DType.Int32 or DType.Int64 => 1, _ => 2 };
    static int Rank(DType d) => d switch { DType.Bool => 0, DType.Int32 => 1, DType.Int64 => 2, DType.Float32 => 3, _ => 4 };

    /// <summary>The wider of two dtypes (torch.promote_types).</summary>
    public static DType Promote(DType a, DType b) => Rank(a) >= Rank(b) ? a : b;

    /// <summary>
    /// PyTorch's result_type for two operands: tensors with dimensions decide within a category;
    /// a 0-d tensor only matters when it belongs to a higher category (so float32 + float64 0-d stays float32).
    /// </summary>
    public static DType ResultType(Tensor a, Tensor b)
    {
        bool aDim = a.NDim > 0, bDim = b.NDim > 0;
        if (aDim == bDim) return Promote(a.DType, b.DType);
        var (dimmed, zeroD) = aDim ? (a.DType, b.DType) : (b.DType, a.DType);
        return Category(zeroD) > Category(dimmed) ? zeroD : dimmed;
    }

    /// <summary>The dtype a Python scalar of this kind would give when combined with a tensor of dtype <paramref name="t"/>.</summary>
    public static DType WithScalar(DType t, bool scalarIsFloat, bool scalarIsBool = false)
    {
        if (scalarIsFloat) return t.IsFloatingPoint() ? t : Tensor.DefaultDType;
        if (scalarIsBool) return t;
        return t == DType.Bool ? DType.Int64 : t;
    }
}
