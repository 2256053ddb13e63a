namespace MetaGrad.Backends.Cpu;

// Draws that depend on a tensor of parameters (a probability or a rate per element), and
// permutations. Each locks the generator once and draws in row-major order, so a seed gives the
// same values whatever the input's strides.
internal sealed partial class CpuBackend
{
    public RawTensor Bernoulli(RawTensor probs, Generator gen)
    {
        var p = ToArray<double>(probs);
        foreach (double v in p)
            if (!(v >= 0 && v <= 1)) throw new ArgumentException($"Bernoulli: expected all probabilities in [0, 1], got {v}");
        var values = new double[p.Length];
        lock (gen.Sync)
            for (int i = 0; i < p.Length; i++) values[i] = gen.DrawDouble() < p[i] ? 1 : 0;
        return Cast(FromArray(values, probs.Layout.Shape), probs.DType);
    }

    public RawTensor Poisson(RawTensor rates, Generator gen)
    {
        var rate = ToArray<double>(rates);
        foreach (double v in rate)
            if (!(v >= 0) || double.IsInfinity(v)) throw new ArgumentException($"Poisson: expected finite, non-negative rates, got {v}");
        var values = new double[rate.Length];
        lock (gen.Sync)
            for (int i = 0; i < rate.Length; i++) values[i] = rate[i] < 10 ? PoissonByProducts(rate[i], gen) : PoissonByRejection(rate[i], gen);
        return Cast(FromArray(values, rates.Layout.Shape), rates.DType);
    }

    // Knuth's method: the number of uniforms whose running product stays above e^−λ. About λ + 1
    // draws, so only for small rates.
    static double PoissonByProducts(double lambda, Generator gen)
    {
        double limit = Math.Exp(-lambda), product = gen.DrawDouble();
        int k = 0;
        for (; product > limit; k++) product *= gen.DrawDouble();
        return k;
    }

    // Hörmann's transformed rejection with squeeze (PTRS, 1993): a hat of the form
    // (2a/(0.5 − |u|) + b)·u + λ + 0.43 over the Poisson mass, accepted outright inside a box
    // (most draws) and otherwise against the exact log-mass; about 1.1 pairs of uniforms per
    // count, whatever the rate.
    static double PoissonByRejection(double lambda, Generator gen)
    {
        double logLambda = Math.Log(lambda), b = 0.931 + 2.53 * Math.Sqrt(lambda), a = -0.059 + 0.02483 * b;
        double inverseAlpha = 1.1239 + 1.1328 / (b - 3.4), boxV = 0.9277 - 3.6224 / (b - 2);
        while (true)
        {
            double u = gen.DrawDouble() - 0.5, v = gen.DrawDouble(), us = 0.5 - Math.Abs(u);
            double k = Math.Floor((2 * a / us + b) * u + lambda + 0.43);
            if (us >= 0.07 && v <= boxV) return k;
            if (k < 0 || (us < 0.013 && v > us)) continue;
            if (Math.Log(v) + Math.Log(inverseAlpha) - Math.Log(a / (us * us) + b) <= -lambda + k * logLambda - LogGamma(k + 1)) return k;
        }
    }

    // ln Γ(x) for x ≥ 1 by Lanczos' approximation (g = 7, nine terms): 15 significant digits.
    static double LogGamma(double x)
    {
        ReadOnlySpan<double> c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        x -= 1;
        double sum = c[0];
        for (int i = 1; i < c.Length; i++) sum += c[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }

    // Fisher–Yates from the last position down, each swap partner uniform without modulo bias.
    public RawTensor Randperm(int n, DType dtype, Generator gen)
    {
        var order = new long[n];
        for (int i = 0; i < n; i++) order[i] = i;
        lock (gen.Sync)
            for (int i = n - 1; i > 0; i--)
            {
                int j = (int)gen.DrawInt64(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        return Cast(FromArray(order, [n]), dtype);
    }
}
