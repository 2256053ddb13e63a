using System.Numerics;
using MetaGrad.Backends.Cpu;
using Xunit.Abstractions;

namespace MetaGrad.Tests.Backends;

/// <summary>
/// The LSTM kernel's vectorised rows against the loops they replace, bit for bit: hidden sizes
/// below, at and between vector widths (tails of 1 to 7 units), with and without the biases and a
/// kept previous cell, inputs wide enough to reach the activations' flat tails; the fused row at
/// each vector width this machine runs (tails of up to 15 units at 512 bits).
/// </summary>
[Collection(ProcessWideState.Name)]   // switches FloatMath's vector width
public class LstmRowTests(ITestOutputHelper output)
{
    public static TheoryData<int, bool> Rows()
    {
        var data = new TheoryData<int, bool>();
        foreach (int hidden in new[] { 1, 3, 7, 8, 13, 16, 24, 37, 47, 64 })
            foreach (bool full in new[] { false, true })
                data.Add(hidden, full);
        return data;
    }

    static T[] Random<T>(Random random, int n, double scale) where T : IFloatingPointIeee754<T> =>
        [.. Enumerable.Range(0, n).Select(_ => T.CreateChecked((random.NextDouble() * 2 - 1) * scale))];

    [Theory]
    [MemberData(nameof(Rows))]
    public void FusedFloatRow_IsBitIdenticalToThePasses(int hidden, bool withBiasAndPrevious)
    {
        var random = new Random(hidden * 2 + (withBiasAndPrevious ? 1 : 0));
        int width = 4 * hidden;
        var r = Random<float>(random, width, 6);
        var bias = withBiasAndPrevious ? Random<float>(random, width, 2) : [];
        var input = Random<float>(random, width, 6);
        var inputBias = withBiasAndPrevious ? Random<float>(random, width, 2) : [];
        var c = Random<float>(random, hidden, 3);

        foreach (var _ in VectorWidths.OfFloatMath(output))
        {
            var (r1, c1) = ((float[])r.Clone(), (float[])c.Clone());
            var (a1, prev1, tanh1, out1) = (new float[width], new float[withBiasAndPrevious ? hidden : 0], new float[hidden], new float[hidden]);
            CpuBackend.LstmRowPasses<float>(r1, bias, input, inputBias, a1, c1, prev1, tanh1, out1);

            var (r2, c2) = ((float[])r.Clone(), (float[])c.Clone());
            var (a2, prev2, tanh2, out2) = (new float[width], new float[withBiasAndPrevious ? hidden : 0], new float[hidden], new float[hidden]);
            CpuBackend.LstmRowFused(r2, bias, input, inputBias, a2, c2, prev2, tanh2, out2);

            // The passes compute FloatMath's vector functions only where AVX2 and FMA run; elsewhere
            // they take TensorPrimitives' and only closeness can be asked.
            double tolerance = FloatMath.IsAccelerated ? 0 : 1e-6;
            AssertSame(a1, a2, tolerance, "gates");
            AssertSame(c1, c2, tolerance, "cell");
            AssertSame(prev1, prev2, 0, "previous cell");
            AssertSame(tanh1, tanh2, tolerance, "tanh of the cell");
            AssertSame(out1, out2, tolerance, "output");
            if (withBiasAndPrevious) Assert.Equal(c, prev2);
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void VectorisedBackwardRow_IsBitIdenticalToTheScalarLoop(int hidden, bool asDouble)
    {
        if (asDouble) BackwardRow<double>(hidden);
        else BackwardRow<float>(hidden);
    }

    static void BackwardRow<T>(int hidden) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(100 + hidden);
        int width = 4 * hidden;
        var dh = Random<T>(random, hidden, 2);
        var dOut = Random<T>(random, hidden, 2);
        var dc = Random<T>(random, hidden, 2);
        // Activated gates: sigmoids in (0, 1), tanh in (-1, 1); cells: c_prev and tanh c'.
        var a = Random<T>(random, width, 1);
        for (int j = 0; j < hidden; j++)
            foreach (int q in new[] { 0, 1, 3 }) a[q * hidden + j] = T.Abs(a[q * hidden + j]);
        var cells = Random<T>(random, 2 * hidden, 1);
        var dBias = Random<T>(random, width, 1);

        var (dh1, dc1, d1, bias1) = ((T[])dh.Clone(), (T[])dc.Clone(), new T[width], (T[])dBias.Clone());
        for (int j = 0; j < hidden; j++) dh1[j] += dOut[j];
        CpuBackend.LstmBackward<T>(dh1, dc1, a, cells, d1);
        for (int j = 0; j < width; j++) bias1[j] += d1[j];

        var (dh2, dc2, d2, bias2) = ((T[])dh.Clone(), (T[])dc.Clone(), new T[width], (T[])dBias.Clone());
        CpuBackend.LstmBackwardRow<T>(dh2, dOut, dc2, a, cells, d2, bias2);

        Assert.Equal(dh1, dh2);
        Assert.Equal(dc1, dc2);
        Assert.Equal(d1, d2);
        Assert.Equal(bias1, bias2);
    }

    static void AssertSame(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(tolerance == 0 ? BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i])
                                       : Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"{what}[{i}] of {expected.Length}: fused {actual[i]:R}, passes {expected[i]:R}");
    }
}
