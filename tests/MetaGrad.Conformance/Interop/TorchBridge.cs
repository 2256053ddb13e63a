using TorchSharp;
using TorchSharp.Modules;
using TT = TorchSharp.torch.Tensor;

namespace MetaGrad.Conformance.Interop;

/// <summary>
/// Moves values between MetaGrad and TorchSharp tensors (always through a copy, so neither side can
/// change the other) and compares them. Every comparison reads both sides as doubles.
/// </summary>
internal static class TorchBridge
{
    public static torch.ScalarType ToTorch(DType dtype) => dtype switch
    {
        DType.Float32 => torch.ScalarType.Float32,
        DType.Float64 => torch.ScalarType.Float64,
        DType.Int64 => torch.ScalarType.Int64,
        DType.Int32 => torch.ScalarType.Int32,
        DType.Bool => torch.ScalarType.Bool,
        DType.Float16 => torch.ScalarType.Float16,
        DType.BFloat16 => torch.ScalarType.BFloat16,
        DType.UInt8 => torch.ScalarType.Byte,
        DType.Int8 => torch.ScalarType.Int8,
        DType.Int16 => torch.ScalarType.Int16,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    public static DType FromTorch(torch.ScalarType type) => type switch
    {
        torch.ScalarType.Float32 => DType.Float32,
        torch.ScalarType.Float64 => DType.Float64,
        torch.ScalarType.Int64 => DType.Int64,
        torch.ScalarType.Int32 => DType.Int32,
        torch.ScalarType.Bool => DType.Bool,
        torch.ScalarType.Float16 => DType.Float16,
        torch.ScalarType.BFloat16 => DType.BFloat16,
        torch.ScalarType.Byte => DType.UInt8,
        torch.ScalarType.Int8 => DType.Int8,
        torch.ScalarType.Int16 => DType.Int16,
        _ => throw new ArgumentOutOfRangeException(nameof(type), $"no MetaGrad dtype for {type}"),
    };

    /// <summary>A TorchSharp copy of a MetaGrad tensor, same dtype and shape, not requiring grad.</summary>
    public static TT ToTorch(Tensor t)
    {
        long[] shape = t.Shape.Select(d => (long)d).ToArray();
        return t.DType switch
        {
            DType.Float32 => torch.tensor(t.ToArray<float>(), shape),
            DType.Float64 => torch.tensor(t.ToArray<double>(), shape),
            DType.Int64 => torch.tensor(t.ToArray<long>(), shape),
            DType.Int32 => torch.tensor(t.ToArray<int>(), shape),
            DType.Bool => torch.tensor(t.ToArray<bool>(), shape),
            // Half and bfloat16 travel as float, which holds each of their values exactly.
            DType.Float16 or DType.BFloat16 => torch.tensor(t.ToArray<float>(), shape).to_type(ToTorch(t.DType)),
            DType.UInt8 => torch.tensor(t.ToArray<byte>(), shape),
            DType.Int8 => torch.tensor(t.ToArray<sbyte>(), shape),
            DType.Int16 => torch.tensor(t.ToArray<short>(), shape),
            _ => throw new ArgumentOutOfRangeException(nameof(t)),
        };
    }

    /// <summary>A TorchSharp parameter holding a copy of a MetaGrad tensor.</summary>
    public static Parameter ToTorchParameter(Tensor t) => new(ToTorch(t), requires_grad: true);

    /// <summary>A MetaGrad copy of a TorchSharp tensor, same dtype and shape.</summary>
    public static Tensor FromTorch(TT t)
    {
        int[] shape = t.shape.Select(d => checked((int)d)).ToArray();
        if (t.numel() == 0) return Tensor.Zeros(shape, FromTorch(t.dtype));   // TorchSharp's data<T>() fails on empty tensors
        using var c = t.detach().contiguous();
        return FromTorch(t.dtype) switch
        {
            DType.Float32 => Tensor.From(c.data<float>().ToArray(), shape),
            DType.Float64 => Tensor.From(c.data<double>().ToArray(), shape),
            DType.Int64 => Tensor.From(c.data<long>().ToArray(), shape),
            DType.Int32 => Tensor.From(c.data<int>().ToArray(), shape),
            DType.Bool => Tensor.From(c.data<bool>().ToArray(), shape),
            DType.Float16 or DType.BFloat16 => FromFloat(c, shape, FromTorch(t.dtype)),
            DType.UInt8 => Tensor.From(c.data<byte>().ToArray(), shape),
            DType.Int8 => Tensor.From(c.data<sbyte>().ToArray(), shape),
            DType.Int16 => Tensor.From(c.data<short>().ToArray(), shape),
            _ => throw new ArgumentOutOfRangeException(nameof(t)),
        };
    }

    static Tensor FromFloat(TT narrow, int[] shape, DType dtype)
    {
        using var f = narrow.to_type(torch.ScalarType.Float32);
        return Tensor.From(f.data<float>().ToArray(), shape).To(dtype);
    }

    /// <summary>A MetaGrad tensor's values as doubles, row-major.</summary>
    public static double[] Values(Tensor t) => t.Detach().To(DType.Float64).ToArray<double>();

    /// <summary>A TorchSharp tensor's values as doubles, row-major.</summary>
    public static double[] Values(TT t)
    {
        if (t.numel() == 0) return [];
        using var c = t.detach().to_type(torch.ScalarType.Float64).contiguous();
        return c.data<double>().ToArray();
    }

    /// <summary>
    /// Asserts |actual - expected| ≤ rtol·|expected| + atol elementwise (NaNs and infinities must
    /// agree exactly), naming the first element that fails and the largest error.
    /// </summary>
    public static void AssertClose(double[] expected, double[] actual, double rtol, double atol, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, libtorch has {expected.Length}");
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) || double.IsNaN(a) || double.IsInfinity(e) || double.IsInfinity(a))
            {
                Assert.True(e.Equals(a), $"{what}[{i}]: MetaGrad {a:R}, libtorch {e:R}");
                continue;
            }
            double excess = Math.Abs(a - e) / (rtol * Math.Abs(e) + atol);
            if (excess > 1 && excess > worstExcess) (worst, worstExcess) = (i, excess);
        }
        if (worst >= 0)
            Assert.Fail($"{what}[{worst}]: MetaGrad {actual[worst]:R}, libtorch {expected[worst]:R} " +
                        $"(|diff| {Math.Abs(actual[worst] - expected[worst]):E2}, {worstExcess:F1}× the tolerance rtol {rtol:E0} atol {atol:E0})");
    }

    /// <summary><see cref="AssertClose(double[], double[], double, double, string)"/> on a pair of tensors, checking shapes first.</summary>
    public static void AssertClose(TT expected, Tensor actual, double rtol, double atol, string what)
    {
        Assert.True(expected.shape.SequenceEqual(actual.Shape.Select(d => (long)d)),
            $"{what}: MetaGrad shape [{string.Join(", ", actual.Shape.ToArray())}], libtorch [{string.Join(", ", expected.shape)}]");
        AssertClose(Values(expected), Values(actual), rtol, atol, what);
    }
}
