namespace MetaGrad.Tests.Optim;

/// <summary>
/// add_(other, alpha) outside the graph rounds once, as libtorch's vectorised kernel (one fused
/// multiply-add: self + alpha·other), which its AVX2 and AVX-512 builds run for every element.
/// </summary>
public class AddScaledTests
{
    // Values whose product and sum round differently fused and unfused.
    static (float[] Self, float[] Other) Operands(int n)
    {
        var self = new float[n];
        var other = new float[n];
        for (int i = 0; i < n; i++)
        {
            self[i] = 1f + i * 1.1920929e-7f;          // 1 + i ulp
            other[i] = 0.1f + (i % 97) * 3.3e-4f;
        }
        return (self, other);
    }

    static float[] Fused(float[] self, float[] other, float alpha) => self.Select((s, i) => MathF.FusedMultiplyAdd(other[i], alpha, s)).ToArray();

    [Theory]
    [InlineData(1_000)]
    [InlineData(300_001)]   // split between threads
    public void Add_WithAlpha_RoundsOnce(int n)
    {
        var (self, other) = Operands(n);
        const float alpha = -0.37f;
        var x = Tensor.From(self);
        x.Add_(Tensor.From(other), alpha);
        var expected = Fused(self, other, alpha);
        Assert.Equal(expected, x.ToArray<float>());
        var unfused = self.Select((s, i) => s + other[i] * alpha).ToArray();
        Assert.NotEqual(unfused, expected);   // the operands tell the two apart
    }

    [Fact]
    public void Add_WithAlpha_OfFloat64_RoundsOnce()
    {
        var self = Enumerable.Range(0, 513).Select(i => 1.0 + i * 2.220446049250313e-16).ToArray();
        var other = Enumerable.Range(0, 513).Select(i => 0.1 + i * 1e-3).ToArray();
        var x = Tensor.From(self);
        x.Add_(Tensor.From(other), 0.3);
        Assert.Equal(self.Select((s, i) => Math.FusedMultiplyAdd(other[i], 0.3, s)).ToArray(), x.ToArray<double>());
    }

    [Fact]
    public void Add_WithAlpha_OfItself_AndOfAStridedOrBroadcastOther_StillAdds()
    {
        var x = Tensor.From(new float[] { 1, 2, 3, 4 });
        x.Add_(x, 0.5);
        Assert.Equal(new float[] { 1.5f, 3, 4.5f, 6 }, x.ToArray<float>());
        var m = Tensor.From(new float[] { 1, 2, 3, 4 }, [2, 2]);
        m.Add_(Tensor.From(new float[] { 10, 20, 30, 40 }, [2, 2]).T, 0.1);
        Check.Values(new float[] { 2, 5, 5, 8 }, m);
        m.Add_(Tensor.From(new float[] { 10, 20 }), -0.1);
        Check.Values(new float[] { 1, 3, 4, 6 }, m);
    }
}
