using System.Runtime.Intrinsics;
using MetaGrad.Backends.Cpu;
using Xunit.Abstractions;

namespace MetaGrad.Tests.Backends;

/// <summary>
/// The float exp, sigmoid and tanh against double precision: error in units in the last place
/// (the distance between the float results' bit patterns) over sweeps of their whole ranges, at
/// each vector width this machine runs.
/// </summary>
[Collection(ProcessWideState.Name)]   // switches FloatMath's vector width
public class FloatMathTests(ITestOutputHelper output)
{
    // Sorted sample points: a uniform sweep, plus a geometric one towards zero on both sides.
    static float[] Sweep(float lo, float hi, int count)
    {
        var x = new List<float>();
        for (int i = 0; i < count; i++) x.Add(lo + (hi - lo) * i / (count - 1));
        for (float v = 1e-30f; v < Math.Min(1f, hi); v *= 1.37f)
        {
            if (v <= hi) x.Add(v);
            if (-v >= lo) x.Add(-v);
        }
        return [.. x];
    }

    static long Ulps(float actual, double expected)
    {
        float e = (float)expected;
        if (float.IsNaN(actual) || float.IsNaN(e)) return float.IsNaN(actual) && float.IsNaN(e) ? 0 : long.MaxValue;
        if (actual == e) return 0;   // also +0 against -0
        // Bit patterns of finite floats are ordered like the values within one sign; across the
        // sign, count the steps to zero on each side.
        static long Key(float f) { int bits = BitConverter.SingleToInt32Bits(f); return bits < 0 ? -(long)(bits & int.MaxValue) : bits; }
        return Math.Abs(Key(actual) - Key(e));
    }

    static long MaxUlps(float[] x, float[] y, Func<double, double> reference, Func<double, bool>? where = null)
    {
        long worst = 0;
        for (int i = 0; i < x.Length; i++)
            if (where is null || where(x[i])) worst = Math.Max(worst, Ulps(y[i], reference(x[i])));
        return worst;
    }

    delegate void SpanOp(ReadOnlySpan<float> x, Span<float> y);

    // f over a sweep of [lo, hi], held within `ulps` of the double reference where `where` holds.
    static float[] AssertWithinUlps(SpanOp f, Func<double, double> reference, float lo, float hi, long ulps, Func<double, bool>? where = null)
    {
        var x = Sweep(lo, hi, 400_001);
        var y = new float[x.Length];
        f(x, y);
        long worst = MaxUlps(x, y, reference, where);
        Assert.True(worst <= ulps, $"max error {worst} ulp");
        return y;
    }

    [Fact]
    public void Exp_IsWithinOneUlpOverItsRange_IncludingSubnormalResults()
    {
        if (!FloatMath.IsAccelerated) return;   // the callers use TensorPrimitives there
        foreach (var _ in VectorWidths.OfFloatMath(output)) AssertWithinUlps(FloatMath.Exp, Math.Exp, -103.9f, 88.72f, 1);
    }

    [Fact]
    public void Exp_OverflowsToInfinity_UnderflowsToZero_AndKeepsNaN()
    {
        if (!FloatMath.IsAccelerated) return;
        float[] x = [88.73f, 200f, float.PositiveInfinity, -104.5f, -1000f, float.NegativeInfinity, float.NaN, 0f, -0f];
        foreach (var _ in VectorWidths.OfFloatMath(output))
        {
            var y = new float[x.Length];
            FloatMath.Exp(x, y);
            Assert.Equal([float.PositiveInfinity, float.PositiveInfinity, float.PositiveInfinity, 0f, 0f, 0f, float.NaN, 1f, 1f], y);
        }
    }

    [Fact]
    public void Sigmoid_IsWithinTwoUlps_WhereTheResultIsNormal()
    {
        if (!FloatMath.IsAccelerated) return;
        foreach (var _ in VectorWidths.OfFloatMath(output))
        {
            var y = AssertWithinUlps(FloatMath.Sigmoid, v => 1 / (1 + Math.Exp(-v)), -120f, 120f, 2, v => v > -88.7);
            // Below -88.7 the true value is subnormal (under 3e-39) and the result is 0 or within that range.
            var x = Sweep(-120f, 120f, 400_001);
            for (int i = 0; i < x.Length; i++)
                if (x[i] <= -88.7f) Assert.InRange(y[i], 0f, 3.1e-39f);
        }
    }

    [Fact]
    public void Tanh_IsWithinTwoUlps_NearZeroToo()
    {
        if (!FloatMath.IsAccelerated) return;
        foreach (var _ in VectorWidths.OfFloatMath(output)) AssertWithinUlps(FloatMath.Tanh, Math.Tanh, -12f, 12f, 2);
    }

    [Fact]
    public void Tanh_KeepsTheSignOfZero_SaturatesAtInfinity_AndKeepsNaN()
    {
        if (!FloatMath.IsAccelerated) return;
        foreach (var _ in VectorWidths.OfFloatMath(output))
        {
            float[] x = [0f, -0f, float.PositiveInfinity, float.NegativeInfinity, 50f, -50f, float.NaN];
            var y = new float[x.Length];
            FloatMath.Tanh(x, y);
            Assert.True(y[0] == 0 && !float.IsNegative(y[0]));
            Assert.True(y[1] == 0 && float.IsNegative(y[1]));
            Assert.Equal([1f, -1f, 1f, -1f], y[2..6]);
            Assert.True(float.IsNaN(y[6]));
            float[] s = [float.PositiveInfinity, float.NegativeInfinity, float.NaN];
            FloatMath.Sigmoid(s, s);
            Assert.Equal(1f, s[0]);
            Assert.Equal(0f, s[1]);
            Assert.True(float.IsNaN(s[2]));
        }
    }

