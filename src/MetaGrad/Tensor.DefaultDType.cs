namespace MetaGrad;

public partial class Tensor
{
    // Process-wide, as PyTorch's: set it once at start-up, before building models.
    static volatile DType s_defaultDType = DType.Float32;

    /// <summary>
    /// The floating dtype of tensors and parameters made without one (Float32 unless changed):
    /// the factories (Zeros, Rand, Arange over doubles, Scalar, ...), the modules' parameters, and
    /// the result of an integer tensor with a floating scalar (PyTorch's default dtype).
    /// </summary>
    public static DType DefaultDType => s_defaultDType;

    /// <summary>PyTorch's torch.get_default_dtype().</summary>
    public static DType GetDefaultDType() => s_defaultDType;

    /// <summary>
    /// Sets the process-wide default floating dtype (PyTorch's torch.set_default_dtype); only
    /// floating dtypes are accepted. Tensors already made keep their dtype.
    /// </summary>
    public static void SetDefaultDType(DType dtype)
    {
        if (!dtype.IsFloatingPoint())
            throw new ArgumentException($"SetDefaultDType: only floating dtypes can be the default, got {dtype}");
        s_defaultDType = dtype;
    }
}
