namespace MetaGrad;

// Random tensors whose distribution is given per element (a probability, a rate, a mean and a
// standard deviation), permutations, and the creation functions that go with them. Samples are
// outside the autograd graph: PyTorch gives these draws zero gradients.
public partial class Tensor
{
    /// <summary>A random permutation of 0 .. n − 1 (torch.randperm), Int64 by default.</summary>
    public static Tensor Randperm(int n, DType dtype = DType.Int64, Generator? generator = null)
    {
        if (n < 0) throw new ArgumentException($"Randperm: n must be non-negative, got {n}");
        return Cpu.Randperm(n, dtype, generator ?? Generator.Default);
    }

    /// <summary>torch.bernoulli(input): 1 with probability input[i], else 0, in this tensor's floating dtype.</summary>
    public Tensor Bernoulli(Generator? generator = null) => Cpu.Bernoulli(Sampled("Bernoulli"), generator ?? Generator.Default);

    /// <summary>x.bernoulli(p): a tensor of this one's shape and dtype, each element 1 with probability <paramref name="p"/>.</summary>
    public Tensor Bernoulli(double p, Generator? generator = null)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentException($"Bernoulli: expected a probability in [0, 1], got {p}");
        Tensor draws = Cpu.Bernoulli(FullLike(this, p, DType.IsFloatingPoint() ? DType : DType.Float32), generator ?? Generator.Default);
        return draws.To(DType);
    }

    /// <summary>torch.poisson(rates): a Poisson count for each rate, in the rates' floating dtype.</summary>
    public static Tensor Poisson(Tensor rates, Generator? generator = null) => Cpu.Poisson(rates.Sampled("Poisson"), generator ?? Generator.Default);

    /// <summary>torch.normal(mean, std): one normal sample per element of the broadcast mean and standard deviation.</summary>
    public static Tensor Normal(Tensor mean, Tensor std, Generator? generator = null)
    {
        mean.Sampled("Normal");
        if ((std.Detach() < 0).Any()) throw new ArgumentException("Normal: expected all elements of std >= 0");
        var shape = ShapeMath.Broadcast("Normal", mean.Layout.Shape, std.Layout.Shape);
        using var _ = Autograd.NoGrad();
        return mean + std * Randn(shape, mean.DType, generator: generator);
    }

    /// <summary>torch.normal(mean, std=1.0): samples around each element of <paramref name="mean"/>.</summary>
    public static Tensor Normal(Tensor mean, double std = 1, Generator? generator = null) => Normal(mean, FullLike(mean.Sampled("Normal"), std), generator);

    /// <summary>torch.normal(mean, std): samples with one mean and a standard deviation per element of <paramref name="std"/>.</summary>
    public static Tensor Normal(double mean, Tensor std, Generator? generator = null) => Normal(FullLike(std.Sampled("Normal"), mean), std, generator);

    /// <summary>torch.normal(mean, std, size): a tensor of <paramref name="size"/> normal samples.</summary>
    public static Tensor Normal(double mean, double std, int[] size, DType? dtype = null, Generator? generator = null)
    {
        if (!(std >= 0)) throw new ArgumentException($"Normal: expected std >= 0, got {std}");
        Tensor t = Cpu.Empty(CheckShape("Normal", size), dtype ?? DefaultDType);
        Cpu.FillNormal(t, generator ?? Generator.Default, mean, std);
        return t;
    }

    /// <summary>torch.randint_like(input, high): uniform integers in [0, high) with this tensor's shape and dtype.</summary>
    public static Tensor RandIntLike(Tensor t, long high, DType? dtype = null, Generator? generator = null) => RandIntLike(t, 0, high, dtype, generator);

    /// <summary>torch.randint_like(input, low, high): uniform integers in [low, high) with this tensor's shape and dtype.</summary>
    public static Tensor RandIntLike(Tensor t, long low, long high, DType? dtype = null, Generator? generator = null) =>
        RandInt(low, high, t.Layout.Shape, dtype ?? t.DType, generator);

    /// <summary>torch.logspace: <paramref name="steps"/> values from base^start to base^end, evenly spaced in the exponent.</summary>
    public static Tensor Logspace(double start, double end, int steps, double @base = 10, DType? dtype = null, bool requiresGrad = false)
    {
        if (steps < 0) throw new ArgumentException($"Logspace: number of steps must be non-negative, got {steps}");
        var exponents = Linspace(start, end, steps, DType.Float64).ToArray<double>();
        var values = exponents.Select(e => Math.Pow(@base, e)).ToArray();
        return Leaf(Cpu.Cast(Cpu.FromArray(values, [steps]), dtype ?? DefaultDType), requiresGrad);
    }

    // The parameters of a draw: a floating tensor, read without its graph.
    Tensor Sampled(string op) =>
        DType.IsFloatingPoint() ? Detach() : throw new ArgumentException($"{op}: expected a floating tensor of parameters, got {DType}");
}
