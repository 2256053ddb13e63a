namespace MetaGrad.Tests;

/// <summary>
/// Draws parameterised per element (Bernoulli, Poisson, Normal with tensor mean and std) and
/// permutations: moments within a few standard errors of the distribution's, the same values
/// again from the same seed, and PyTorch's refusals.
/// </summary>
public class SamplingTests
{
    static (double Mean, double Variance) Moments(Tensor t)
    {
        var v = t.ToArray<double>();
        double mean = v.Average();
        return (mean, v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
    }

    [Fact]
    public void Randperm_IsAPermutation_AndRepeatsWithItsSeed()
    {
        var p = Tensor.Randperm(1000, generator: new Generator(3));
        Assert.Equal(DType.Int64, p.DType);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), p.ToArray<long>().Order());
        Assert.Equal(p.ToArray<long>(), Tensor.Randperm(1000, generator: new Generator(3)).ToArray<long>());
        Assert.NotEqual(p.ToArray<long>(), Tensor.Randperm(1000, generator: new Generator(4)).ToArray<long>());
        // Each value lands in the first half about half the time: the shuffle is not the identity's neighbour.
        Assert.InRange(p.ToArray<long>().Take(500).Count(v => v < 500), 200, 300);
        Assert.Empty(Tensor.Randperm(0).ToArray<long>());
        Assert.Equal(DType.Float32, Tensor.Randperm(4, DType.Float32).DType);
    }

    [Fact]
    public void Bernoulli_OnesWithTheGivenProbabilities()
    {
        var probs = Tensor.Cat([Tensor.Full([20000], 0.2, DType.Float64), Tensor.Full([20000], 0.9, DType.Float64)]);
        var draws = probs.Bernoulli(new Generator(1));
        Assert.Equal(DType.Float64, draws.DType);
        Assert.All(draws.ToArray<double>(), v => Assert.True(v is 0 or 1));
        // Standard errors: sqrt(0.16 / 20000) = 0.0028, sqrt(0.09 / 20000) = 0.0021.
        Assert.InRange(Moments(draws[..20000]).Mean, 0.2 - 0.012, 0.2 + 0.012);
        Assert.InRange(Moments(draws[20000..]).Mean, 0.9 - 0.009, 0.9 + 0.009);
        Assert.Equal(0.0, Tensor.Zeros(100).Bernoulli().Sum().Item());
        Assert.Equal(100.0, Tensor.Ones(100).Bernoulli().Sum().Item());

        var shaped = Tensor.Zeros(4000, DType.Float32).Bernoulli(0.25, new Generator(2));
        Assert.Equal([4000], shaped.Shape);
        Assert.InRange(Moments(shaped).Mean, 0.25 - 0.03, 0.25 + 0.03);

        var e = Assert.Throws<ArgumentException>(() => Tensor.From(new float[] { 0.5f, 1.5f }, [2]).Bernoulli());
        Assert.Contains("Bernoulli", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(2).Bernoulli(-0.1));
    }

    [Theory]
    [InlineData(0.5)]      // counts by products of uniforms
    [InlineData(4.0)]
    [InlineData(30.0)]     // transformed rejection
    [InlineData(2500.0)]
    public void Poisson_MeanAndVarianceEqualTheRate(double rate)
    {
        const int n = 20000;
        var counts = Tensor.Poisson(Tensor.Full([n], rate, DType.Float64), new Generator(7));
        Assert.All(counts.ToArray<double>(), v => Assert.True(v >= 0 && v == Math.Floor(v)));
        var (mean, variance) = Moments(counts);
        // Standard error of the mean sqrt(rate / n); of the variance about rate·sqrt(2 / n) (plus the excess kurtosis 1/rate).
        Assert.InRange(mean, rate - 4 * Math.Sqrt(rate / n), rate + 4 * Math.Sqrt(rate / n));
        Assert.InRange(variance, rate * (1 - 5 * Math.Sqrt((2 + 1 / rate) / n)), rate * (1 + 5 * Math.Sqrt((2 + 1 / rate) / n)));
    }

    [Theory]
    [InlineData(6.0)]
    [InlineData(30.0)]
    public void Poisson_CountsFollowThePoissonMass(double rate)
    {
        const int n = 40000;
        var counts = Tensor.Poisson(Tensor.Full([n], rate, DType.Float64), new Generator(11)).ToArray<double>();
        double logMass = -rate;   // ln P(0)
        for (int k = 0; k <= 3 * rate; k++)
        {
            if (k > 0) logMass += Math.Log(rate / k);
            double mass = Math.Exp(logMass), seen = counts.Count(c => c == k) / (double)n;
            double error = 4.5 * Math.Sqrt(mass * (1 - mass) / n) + 1e-4;
            Assert.True(Math.Abs(seen - mass) <= error, $"P({k}) = {mass:F5}, seen {seen:F5}");
        }
    }

    [Fact]
    public void Poisson_ZeroRateGivesZero_AndBadRatesAreRefused()
    {
        Assert.Equal(0.0, Tensor.Poisson(Tensor.Zeros(50)).Sum().Item());
        // P(0) for rate 1 is e^-1: the smallest count must turn up among many draws.
        var ones = Tensor.Poisson(Tensor.Ones(5000), new Generator(1)).ToArray<float>();
        Assert.InRange(ones.Count(v => v == 0) / 5000.0, Math.Exp(-1) - 0.03, Math.Exp(-1) + 0.03);
        Assert.Contains("non-negative", Assert.Throws<ArgumentException>(() => Tensor.Poisson(Tensor.From(new float[] { -1f }, [1]))).Message);
        Assert.Contains("floating", Assert.Throws<ArgumentException>(() => Tensor.Poisson(Tensor.Ones([3], DType.Int64))).Message);
    }

    [Fact]
    public void Normal_TensorMeanAndStd_Broadcast_AndStayOutsideTheGraph()
    {
        var mean = Tensor.From(new double[] { -5, 0, 5 }, [3, 1]).RequiresGrad_();
        var std = Tensor.Full([1, 20000], 2.0, DType.Float64);
        var x = Tensor.Normal(mean, std, new Generator(5));
        Assert.Equal([3, 20000], x.Shape);
        Assert.False(x.RequiresGrad);
        for (int r = 0; r < 3; r++)
        {
            var (m, v) = Moments(x[r]);
            Assert.InRange(m, 5 * (r - 1) - 0.06, 5 * (r - 1) + 0.06);   // 4 standard errors of 0.014
            Assert.InRange(v, 4 * 0.95, 4 * 1.05);
        }
        Assert.Equal(x.ToArray<double>(), Tensor.Normal(mean, std, new Generator(5)).ToArray<double>());
        Assert.InRange(Moments(Tensor.Normal(3.0, Tensor.Full([10000], 0.5), new Generator(1))).Mean, 2.98, 3.02);
        Assert.Equal([2, 5], Tensor.Normal(0, 1, [2, 5]).Shape);
        Assert.Contains("std >= 0", Assert.Throws<ArgumentException>(() => Tensor.Normal(Tensor.Zeros(2), Tensor.From(new float[] { 1, -1 }, [2]))).Message);
    }

    [Fact]
    public void RandIntLike_AndLogspace()
    {
        var t = Tensor.Zeros([2, 500], DType.Int32);
        var r = Tensor.RandIntLike(t, 3, 7, generator: new Generator(2));
        Assert.Equal(DType.Int32, r.DType);
        Assert.Equal([2, 500], r.Shape);
        Assert.Equal([3, 4, 5, 6], r.ToArray<int>().Distinct().Order());

        Assert.Equal([1.0, 10.0, 100.0, 1000.0], Tensor.Logspace(0, 3, 4, dtype: DType.Float64).ToArray<double>());
        Assert.Equal([0.25, 0.5, 1.0, 2.0], Tensor.Logspace(-2, 1, 4, @base: 2, dtype: DType.Float64).ToArray<double>());
    }
}
