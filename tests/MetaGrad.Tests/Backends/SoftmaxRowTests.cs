using MetaGrad.Backends.Cpu;
using Xunit.Abstractions;

namespace MetaGrad.Tests.Backends;

/// <summary>
/// The float row kernels of softmax, log-softmax and cross-entropy held to a double reference
/// of the same definition (shift by the row's max, or by 0 where that max is infinite; a NaN
/// anywhere makes the whole row NaN), over every tail length of both vector widths, long rows,
/// and rows of -inf, +inf and NaN.
/// </summary>
[Collection(ProcessWideState.Name)]   // switches FloatMath's vector width
public class SoftmaxRowTests(ITestOutputHelper output)
{
    static double Shift(float[] x)
    {
        double max = double.NegativeInfinity;
        foreach (float v in x)
        {
            if (float.IsNaN(v)) return double.NaN;
            max = Math.Max(max, v);
        }
        return double.IsInfinity(max) ? 0 : max;
    }

    static double[] Reference(float[] x, bool log)
    {
        double m = Shift(x), sum = 0;
        foreach (float v in x) sum += Math.Exp(v - m);
        return [.. x.Select(v => log ? (v - m) - Math.Log(sum) : Math.Exp(v - m) / sum)];
    }

    // Relative to each value, and absolute for log-probabilities: log Σ carries the float sum's
    // rounding as an absolute error, large beside a log-probability near 0.
    static void AssertClose(double[] expected, float[] actual, string what, double absolute = 1e-37)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) || double.IsInfinity(e) || a == e) { Assert.True(a.Equals((float)e), $"{what}: [{i}] {a} against {e}"); continue; }
            Assert.True(Math.Abs(a - e) <= 4e-6 * Math.Abs(e) + absolute, $"{what}: [{i}] {a} against {e}");
        }
    }

    static IEnumerable<float[]> Rows()
    {
        var random = new Random(7);
        foreach (int n in Enumerable.Range(1, 70).Concat([2500, 4099]))
            yield return [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 16 - 8))];
        yield return [float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity];
        yield return [.. Enumerable.Repeat(float.NegativeInfinity, 33).Append(2f)];
        yield return [1f, float.PositiveInfinity, -3f];
        yield return [.. Enumerable.Range(0, 40).Select(i => i == 37 ? float.NaN : i * 0.25f)];
        yield return [float.NaN, float.PositiveInfinity, 1f];
        yield return [.. Enumerable.Range(0, 20).Select(i => 80f + i)];   // exp(x) alone would overflow
    }

    // Rows shorter than a vector go through the block kernel (a tensor of many rows, with rows of
    // -inf, +inf and NaN among them), held to the same double definition at every length below 16.
    [Fact]
    public void ShortRowsOfATensor_EqualTheDoubleDefinition()
    {
        var random = new Random(11);
        for (int n = 1; n < SoftmaxRows.ShortRow; n++)
        {
            int rows = 700;   // past one block of 4096 values for n ≥ 6
            var values = new float[rows * n];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 16 - 8);
            for (int j = 0; j < n; j++) values[3 * n + j] = float.NegativeInfinity;
            values[5 * n] = float.PositiveInfinity;
            values[7 * n + n / 2] = float.NaN;
            var x = Tensor.From(values, [rows, n]);
            foreach (bool log in new[] { false, true })
            {
                var y = (log ? x.LogSoftmax(-1) : x.Softmax(-1)).ToArray<float>();
                for (int r = 0; r < rows; r++)
                    AssertClose(Reference(values[(r * n)..((r + 1) * n)], log), y[(r * n)..((r + 1) * n)], $"n {n}, row {r}, log {log}", log ? 4e-7 : 1e-37);
            }
        }
    }

    [Fact]
    public void SoftmaxAndLogSoftmax_EqualTheDoubleDefinition()
    {
        if (!FloatMath.IsAccelerated) { output.WriteLine("No AVX2 and FMA here: the float row kernels do not run."); return; }
        foreach (var width in VectorWidths.OfFloatMath(output))
            foreach (var x in Rows())
                foreach (bool log in new[] { false, true })
                {
                    var y = new float[x.Length];
                    SoftmaxRows.Softmax(x, y, log);
                    AssertClose(Reference(x, log), y, $"{width} {(log ? "log-softmax" : "softmax")} of {x.Length}", log ? 1e-6 : 1e-37);
                }
    }

    [Fact]
    public void LogSumExp_AndTheScaledProbabilities_EqualTheDoubleDefinition()
    {
        if (!FloatMath.IsAccelerated) { output.WriteLine("No AVX2 and FMA here: the float row kernels do not run."); return; }
        foreach (var width in VectorWidths.OfFloatMath(output))
            foreach (var x in Rows())
            {
                double m = Shift(x), sum = x.Sum(v => Math.Exp(v - m)), lse = m + Math.Log(sum);
                AssertClose([lse], [SoftmaxRows.LogSumExp(x)], $"{width} log-sum-exp of {x.Length}", 1e-6);
                // A cross-entropy row's gradient: g·exp(x − lse).
                var y = new float[x.Length];
                SoftmaxRows.ScaledExp(x, (float)lse, -0.75f, y);
                AssertClose([.. x.Select(v => -0.75 * Math.Exp(v - (float)lse))], y, $"{width} scaled exp of {x.Length}");
            }
    }
}