    // The float nearest to each multiple of π/2 up to the vector path's limit, and its neighbours:
    // where sin or cos is nearest zero, the reduction's error would show.
    static float[] NearMultiplesOfHalfPi()
    {
        var x = new List<float>();
        for (int k = -5215; k <= 5215; k++)
        {
            float f = (float)(k * Math.PI / 2);
            x.AddRange([f, MathF.BitIncrement(f), MathF.BitDecrement(f)]);
        }
        return [.. x];
    }

    [Fact]
    public void SinAndCos_AreWithinTwoUlps_UpToTheVectorLimit_NearTheirZerosToo()
    {
        if (!FloatMath.IsAccelerated) return;
        foreach (var _ in VectorWidths.OfFloatMath(output))
        {
            AssertWithinUlps(FloatMath.Sin, Math.Sin, -8192f, 8192f, 2);
            AssertWithinUlps(FloatMath.Cos, Math.Cos, -8192f, 8192f, 2);
            var x = NearMultiplesOfHalfPi();
            var y = new float[x.Length];
            FloatMath.Sin(x, y);
            Assert.True(MaxUlps(x, y, Math.Sin) <= 2, $"sin near kπ/2: {MaxUlps(x, y, Math.Sin)} ulp");
            FloatMath.Cos(x, y);
            Assert.True(MaxUlps(x, y, Math.Cos) <= 2, $"cos near kπ/2: {MaxUlps(x, y, Math.Cos)} ulp");
        }
    }

    // A span holding a value past the vector path's limit, NaN or an infinity goes through MathF's
    // sin and cos whole; within the limit a zero keeps its sign and a tiny value is its own sine.
    [Fact]
    public void SinAndCos_OfLargeAndSpecialValues_AreMathFs_AndZerosKeepTheirSign()
    {
        if (!FloatMath.IsAccelerated) return;
        float[] x = [0f, -0f, 1e5f, -3e7f, 1e30f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0.5f, -2f, 8191.9f, 8192.1f, 1e-30f, -1e-40f];
        foreach (var _ in VectorWidths.OfFloatMath(output))
        {
            var s = new float[x.Length];
            var c = new float[x.Length];
            FloatMath.Sin(x, s);
            FloatMath.Cos(x, c);
            for (int i = 0; i < x.Length; i++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(MathF.Sin(x[i])), BitConverter.SingleToInt32Bits(s[i]));
                Assert.Equal(BitConverter.SingleToInt32Bits(MathF.Cos(x[i])), BitConverter.SingleToInt32Bits(c[i]));
            }
            float[] small = [0f, -0f, 1e-30f, -1e-40f, 3f];
            var ys = new float[small.Length];
            FloatMath.Sin(small, ys);
            Assert.True(ys[0] == 0 && !float.IsNegative(ys[0]) && ys[1] == 0 && float.IsNegative(ys[1]));
            Assert.Equal(1e-30f, ys[2]);
            Assert.Equal(-1e-40f, ys[3]);
            FloatMath.Cos(small, ys);
            Assert.Equal([1f, 1f, 1f, 1f], ys[..4]);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(17)]
    [InlineData(31)]
    [InlineData(33)]
    public void Tails_AndInPlaceCalls_MatchTheVectorBody(int length)
    {
        if (!FloatMath.IsAccelerated) return;
        foreach (var _ in VectorWidths.OfFloatMath(output)) TailsMatchTheBody(length);
    }

    static void TailsMatchTheBody(int length)
    {
        var g = new Random(length);
        // The same values at the front of a long span (vector body) and alone (tail path).
        var values = Enumerable.Range(0, length).Select(_ => (float)(g.NextDouble() * 10 - 5)).ToArray();
        var padded = values.Concat(new float[40]).ToArray();
        // sin and cos within their vector path's range (a span holding NaN or an infinity goes through MathF whole).
        static float[] InRange(float[] a) => [.. a.Select(v => float.IsFinite(v) ? Math.Clamp(v, -8000f, 8000f) : 0f)];
        foreach (var op in new Action<float[], float[]>[] { (a, b) => FloatMath.Exp(a, b), (a, b) => FloatMath.Sigmoid(a, b), (a, b) => FloatMath.Tanh(a, b),
            (a, b) => FloatMath.Sin(InRange(a), b), (a, b) => FloatMath.Cos(InRange(a), b) })
        {
            var body = new float[padded.Length];
            op(padded, body);
            var alone = new float[length];
            op(values, alone);
            Assert.Equal(body[..length], alone);
            var inPlace = (float[])values.Clone();
            op(inPlace, inPlace);
            Assert.Equal(alone, inPlace);
        }
    }

    [Fact]
    public void BothWidths_GiveTheSameBits_SpecialValuesToo()
    {
        if (!FloatMath.IsAccelerated || !Vector512.IsHardwareAccelerated)
        {
            output.WriteLine("Vector512 is not accelerated on this machine: there is one width, nothing to compare.");
            return;
        }
        var x = Sweep(-120f, 120f, 100_001).Concat([0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon, 9f, -9f, 89f, -104f]).ToArray();
        foreach (var op in new Action<float[], float[]>[] { (a, b) => FloatMath.Exp(a, b), (a, b) => FloatMath.Sigmoid(a, b), (a, b) => FloatMath.Tanh(a, b) })
        {
            var results = new List<int[]>();
            foreach (var _ in VectorWidths.OfFloatMath(output))
            {
                var y = new float[x.Length];
                op(x, y);
                results.Add([.. y.Select(BitConverter.SingleToInt32Bits)]);
            }
            Assert.Equal(results[0], results[1]);
        }
    }

    [Fact]
    public void MismatchedLengths_AreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => FloatMath.Tanh(new float[3], new float[2]));
        Assert.Contains("3", e.Message);
    }
}
