using TorchSharp;

namespace MetaGrad.Conformance.Harness;

/// <summary>
/// The Python number a C# double stands for in MetaGrad: an integral value acts as a Python int
/// (Int64 tensor * 2.0 stays Int64), any other as a Python float. C# has one operator overload for
/// numbers, so MetaGrad reads the kind off the value; libtorch is given the matching Scalar.
/// </summary>
public static class PythonNumber
{
    /// <summary>A long Scalar for an integral value, a double Scalar otherwise.</summary>
    public static Scalar Of(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 1e15 ? ((long)value).ToScalar() : value.ToScalar();
}
