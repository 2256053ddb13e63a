using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>trunc_normal_, eye_, dirac_ and sparse_: exact structure, or statistics within a few standard errors.</summary>
public class InitStructuredTests
{
    [Fact]
    public void StandardNormal_CdfAndInverse_MatchReferenceValues()
    {
        // Φ from Python's math.erf; Φ⁻¹(0.975) = 1.959963984540054.
        Assert.Equal(0.8914916766373298, StandardNormal.Cdf(1.2345), 6);
        Assert.Equal(0.0002326290790355401, StandardNormal.Cdf(-3.5), 9);
        Assert.Equal(1.959963984540054, StandardNormal.InverseCdf(0.975), 7);
        Assert.Equal(-1.959963984540054, StandardNormal.InverseCdf(0.025), 7);
        foreach (var x in new[] { -5.0, -2.5, -0.3, 0, 0.7, 2.2, 4.5 })
            Assert.Equal(x, StandardNormal.InverseCdf(StandardNormal.Cdf(x)), 4);
    }

    [Fact]
    public void TruncNormal_HasTheTruncatedMeanAndVariance()
    {
        // N(0.5, 2²) cut to [-1, 3]: mean 0.8549027639677396, variance 1.1533678400475518 (closed form).
        const int n = 200_000;
        var t = Init.TruncNormal_(Tensor.Empty([n], DType.Float64), mean: 0.5, std: 2, a: -1, b: 3, generator: new Generator(7));
        var v = t.ToArray<double>();
        Assert.All(v, x => Assert.InRange(x, -1, 3));
        double mean = v.Average(), variance = v.Select(x => (x - mean) * (x - mean)).Sum() / (n - 1);
        double se = Math.Sqrt(1.1533678400475518 / n);
        Assert.InRange(mean, 0.8549027639677396 - 5 * se, 0.8549027639677396 + 5 * se);
        // The variance's standard error is about σ²·√(2/n) for a light-tailed distribution; 5 of them is generous.
        double seVar = 1.1533678400475518 * Math.Sqrt(2.0 / n);
        Assert.InRange(variance, 1.1533678400475518 - 5 * seVar, 1.1533678400475518 + 5 * seVar);
        Assert.Throws<ArgumentException>(() => Init.TruncNormal_(Tensor.Empty([3]), a: 2, b: 1));
    }

    [Fact]
    public void TruncNormal_SameGeneratorSeed_GivesTheSameValues()
    {
        var a = Init.TruncNormal_(Tensor.Empty([4, 5]), generator: new Generator(3));
        var b = Init.TruncNormal_(Tensor.Empty([4, 5]), generator: new Generator(3));
        Assert.Equal(a.ToArray<float>(), b.ToArray<float>());
    }

    [Fact]
    public void Eye_FillsTheIdentityOfARectangle()
    {
        var t = Init.Eye_(Tensor.Full([2, 3], 7f));
        Assert.Equal(new float[] { 1, 0, 0, 0, 1, 0 }, t.ToArray<float>());
        var e = Assert.Throws<ArgumentException>(() => Init.Eye_(Tensor.Zeros(2, 2, 2)));
        Assert.Contains("only tensors with 2 dimensions", e.Message);
    }

    [Fact]
    public void Dirac_PutsOnesAtTheKernelCentrePerGroup()
    {
        // [4, 3, 3]: groups 2 → 2 outputs per group, min(2, 3) = 2 channels each, centre 1.
        var t = Init.Dirac_(Tensor.Full([4, 3, 3], 5f), groups: 2);
        var v = t.ToArray<float>();
        var expected = new float[36];
        foreach (var (o, i) in new[] { (0, 0), (1, 1), (2, 0), (3, 1) }) expected[(o * 3 + i) * 3 + 1] = 1;
        Assert.Equal(expected, v);
        // A 2-d kernel of even size 4×2 puts the 1 at (2, 1).
        var w = Init.Dirac_(Tensor.Zeros([1, 1, 4, 2]));
        Assert.Equal(1f, w[0, 0, 2, 1].Item<float>());
        Assert.Equal(1f, w.Sum().Item<float>());
        Assert.Contains("divisible by groups", Assert.Throws<ArgumentException>(() => Init.Dirac_(Tensor.Zeros(3, 2, 1), groups: 2)).Message);
        Assert.Contains("3, 4, or 5 dimensions", Assert.Throws<ArgumentException>(() => Init.Dirac_(Tensor.Zeros(3, 2))).Message);
    }

    [Fact]
    public void Sparse_ZerosTheRightCountPerColumnAndKeepsTheStd()
    {
        // 10 rows, sparsity 0.25 → ⌈2.5⌉ = 3 zeros in every column.
        var t = Init.Sparse_(Tensor.Empty([10, 2000], DType.Float64), sparsity: 0.25, std: 0.5, generator: new Generator(11));
        var v = t.ToArray<double>();
        for (int c = 0; c < 2000; c++)
            Assert.Equal(3, Enumerable.Range(0, 10).Count(r => v[r * 2000 + c] == 0));
        var nonzero = v.Where(x => x != 0).ToArray();
        Assert.Equal(14000, nonzero.Length);
        double std = Math.Sqrt(nonzero.Select(x => x * x).Average());
        double se = 0.5 / Math.Sqrt(2.0 * nonzero.Length);   // standard error of a normal sample's std
        Assert.InRange(std, 0.5 - 5 * se, 0.5 + 5 * se);
        // Where the zeros fall differs between columns.
        Assert.Contains(Enumerable.Range(1, 50), c => Enumerable.Range(0, 10).Any(r => (v[r * 2000] == 0) != (v[r * 2000 + c] == 0)));
    }
}
