using MetaGrad.Backends.Cpu;
using Xunit.Abstractions;

namespace MetaGrad.Tests.Backends;

/// <summary>
/// Large float arithmetic written around the caches with 256-bit stores (AMD processors): the same
/// bits as the element loop, for every form (two spans, a span and a value, a value and a span), a
/// start off the 32-byte boundary, a ragged end, in place, and special values.
/// </summary>
[Collection(ProcessWideState.Name)]   // one test sets the process-wide thread count
public class StreamedArithmeticTests(ITestOutputHelper output)
{
    // Past the 256 KB from which the output bypasses the caches; odd, so that the end is ragged.
    const int Length = 70_001;

    static float[] Values(int seed, int length)
    {
        var g = new Random(seed);
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)(g.NextDouble() * 200 - 100);
        x[3] = float.NaN; x[17] = float.PositiveInfinity; x[40] = float.NegativeInfinity; x[41] = 0f; x[42] = -0f; x[43] = 1e-40f;
        return x;
    }

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var op in new[] { "add", "sub", "mul", "div" })
            foreach (int offset in new[] { 0, 1, 3, 7 })
                data.Add(op, offset);
        return data;
    }

    static float Scalar(string op, float a, float b) => op switch { "add" => a + b, "sub" => a - b, "mul" => a * b, _ => a / b };

    static bool Streamed(string op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => op switch
    {
        "add" => StreamedArithmetic.TryApply<StreamedArithmetic.Add>(a, b, y),
        "sub" => StreamedArithmetic.TryApply<StreamedArithmetic.Subtract>(a, b, y),
        "mul" => StreamedArithmetic.TryApply<StreamedArithmetic.Multiply>(a, b, y),
        _ => StreamedArithmetic.TryApply<StreamedArithmetic.Divide>(a, b, y),
    };

    static bool Streamed(string op, ReadOnlySpan<float> a, float b, Span<float> y) => op switch
    {
        "add" => StreamedArithmetic.TryApply<StreamedArithmetic.Add>(a, b, y),
        "sub" => StreamedArithmetic.TryApply<StreamedArithmetic.Subtract>(a, b, y),
        "mul" => StreamedArithmetic.TryApply<StreamedArithmetic.Multiply>(a, b, y),
        _ => StreamedArithmetic.TryApply<StreamedArithmetic.Divide>(a, b, y),
    };

    static bool Streamed(string op, float a, ReadOnlySpan<float> b, Span<float> y) => op switch
    {
        "add" => StreamedArithmetic.TryApply<StreamedArithmetic.Add>(a, b, y),
        "sub" => StreamedArithmetic.TryApply<StreamedArithmetic.Subtract>(a, b, y),
        "mul" => StreamedArithmetic.TryApply<StreamedArithmetic.Multiply>(a, b, y),
        _ => StreamedArithmetic.TryApply<StreamedArithmetic.Divide>(a, b, y),
    };

    bool Skipped()
    {
        if (StreamedArithmetic.Enabled) return false;
        output.WriteLine("Not run here: streamed arithmetic is used on AMD processors with AVX2 only, and this is not one.");
        return true;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TwoSpans_EqualTheElementLoop(string op, int offset)
    {
        if (Skipped()) return;
        var a = Values(1, Length + offset).AsSpan(offset);
        var b = Values(2, Length + offset).AsSpan(offset);
        var y = new float[Length + offset].AsSpan(offset);
        Assert.True(Streamed(op, a, b, y));
        for (int i = 0; i < Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(Scalar(op, a[i], b[i])) == BitConverter.SingleToInt32Bits(y[i]) || float.IsNaN(y[i]) && float.IsNaN(Scalar(op, a[i], b[i])),
                $"{op} at {i}: {y[i]} against {Scalar(op, a[i], b[i])}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ASpanAndAValue_EitherOrder_EqualTheElementLoop(string op, int offset)
    {
        if (Skipped()) return;
        var a = Values(3, Length + offset).AsSpan(offset);
        var y = new float[Length + offset].AsSpan(offset);
        const float value = -2.75f;
        Assert.True(Streamed(op, a, value, y));
        for (int i = 0; i < Length; i++) AssertSame(Scalar(op, a[i], value), y[i], $"{op}(x, v) at {i}");
        Assert.True(Streamed(op, value, a, y));
        for (int i = 0; i < Length; i++) AssertSame(Scalar(op, value, a[i]), y[i], $"{op}(v, x) at {i}");
    }

    [Fact]
    public void InPlace_EqualsTheElementLoop()
    {
        if (Skipped()) return;
        var a = Values(4, Length);
        var b = Values(5, Length);
        var expected = a.Zip(b, (x, z) => x * z).ToArray();
        Assert.True(StreamedArithmetic.TryApply<StreamedArithmetic.Multiply>(a, b, a));
        for (int i = 0; i < Length; i++) AssertSame(expected[i], a[i], $"in place at {i}");
    }

    [Fact]
    public void SmallOrPartlyOverlapping_IsLeftToTensorPrimitives()
    {
        var a = Values(6, Length + 1);
        Assert.False(StreamedArithmetic.TryApply<StreamedArithmetic.Add>(a.AsSpan(0, 1000), a.AsSpan(0, 1000), new float[1000]));
        // y one element past a's start: reading a[i + 1] after writing it would be wrong.
        Assert.False(StreamedArithmetic.TryApply<StreamedArithmetic.Add>(a.AsSpan(0, Length), a.AsSpan(0, Length), a.AsSpan(1, Length)));
    }

    // Through the tensor API: a sum of 1M floats (split between two threads, each part past the
    // threshold) equals the element loop's, and so does the in-place form.
    [Fact]
    public void TensorArithmetic_OfMillionFloats_EqualsTheElementLoop()
    {
        int n = 1 << 20;
        var a = Tensor.Randn([n], generator: new Generator(7));
        var b = Tensor.Randn([n], generator: new Generator(8));
        var (av, bv) = (a.ToArray<float>(), b.ToArray<float>());
        foreach (int threads in new[] { 1, 2 })
        {
            int before = Tensor.GetNumThreads();
            Tensor.SetNumThreads(threads);
            try
            {
                Assert.Equal(av.Zip(bv, (x, z) => x + z).ToArray(), (a + b).ToArray<float>());
                Assert.Equal(av.Zip(bv, (x, z) => x / z).ToArray(), (a / b).ToArray<float>());
                Assert.Equal(av.Select(x => x * 3f).ToArray(), (a * 3f).ToArray<float>());
                var c = a.Clone();
                c.Sub_(b);
                Assert.Equal(av.Zip(bv, (x, z) => x - z).ToArray(), c.ToArray<float>());
            }
            finally { Tensor.SetNumThreads(before); }
        }
    }

    static void AssertSame(float expected, float actual, string where) =>
        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual) || float.IsNaN(expected) && float.IsNaN(actual),
            $"{where}: {actual} against {expected}");
}
