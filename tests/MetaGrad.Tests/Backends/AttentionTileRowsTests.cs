using System.Numerics.Tensors;
using MetaGrad.Backends.Cpu;
using Xunit.Abstractions;

namespace MetaGrad.Tests.Backends;

/// <summary>
/// The attention backward's one-pass float rows held to the calls they replace, bit for bit: the
/// probabilities exp(scale·s + bias − lse) (no bias, a bias per key, one for the row, keys past the
/// visible ones zeroed) and the score gradient (dP − D)·P·scale, over every length up to 70 and a
/// few past, at each vector width this machine runs.
/// </summary>
[Collection(ProcessWideState.Name)]   // switches FloatMath's vector width
public class AttentionTileRowsTests(ITestOutputHelper output)
{
    static readonly int[] Lengths = [.. Enumerable.Range(1, 70), 127, 129, 200];

    [Fact]
    public void Probabilities_GiveTheBitsOfTheCalls()
    {
        if (!FloatMath.IsAccelerated)
        {
            output.WriteLine("FloatMath has no vector path on this machine: the one-pass rows do not run here.");
            return;
        }
        foreach (var width in VectorWidths.OfFloatMath(output))
            foreach (int n in Lengths)
                foreach (string kind in new[] { "none", "per key", "per row" })
                {
                    var random = new Random(n * 7 + kind.Length);
                    var scores = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 20 - 10)).ToArray();
                    var bias = Enumerable.Range(0, n).Select(j => j % 5 == 3 ? float.NegativeInfinity : (float)random.NextDouble()).ToArray();
                    float perRow = kind == "per row" ? -0.75f : 0f, scale = 0.1443f, lse = 2.5f;
                    int visible = Math.Max(0, n - n / 4);

                    var expected = scores.ToArray();
                    var seen = expected.AsSpan(0, visible);
                    TensorPrimitives.Multiply(seen, scale, seen);
                    if (kind == "per key") TensorPrimitives.Add(seen, bias.AsSpan(0, visible), seen);
                    if (kind == "per row") TensorPrimitives.Add(seen, perRow, seen);
                    TensorPrimitives.Subtract(seen, lse, seen);
                    FloatMath.Exp<float>(seen, seen);
                    expected.AsSpan(visible).Clear();

                    var actual = scores.ToArray();
                    AttentionTileRows.Probabilities(actual, visible, scale, kind == "per key" ? bias.AsSpan(0, visible) : default, perRow, lse);
                    Assert.True(expected.AsSpan().SequenceEqual(actual), $"{width}, n={n}, bias {kind}");
                }
    }

    [Fact]
    public void ScoreGradient_GivesTheBitsOfTheCalls()
    {
        if (!FloatMath.IsAccelerated)
        {
            output.WriteLine("FloatMath has no vector path on this machine: the one-pass rows do not run here.");
            return;
        }
        foreach (var width in VectorWidths.OfFloatMath(output))
            foreach (int n in Lengths)
            {
                var random = new Random(n);
                var dp = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
                var p = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble()).ToArray();
                var expected = dp.ToArray();
                TensorPrimitives.Subtract(expected, 0.3f, expected);
                TensorPrimitives.Multiply(expected, p, expected);
                TensorPrimitives.Multiply(expected, 0.1443f, expected);
                var actual = dp.ToArray();
                AttentionTileRows.ScoreGradient(actual, p, 0.3f, 0.1443f);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{width}, n={n}");
            }
    }
}
